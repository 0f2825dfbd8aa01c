"""The transition handlers of the sale machine (the table that wires them is in kiosk.sale.machine).

Why a module of its own: `kiosk.sale.machine` stays a readable table plus `step`; here is what each
transition does. Pure like the table: no I/O, no clock, no randomness. Every handler takes
`(sale, event, now)` and returns the new sale and the commands to execute, in order.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from kiosk.domain import JST, PaymentStatus
from kiosk.sale.model import (
    DEAD_STATUSES,
    PAID_STATUSES,
    AttendantSettled,
    CallCommand,
    CallFailed,
    CancelPayment,
    Capture,
    Command,
    DeleteQr,
    Event,
    Failure,
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
    if state is State.DELETING:
        assert sale.code_id is not None
        return DeleteQr(sale.code_id)
    if state is State.CANCELLING:
        return CancelPayment(mpid)
    if state is State.CAPTURING:
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


def _issue(sale: Sale, extra: list[Command] | None = None) -> Result:
    command = _call_for(sale)
    return replace(sale, in_flight=command.call, next_at=None), [*(extra or []), command]


def _enter(
    sale: Sale, state: State, extra: list[Command] | None = None, **changes: object
) -> Result:
    """Move to a waiting state and send its call at once."""
    return _issue(replace(sale, state=state, retries=0, verify=False, **changes), extra)  # type: ignore[arg-type]


def _wait(sale: Sale, at: float, **changes: object) -> Result:
    return replace(sale, in_flight=None, next_at=at, **changes), []  # type: ignore[arg-type]


def _retry(sale: Sale, now: float) -> Result:
    delay = min(sale.timing.retry_s * 2 ** min(sale.retries, 6), sale.timing.retry_max_s)
    return _wait(sale, now + delay, retries=sale.retries + 1)


def _end(
    sale: Sale, state: State, reason: str | None, extra: list[Command] | None = None
) -> Result:
    done = replace(sale, state=state, in_flight=None, next_at=None, end_reason=reason)
    return done, [*(extra or []), Record(f"{state.value.lower()}: {reason or 'ok'}")]


def _give_up_reason(sale: Sale) -> str:
    return sale.end_reason or ("cancelled" if sale.cancel_requested else "expired")


# ---- paid: vend, or (after a restart / vend failure) give the money back --------------------


def _on_paid(sale: Sale, ev: StatusPolled, now: float) -> Result:
    paid = replace(
        sale,
        payment_id=ev.payment_id or sale.payment_id,
        paid_at=ev.paid_at if ev.paid_at is not None else sale.paid_at,
        paid_status=ev.status,
        captured=sale.captured or (sale.preauth and ev.status is PaymentStatus.COMPLETED),
    )
    if paid.recovered:
        return _money_back_or_hold(paid, now, "paid_after_restart")
    command = Vend(sale.merchant_payment_id, sale.amount_yen, sale.description)
    vending = replace(paid, state=State.VENDING, in_flight=command.call, next_at=None)
    return replace(vending, vend_started=True, retries=0), [command]


def _money_back(sale: Sale, now: float, reason: str, extra: list[Command] | None = None) -> Result:
    """Preauth: revert. Plain: cancel before PayPay's cut-off (no fee, no trace), else refund."""
    notes: list[Command] = [*(extra or []), Record(f"money back: {reason}")]
    if sale.preauth and not sale.captured:
        return _enter(sale, State.REVERTING, notes, end_reason=reason)
    paid_at = sale.paid_at if sale.paid_at else sale.created_at
    if now < cancel_cutoff_at(paid_at) - CANCEL_CUTOFF_MARGIN_S:
        return _enter(sale, State.CANCELLING, notes, end_reason=reason)
    return _enter(sale, State.REFUNDING, notes, end_reason=reason)


def _money_back_or_hold(sale: Sale, now: float, reason: str) -> Result:
    if sale.on_paid_not_vended == "hold":
        return _end(
            sale, State.HELD, reason, [Record(f"ATTENTION held for the attendant: {reason}")]
        )
    return _money_back(sale, now, reason)


# ---- handlers -------------------------------------------------------------------------------


def on_tick(sale: Sale, ev: Event, now: float) -> Result:
    if sale.in_flight is not None:
        return sale, []
    if sale.state is State.SHOWING and (
        sale.cancel_requested or (sale.give_up_at is not None and now >= sale.give_up_at)
    ):
        return _enter(sale, State.DELETING, end_reason=_give_up_reason(sale))
    if sale.next_at is not None and now >= sale.next_at:
        return _issue(sale)
    return sale, []


def on_tick_nothing(sale: Sale, ev: Event, now: float) -> Result:
    return sale, []


def on_created(sale: Sale, ev: Event, now: float) -> Result:
    assert isinstance(ev, QrCreated)
    t = sale.timing
    give_up_at = min(now + t.qr_timeout_s, ev.expiry_at - t.expiry_margin_s)
    shown = replace(
        sale,
        state=State.SHOWING,
        code_id=ev.code_id,
        qr_url=ev.qr_url,
        expiry_at=ev.expiry_at,
        give_up_at=give_up_at,
        shown_at=now,
    )
    if sale.cancel_requested:
        return _enter(shown, State.DELETING, end_reason="cancelled")
    return _wait(shown, now + t.poll_interval_s)


def on_create_failed(sale: Sale, ev: Event, now: float) -> Result:
    assert isinstance(ev, CallFailed)
    if ev.failure in (Failure.UNKNOWN, Failure.DUPLICATE):
        return _enter(sale, State.CREATE_UNKNOWN, [Record(f"create outcome unknown: {ev.detail}")])
    return _end(sale, State.FAILED, f"create_{ev.failure.value}")


def on_cancel_early(sale: Sale, ev: Event, now: float) -> Result:
    return replace(sale, cancel_requested=True), []


def on_cancel_showing(sale: Sale, ev: Event, now: float) -> Result:
    asked = replace(sale, cancel_requested=True)
    if sale.in_flight is not None:
        return asked, []
    return _enter(asked, State.DELETING, end_reason="cancelled")


def on_polled_unknown_create(sale: Sale, ev: Event, now: float) -> Result:
    assert isinstance(ev, StatusPolled)
    if ev.status in PAID_STATUSES:
        return _on_paid(sale, ev, now)
    if ev.status in DEAD_STATUSES:
        return _end(sale, State.FAILED, "create_unknown")
    return _enter(sale, State.CANCELLING, end_reason="create_unknown")


def on_poll_failed_unknown_create(sale: Sale, ev: Event, now: float) -> Result:
    assert isinstance(ev, CallFailed)
    if ev.failure is Failure.NOT_FOUND:  # never created; cancel anyway so a late create is void
        return _enter(sale, State.CANCELLING, end_reason="create_unknown")
    return _retry(sale, now)


def on_polled_showing(sale: Sale, ev: Event, now: float) -> Result:
    assert isinstance(ev, StatusPolled)
    if ev.status in PAID_STATUSES:
        return _on_paid(sale, ev, now)
    if ev.status in DEAD_STATUSES:
        return _enter(sale, State.DELETING, end_reason="payment_failed")
    return _poll_again_or_give_up(sale, now, sale.timing.poll_interval_s)


def on_poll_failed_showing(sale: Sale, ev: Event, now: float) -> Result:
    assert isinstance(ev, CallFailed)
    delay = min(sale.timing.poll_interval_s, sale.timing.retry_s * 2 ** min(sale.retries, 6))
    return _poll_again_or_give_up(replace(sale, retries=sale.retries + 1), now, delay)


def _poll_again_or_give_up(sale: Sale, now: float, delay: float) -> Result:
    if sale.cancel_requested or (sale.give_up_at is not None and now >= sale.give_up_at):
        return _enter(sale, State.DELETING, end_reason=_give_up_reason(sale))
    return _wait(sale, now + delay)


def on_deleted(sale: Sale, ev: Event, now: float) -> Result:
    return _enter(sale, State.GRACE, qr_dead=True, grace_until_at=now + sale.timing.grace_s)


def on_delete_failed(sale: Sale, ev: Event, now: float) -> Result:
    assert isinstance(ev, CallFailed)
    if ev.failure is Failure.NOT_FOUND:  # already gone at PayPay: not payable any more
        return on_deleted(sale, ev, now)
    if ev.failure is Failure.ALREADY_PAID:
        grace = _enter(sale, State.GRACE, qr_dead=True, already_paid=True, grace_until_at=now)
        return grace
    return _retry(sale, now)  # unknown, try later, or a refusal we cannot act on: same id again


def on_polled_grace(sale: Sale, ev: Event, now: float) -> Result:
    assert isinstance(ev, StatusPolled)
    if ev.status in PAID_STATUSES:
        return _on_paid(sale, ev, now)
    return _grace_unpaid(sale, now)


def _grace_unpaid(sale: Sale, now: float) -> Result:
    if sale.already_paid:  # PayPay said paid; wait for the status to say so too
        return _wait(sale, now + sale.timing.grace_poll_s)
    until = sale.grace_until_at if sale.grace_until_at is not None else now
    if now >= until:
        reason = _give_up_reason(sale)
        final = _UNPAID_END.get(reason, State.FAILED)
        return _end(sale, final, reason)
    return _wait(sale, min(now + sale.timing.grace_poll_s, until), retries=0)


_UNPAID_END = {
    "cancelled": State.CANCELLED,
    "interrupted": State.CANCELLED,  # the kiosk restarted and withdrew the QR
    "expired": State.EXPIRED,
}


def on_poll_failed_grace(sale: Sale, ev: Event, now: float) -> Result:
    assert isinstance(ev, CallFailed)
    if ev.failure is Failure.NOT_FOUND:  # the deleted code's order is gone: definitely unpaid
        return _grace_unpaid(sale, now)
    return _retry(sale, now)


def on_cancelled(sale: Sale, ev: Event, now: float) -> Result:
    if sale.paid:
        return _end(sale, State.REFUNDED, sale.end_reason)
    reason = sale.end_reason or "create_unknown"
    return _end(sale, State.CANCELLED if reason == "cancelled" else State.FAILED, reason)


def on_cancel_failed(sale: Sale, ev: Event, now: float) -> Result:
    assert isinstance(ev, CallFailed)
    if ev.failure in RETRYABLE or ev.failure is Failure.INVALID:
        return _retry(sale, now)
    if sale.paid:  # past the cancel window (or not cancellable): refund instead
        return _enter(sale, State.REFUNDING, [Record(f"cancel refused: {ev.failure.value}")])
    return on_cancelled(sale, ev, now)  # nothing to cancel: no payment exists


def on_vend_finished(sale: Sale, ev: Event, now: float) -> Result:
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
        return _enter(vended, State.CAPTURING)
    return _end(vended, State.SUCCEEDED, None)


def on_captured(sale: Sale, ev: Event, now: float) -> Result:
    return _end(replace(sale, captured=True), State.SUCCEEDED, None)


def on_capture_failed(sale: Sale, ev: Event, now: float) -> Result:
    assert isinstance(ev, CallFailed)
    if ev.failure in RETRYABLE:
        return _retry(sale, now)
    if ev.failure is Failure.ALREADY_CAPTURED:
        return on_captured(sale, ev, now)
    # goods are out, PayPay refused the capture: the customer is done, the attendant is told
    note = Record(f"ATTENTION capture refused: {ev.detail}")
    return _end(sale, State.SUCCEEDED, "capture_refused", [note])


def on_reverted(sale: Sale, ev: Event, now: float) -> Result:
    return _end(sale, State.REFUNDED, sale.end_reason)


def on_revert_failed(sale: Sale, ev: Event, now: float) -> Result:
    assert isinstance(ev, CallFailed)
    if ev.failure in RETRYABLE:  # after an unknown revert, look before reverting again
        return _retry(replace(sale, verify=sale.verify or ev.failure is Failure.UNKNOWN), now)
    # refused: perhaps an earlier attempt applied; the status tells
    return _retry(replace(sale, verify=True, refused=True), now)


def on_polled_reverting(sale: Sale, ev: Event, now: float) -> Result:
    assert isinstance(ev, StatusPolled)
    if ev.status in DEAD_STATUSES:
        return on_reverted(sale, ev, now)
    if sale.refused:
        note = Record(f"ATTENTION revert refused, status {ev.status.value}")
        return _end(sale, State.HELD, "revert_refused", [note])
    return _issue(replace(sale, verify=False))


def on_refund_accepted(sale: Sale, ev: Event, now: float) -> Result:
    return _end(sale, State.REFUNDED, sale.end_reason)


def on_refund_failed(sale: Sale, ev: Event, now: float) -> Result:
    assert isinstance(ev, CallFailed)
    if ev.failure in RETRYABLE or ev.failure is Failure.DUPLICATE:  # it may have applied: ask
        unsure = ev.failure in (Failure.UNKNOWN, Failure.DUPLICATE)
        return _retry(replace(sale, verify=sale.verify or unsure), now)
    if sale.verify and ev.failure is Failure.NOT_FOUND:  # the earlier attempt did not apply
        return _issue(replace(sale, verify=False))
    note = Record(f"ATTENTION refund refused: {ev.detail}")
    return _end(sale, State.HELD, "refund_refused", [note])


def on_settled(sale: Sale, ev: Event, now: float) -> Result:
    assert isinstance(ev, AttendantSettled)
    if ev.refunded:
        return _end(sale, State.REFUNDED, "refunded_by_attendant")
    return _end(replace(sale, vended=True), State.SUCCEEDED, "handed_out_by_attendant")


def on_recovered(sale: Sale, ev: Event, now: float) -> Result:
    assert isinstance(ev, Recovered)
    back = replace(sale, recovered=True, on_paid_not_vended=ev.on_paid_not_vended, in_flight=None)
    state = sale.state
    if state in (State.CREATING, State.CREATE_UNKNOWN):
        return _enter(back, State.CREATE_UNKNOWN)
    if state is State.SHOWING:
        return _enter(back, State.DELETING, end_reason="interrupted")
    if state is State.VENDING:
        return _money_back_or_hold(back, now, "vend_interrupted")
    if state in (State.REFUNDING, State.REVERTING):  # the last attempt may have applied
        return _issue(replace(back, verify=True))
    return _issue(back)
