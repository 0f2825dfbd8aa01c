"""The transition handlers of the sale machine (the table that wires them is in kiosk.sale.machine).

Why a module of its own: `kiosk.sale.machine` stays a readable table plus `step`; here is what each
transition does. Pure like the table: no I/O, no clock, no randomness. Every handler takes
`(sale, event, now)` and returns the new sale and the commands to execute, in order. `now` is a
`Now`: intervals and deadlines on `now.mono`, the JST cut-off and records on `now.wall`.

Escalation rules (docs/money-safety.md): each waiting state has `deadline_at`; past it DELETING
falls back to GRACE (the code is past PayPay's expiryDate, so no longer payable) and every other
waiting state ends HELD with a reason. A definite refusal ends that call: the next safe step is
a poll, a refund, or HELD. A poll answer about another sale, another amount or an unknown
status is an anomaly: never success, always HELD (after withdrawing a shown QR).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from kiosk.domain import JST, PaymentStatus
from kiosk.sale.model import (
    DEAD_STATUSES,
    PAID_STATUSES,
    AttendantSettled,
    Call,
    CallCommand,
    CallFailed,
    CancelPayment,
    Capture,
    Command,
    DeleteQr,
    Event,
    Failure,
    Now,
    PollStatus,
    QrCreated,
    QueryRefund,
    Record,
    Recovered,
    Refund,
    Revert,
    Sale,
    State,
    StatusPolled,
    Vend,
    VendFinished,
)

CANCEL_CUTOFF_MARGIN_S = 120.0  # stop cancelling two minutes before PayPay's 00:15 cut-off
RETRYABLE = frozenset({Failure.UNKNOWN, Failure.TRY_LATER, Failure.AUTH})
REFUSALS = frozenset({Failure.INVALID, Failure.NOT_ALLOWED, Failure.NOT_REVERSIBLE})

Result = tuple[Sale, list[Command]]


def cancel_cutoff_at(paid_at: float) -> float:
    """00:15 JST on the day after the payment: PayPay accepts a cancel until then."""
    day = datetime.fromtimestamp(paid_at, JST).date() + timedelta(days=1)
    cutoff = datetime(day.year, day.month, day.day, 0, 15, tzinfo=JST)
    return cutoff.astimezone(UTC).timestamp()


# ---- what each waiting state asks PayPay (or the hardware) ---------------------------------


def _call_for(sale: Sale) -> CallCommand:
    mpid = sale.merchant_payment_id
    state = sale.state
    if state in (State.CREATE_UNKNOWN, State.SHOWING, State.GRACE):
        return PollStatus(mpid)
    if state is State.DELETING:  # after an unproven or refused delete: look before deleting
        assert sale.code_id is not None
        return PollStatus(mpid) if sale.verify or sale.delete_refused else DeleteQr(sale.code_id)
    if state is State.CANCELLING:
        return CancelPayment(mpid)
    if state is State.CAPTURING:  # after an unknown capture (or a restart): ask first
        if sale.verify:
            return PollStatus(mpid)
        return Capture(sale.merchant_capture_id, mpid, sale.amount_yen, sale.description)
    assert sale.payment_id is not None, f"{state} needs a payment_id"
    if state is State.REVERTING:
        if sale.verify:
            return PollStatus(mpid)
        return Revert(sale.merchant_revert_id, sale.payment_id, sale.end_reason or "vend_failed")
    if state is State.REFUNDING:
        if sale.verify:
            return QueryRefund(sale.merchant_refund_id, sale.payment_id)
        return Refund(sale.merchant_refund_id, sale.payment_id, sale.amount_yen, "vend_failed")
    raise AssertionError(f"{state} makes no call")


def _budget_s(sale: Sale, state: State, now: Now) -> float | None:
    """How long `state` may wait for a proven answer before it escalates."""
    t = sale.timing
    if state is State.DELETING and sale.expiry_mono_at is not None:
        # watched until PayPay's expiryDate has surely passed, even with our clock off by the
        # most the clock guard allows
        return max(sale.expiry_mono_at - now.mono, 0.0) + t.skew_margin_s + t.poll_interval_s
    if state is State.GRACE and sale.already_paid:
        return t.already_paid_s
    if state in (State.SHOWING, State.CREATING, State.VENDING):
        return None  # the QR timeout, the client's timeout and the vend timeout bound these
    return t.confirm_s


def _issue(sale: Sale, extra: list[Command] | None = None) -> Result:
    command = _call_for(sale)
    return replace(sale, in_flight=command.call, next_at=None), [*(extra or []), command]


def _enter(
    sale: Sale, state: State, now: Now, extra: list[Command] | None = None, **changes: object
) -> Result:
    """Move to a waiting state, start its deadline, and send its call at once."""
    moved = replace(sale, state=state, retries=0, verify=False, **changes)  # type: ignore[arg-type]
    budget = _budget_s(moved, state, now)
    deadline = None if budget is None else now.mono + budget
    return _issue(replace(moved, deadline_at=deadline), extra)


def _wait(sale: Sale, at: float, **changes: object) -> Result:
    return replace(sale, in_flight=None, next_at=at, **changes), []  # type: ignore[arg-type]


def _retry(sale: Sale, now: Now) -> Result:
    """Back off, but never past one poll interval: after an outage the next call comes within
    one poll interval of the network's return."""
    t = sale.timing
    delay = min(t.retry_s * 2 ** min(sale.retries, 6), t.retry_max_s, t.poll_interval_s)
    return _wait(sale, now.mono + delay, retries=sale.retries + 1)


def _end(
    sale: Sale, state: State, reason: str | None, extra: list[Command] | None = None
) -> Result:
    done = replace(
        sale, state=state, in_flight=None, next_at=None, deadline_at=None, end_reason=reason
    )
    return done, [*(extra or []), Record(f"{state.value.lower()}: {reason or 'ok'}")]


def _hold(sale: Sale, reason: str) -> Result:
    return _end(sale, State.HELD, reason, [Record(f"ATTENTION held for the attendant: {reason}")])


def _give_up_reason(sale: Sale) -> str:
    return sale.end_reason or ("cancelled" if sale.cancel_requested else "expired")


def _leave_screen(sale: Sale, now: Now, reason: str) -> Result:
    """The QR leaves the screen: delete it; the vend deadline starts now."""
    left = sale.qr_left_at if sale.qr_left_at is not None else now.mono
    return _enter(sale, State.DELETING, now, end_reason=reason, qr_left_at=left)


# ---- paid: vend, or (after a restart / vend failure / too late) give the money back ----------


def _on_paid(sale: Sale, ev: StatusPolled, now: Now) -> Result:
    paid = replace(
        sale,
        payment_id=ev.payment_id or sale.payment_id,
        paid_at=ev.paid_at if ev.paid_at is not None else sale.paid_at,
        paid_status=ev.status,
        captured=sale.captured or (sale.preauth and ev.status is PaymentStatus.COMPLETED),
    )
    if not sale.preauth and ev.status is PaymentStatus.AUTHORIZED:  # never counts as paid
        note = Record("ATTENTION authorisation in plain mode: reverting it")
        return _enter(paid, State.REVERTING, now, [note], end_reason="authorized_in_plain_mode")
    if paid.anomaly:  # an earlier answer could not be trusted: a person decides
        return _hold(paid, "anomaly")
    if paid.recovered:
        return _money_back_or_hold(paid, now, "paid_after_restart")
    left = sale.qr_left_at
    if left is not None and now.mono - left > sale.timing.vend_deadline_s:
        # the customer has most likely gone: the answer a restart would give (same policy)
        return _money_back_or_hold(paid, now, "paid_too_late")
    command = Vend(sale.merchant_payment_id, sale.amount_yen, sale.description)
    vending = replace(paid, state=State.VENDING, in_flight=command.call, next_at=None)
    return replace(vending, vend_started=True, retries=0, deadline_at=None), [command]


def _money_back(sale: Sale, now: Now, reason: str, extra: list[Command] | None = None) -> Result:
    """Preauth: revert. Plain: cancel before PayPay's cut-off (no fee, no trace), else refund."""
    notes: list[Command] = [*(extra or []), Record(f"money back: {reason}")]
    if sale.preauth and not sale.captured:
        return _enter(sale, State.REVERTING, now, notes, end_reason=reason)
    paid_at = sale.paid_at if sale.paid_at else sale.created_at
    if now.wall < cancel_cutoff_at(paid_at) - CANCEL_CUTOFF_MARGIN_S:
        return _enter(sale, State.CANCELLING, now, notes, end_reason=reason)
    return _enter(sale, State.REFUNDING, now, notes, end_reason=reason)


def _money_back_or_hold(sale: Sale, now: Now, reason: str) -> Result:
    if sale.on_paid_not_vended == "hold":
        return _hold(sale, reason)
    return _money_back(sale, now, reason)


# ---- deadlines and anomalies -----------------------------------------------------------------


def _past_deadline(sale: Sale, now: Now) -> Result:
    if sale.state is State.DELETING:  # past PayPay's expiryDate: unpayable; settle the status
        note = Record("delete unproven; code past its expiryDate: checking the status")
        return _enter(sale, State.GRACE, now, [note], qr_dead=True, grace_until_at=now.mono)
    if sale.state is State.GRACE and sale.already_paid:
        return _hold(sale, "already_paid_unconfirmed")
    return _hold(sale, f"{sale.state.value.lower()}_unresolved")


def on_anomaly(sale: Sale, ev: Event, now: Now) -> Result:
    """An answer we cannot trust: withdraw a shown QR first, then hold; never a success."""
    assert isinstance(ev, CallFailed)
    detail = ev.detail or "untrusted answer"
    flagged = replace(sale, anomaly=sale.anomaly or detail)
    note = Record(f"ATTENTION anomaly: {detail}")
    if sale.state is State.SHOWING:
        moved, commands = _leave_screen(flagged, now, "anomaly")
        return moved, [note, *commands]
    if sale.state is State.DELETING and not sale.delete_refused:
        return _issue(replace(flagged, verify=False), [note])  # delete it, then hold
    if sale.state is State.CREATE_UNKNOWN:  # void the order (the QR was never shown), then hold
        return _enter(flagged, State.CANCELLING, now, [note], end_reason="anomaly")
    moved, commands = _hold(flagged, "anomaly")
    return moved, [note, *commands]


def checked(sale: Sale, ev: StatusPolled) -> StatusPolled | CallFailed:
    """A poll answer must be about this sale: same merchantPaymentId, amount, currency and
    (once known) paymentId. Anything else is an anomaly, never a status."""
    wrong = [
        name
        for name, said, ours in (
            ("merchantPaymentId", ev.merchant_payment_id, sale.merchant_payment_id),
            ("amount", ev.amount_yen, sale.authorized_yen or sale.amount_yen),
            ("currency", ev.currency, "JPY"),
            ("paymentId", ev.payment_id, sale.payment_id),
        )
        if said is not None and ours is not None and said != ours
    ]
    if not wrong:
        return ev
    return CallFailed(Call.POLL, Failure.ANOMALY, f"answer differs in {', '.join(wrong)}")


# ---- handlers -------------------------------------------------------------------------------


def on_tick(sale: Sale, ev: Event, now: Now) -> Result:
    if sale.in_flight is not None:
        return sale, []
    if sale.state is State.SHOWING and (
        sale.cancel_requested or (sale.give_up_at is not None and now.mono >= sale.give_up_at)
    ):
        return _leave_screen(sale, now, _give_up_reason(sale))
    if sale.deadline_at is not None and now.mono >= sale.deadline_at:
        return _past_deadline(sale, now)
    if sale.next_at is not None and now.mono >= sale.next_at:
        return _issue(sale)
    return sale, []


def on_tick_nothing(sale: Sale, ev: Event, now: Now) -> Result:
    return sale, []


def on_created(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, QrCreated)
    t = sale.timing
    expiry_mono = now.mono + (ev.expiry_at - now.wall)  # PayPay's wall time, on our mono clock
    give_up_at = min(now.mono + t.qr_timeout_s, expiry_mono - t.expiry_margin_s)
    shown = replace(
        sale,
        state=State.SHOWING,
        code_id=ev.code_id,
        qr_url=ev.qr_url,
        expiry_at=ev.expiry_at,
        expiry_mono_at=expiry_mono,
        give_up_at=give_up_at,
        shown_at=now.mono,
    )
    if sale.cancel_requested:
        return _leave_screen(shown, now, "cancelled")
    return _wait(shown, now.mono + t.poll_interval_s)


def on_create_failed(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, CallFailed)
    if ev.failure in (Failure.UNKNOWN, Failure.DUPLICATE):
        note = Record(f"create outcome unknown: {ev.detail}")
        return _enter(sale, State.CREATE_UNKNOWN, now, [note], qr_left_at=now.mono)
    return _end(sale, State.FAILED, f"create_{ev.failure.value}")


def on_cancel_early(sale: Sale, ev: Event, now: Now) -> Result:
    return replace(sale, cancel_requested=True), []


def on_cancel_showing(sale: Sale, ev: Event, now: Now) -> Result:
    asked = replace(sale, cancel_requested=True)
    if sale.in_flight is not None:
        return asked, []
    return _leave_screen(asked, now, "cancelled")


def on_polled_unknown_create(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, StatusPolled)
    if ev.status in PAID_STATUSES:
        return _on_paid(sale, ev, now)
    if ev.status in DEAD_STATUSES:
        return _end(sale, State.FAILED, "create_unknown")
    return _enter(sale, State.CANCELLING, now, end_reason="create_unknown")


def on_poll_failed_unknown_create(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, CallFailed)
    if ev.failure is Failure.NOT_FOUND:  # never created; cancel anyway so a late create is void
        return _enter(sale, State.CANCELLING, now, end_reason="create_unknown")
    return _retry(sale, now)


def on_polled_showing(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, StatusPolled)
    if ev.status in PAID_STATUSES:
        return _on_paid(sale, ev, now)
    if ev.status in DEAD_STATUSES:
        return _leave_screen(sale, now, "payment_failed")
    return _poll_again_or_give_up(sale, now, sale.timing.poll_interval_s)


def on_poll_failed_showing(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, CallFailed)
    delay = min(sale.timing.poll_interval_s, sale.timing.retry_s * 2 ** min(sale.retries, 6))
    return _poll_again_or_give_up(replace(sale, retries=sale.retries + 1), now, delay)


def _poll_again_or_give_up(sale: Sale, now: Now, delay: float) -> Result:
    if sale.cancel_requested or (sale.give_up_at is not None and now.mono >= sale.give_up_at):
        return _leave_screen(sale, now, _give_up_reason(sale))
    return _wait(sale, now.mono + delay)


def on_deleted(sale: Sale, ev: Event, now: Now) -> Result:
    """Proven gone: one status query settles it (no grace window needed)."""
    return _enter(sale, State.GRACE, now, qr_dead=True, delete_proven=True, grace_until_at=now.mono)


def on_delete_failed(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, CallFailed)
    if ev.call is Call.POLL:  # the watching poll, not the delete
        return on_poll_failed_deleting(sale, ev, now)
    if ev.failure is Failure.NOT_FOUND:  # PayPay's own DYNAMIC_QR_NOT_FOUND: already gone
        return on_deleted(sale, ev, now)
    if ev.failure is Failure.ALREADY_PAID:
        return _enter(
            sale,
            State.GRACE,
            now,
            qr_dead=True,
            already_paid=True,
            grace_until_at=now.mono,
        )
    if ev.failure in REFUSALS:  # deleting again cannot help: watch the code until it expires
        note = Record(f"delete refused ({ev.detail}): watching the code until it expires")
        return _retry(replace(sale, delete_refused=True), now)[0], [note]
    unproven = ev.failure not in (Failure.TRY_LATER, Failure.AUTH)  # those applied nothing
    return _retry(replace(sale, verify=unproven), now)  # unproven: look, then delete again


def on_polled_deleting(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, StatusPolled)
    if ev.status in PAID_STATUSES:
        return _on_paid(sale, ev, now)
    if ev.status in DEAD_STATUSES:  # proven unpayable by PayPay's own answer
        return _unpaid_end(replace(sale, qr_dead=True, delete_proven=True), ev.status)
    if sale.delete_refused:
        return _wait(sale, now.mono + sale.timing.poll_interval_s)
    return _issue(replace(sale, verify=False))  # still payable: delete it again


def on_poll_failed_deleting(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, CallFailed)
    if ev.failure is Failure.NOT_FOUND:  # no such order at PayPay: nothing can be paid
        return _unpaid_end(replace(sale, qr_dead=True, delete_proven=True), None)
    return _retry(sale, now)


def on_polled_grace(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, StatusPolled)
    if ev.status in PAID_STATUSES:
        return _on_paid(sale, ev, now)
    return _grace_unpaid(sale, now, ev.status)


def _grace_unpaid(sale: Sale, now: Now, status: PaymentStatus | None) -> Result:
    dead = status is None or status in DEAD_STATUSES
    if sale.already_paid and not dead:  # PayPay said paid; wait (bounded) for the status
        if sale.deadline_at is not None and now.mono >= sale.deadline_at:
            return _hold(sale, "already_paid_unconfirmed")
        return _wait(sale, now.mono + sale.timing.grace_poll_s)
    if sale.delete_proven or sale.already_paid:  # proven: no grace window
        return _unpaid_end(sale, status)
    until = sale.grace_until_at if sale.grace_until_at is not None else now.mono
    if now.mono >= until:
        return _unpaid_end(sale, status)
    return _wait(sale, min(now.mono + sale.timing.grace_poll_s, until), retries=0)


def _unpaid_end(sale: Sale, status: PaymentStatus | None) -> Result:
    if sale.anomaly:
        return _hold(sale, "anomaly")
    if status is PaymentStatus.REFUNDED:  # paid and already given back (by someone else)
        return _end(sale, State.REFUNDED, "refunded_at_paypay")
    reason = _give_up_reason(sale)
    return _end(sale, _UNPAID_END.get(reason, State.FAILED), reason)


_UNPAID_END = {
    "cancelled": State.CANCELLED,
    "interrupted": State.CANCELLED,  # the kiosk restarted and withdrew the QR
    "expired": State.EXPIRED,
}


def on_poll_failed_grace(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, CallFailed)
    if ev.failure is Failure.NOT_FOUND:  # the deleted code's order is gone: definitely unpaid
        return _grace_unpaid(sale, now, None)
    return _retry(sale, now)


def on_cancelled(sale: Sale, ev: Event, now: Now) -> Result:
    if sale.anomaly and not sale.paid:
        return _hold(sale, "anomaly")
    if sale.paid:
        return _end(sale, State.REFUNDED, sale.end_reason)
    reason = sale.end_reason or "create_unknown"
    return _end(sale, State.CANCELLED if reason == "cancelled" else State.FAILED, reason)


def on_cancel_failed(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, CallFailed)
    if ev.failure in RETRYABLE:
        return _retry(sale, now)
    if sale.paid:  # past the cancel window (or not cancellable): refund instead
        note = Record(f"cancel refused: {ev.failure.value}")
        return _enter(sale, State.REFUNDING, now, [note])
    if ev.failure is Failure.INVALID:  # refused, unpaid as far as we know: settle by polling
        note = Record(f"cancel refused ({ev.detail}): checking the status instead")
        return _enter(sale, State.GRACE, now, [note], grace_until_at=now.mono)
    return on_cancelled(sale, ev, now)  # nothing to cancel: no payment exists


def on_vend_finished(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, VendFinished)
    if not ev.ok:
        return _money_back(sale, now, "vend_failed", [Record(f"vend failed: {ev.detail}")])
    vended = replace(sale, vended=True)
    if sale.preauth and not sale.captured and ev.amount_yen is not None:
        if not 0 < ev.amount_yen <= sale.amount_yen:  # the adapter broke its promise: no capture
            return _money_back(sale, now, "vend_amount", [Record(f"vend amount {ev.amount_yen}")])
        if ev.amount_yen < sale.amount_yen:  # capture what was vended; the rest is released
            vended = replace(vended, amount_yen=ev.amount_yen, authorized_yen=sale.amount_yen)
    if sale.preauth and not sale.captured:
        return _enter(vended, State.CAPTURING, now)
    return _end(vended, State.SUCCEEDED, None)


def on_captured(sale: Sale, ev: Event, now: Now) -> Result:
    return _end(replace(sale, captured=True), State.SUCCEEDED, None)


def on_capture_failed(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, CallFailed)
    if ev.failure in RETRYABLE:  # after an unknown capture, look before capturing again
        return _retry(replace(sale, verify=sale.verify or ev.failure is Failure.UNKNOWN), now)
    if ev.failure is Failure.ALREADY_CAPTURED:
        return on_captured(sale, ev, now)
    if sale.verify and ev.call is Call.POLL:  # the status query itself failed definitely
        return _retry(sale, now)
    # goods are out, PayPay refused the capture: the customer is done, the attendant is told
    note = Record(f"ATTENTION capture refused: {ev.detail}")
    return _end(sale, State.SUCCEEDED, "capture_refused", [note])


def on_polled_capturing(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, StatusPolled)
    if ev.status is PaymentStatus.COMPLETED:  # the earlier capture applied
        return on_captured(sale, ev, now)
    if ev.status is PaymentStatus.AUTHORIZED:
        return _issue(replace(sale, verify=False))
    note = Record(f"ATTENTION goods out, payment {ev.status.value}: cannot capture")
    return _end(sale, State.SUCCEEDED, "capture_refused", [note])


def on_reverted(sale: Sale, ev: Event, now: Now) -> Result:
    return _end(sale, State.REFUNDED, sale.end_reason)


def on_revert_failed(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, CallFailed)
    if ev.failure in RETRYABLE:  # after an unknown revert, look before reverting again
        return _retry(replace(sale, verify=sale.verify or ev.failure is Failure.UNKNOWN), now)
    # refused: perhaps an earlier attempt applied; the status tells
    return _retry(replace(sale, verify=True, refused=True), now)


def on_polled_reverting(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, StatusPolled)
    if ev.status in DEAD_STATUSES:
        return on_reverted(sale, ev, now)
    if sale.refused:
        note = Record(f"ATTENTION revert refused, status {ev.status.value}")
        return _end(sale, State.HELD, "revert_refused", [note])
    return _issue(replace(sale, verify=False))


def on_refund_accepted(sale: Sale, ev: Event, now: Now) -> Result:
    return _end(sale, State.REFUNDED, sale.end_reason)


def on_refund_failed(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, CallFailed)
    if ev.failure in RETRYABLE or ev.failure is Failure.DUPLICATE:  # it may have applied: ask
        unsure = ev.failure in (Failure.UNKNOWN, Failure.DUPLICATE)
        return _retry(replace(sale, verify=sale.verify or unsure), now)
    if sale.verify and ev.failure is Failure.NOT_FOUND:  # the earlier attempt did not apply
        return _issue(replace(sale, verify=False))
    note = Record(f"ATTENTION refund refused: {ev.detail}")
    return _end(sale, State.HELD, "refund_refused", [note])


def on_settled(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, AttendantSettled)
    if ev.refunded:
        return _end(sale, State.REFUNDED, "refunded_by_attendant")
    return _end(replace(sale, vended=True), State.SUCCEEDED, "handed_out_by_attendant")


def on_recovered(sale: Sale, ev: Event, now: Now) -> Result:
    """After a restart the monotonic clock means nothing: every deadline restarts from now."""
    assert isinstance(ev, Recovered)
    expiry = None if sale.expiry_at is None else now.mono + (sale.expiry_at - now.wall)
    back = replace(
        sale,
        recovered=True,
        on_paid_not_vended=ev.on_paid_not_vended,
        in_flight=None,
        next_at=None,
        expiry_mono_at=expiry,
        grace_until_at=None if sale.grace_until_at is None else now.mono + sale.timing.grace_s,
        qr_left_at=None if sale.qr_left_at is None else now.mono,
    )
    state = sale.state
    if state in (State.CREATING, State.CREATE_UNKNOWN):
        return _enter(back, State.CREATE_UNKNOWN, now)
    if state is State.SHOWING:
        return _leave_screen(back, now, "interrupted")
    if state is State.VENDING:
        return _money_back_or_hold(back, now, "vend_interrupted")
    # every unknown outcome is asked about before anything is sent again
    verify = state in (State.REFUNDING, State.REVERTING, State.CAPTURING, State.DELETING)
    budget = _budget_s(back, state, now)
    deadline = None if budget is None else now.mono + budget
    return _issue(replace(back, verify=verify, deadline_at=deadline))
