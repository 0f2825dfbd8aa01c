"""The transition handlers of a QR's life: create, show, poll, delete, watch, grace, recover;
deadlines and anomalies (the table that wires them is in kiosk.sale.machine; the paid half is
kiosk.sale.money, the shared moves kiosk.sale.moves).

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

from kiosk.domain import PaymentStatus
from kiosk.sale.model import (
    DEAD_STATUSES,
    PAID_STATUSES,
    Call,
    CallFailed,
    Command,
    Event,
    Failure,
    Now,
    QrCreated,
    Record,
    Recovered,
    Sale,
    State,
    StatusPolled,
)
from kiosk.sale.money import money_back_or_hold, on_paid
from kiosk.sale.moves import (
    REFUSALS,
    Result,
    end,
    enter,
    give_up_reason,
    hold,
    issue,
    leave_screen,
    resumed_budget_s,
    retry,
    wait,
    with_deadline,
)

# ---- deadlines and anomalies -----------------------------------------------------------------


def _past_deadline(sale: Sale, now: Now) -> Result:
    if sale.state in (State.DELETING, State.WATCHING):  # past expiry: unpayable; settle it
        note = Record("code past its expiry (delete unproven): checking the status")
        return enter(sale, State.GRACE, now, [note], qr_dead=True, grace_until_at=now.mono)
    if sale.state is State.GRACE and sale.already_paid:
        return hold(sale, "already_paid_unconfirmed")
    return hold(sale, f"{sale.state.value.lower()}_unresolved")


def on_anomaly(sale: Sale, ev: Event, now: Now) -> Result:
    """An answer we cannot trust: withdraw a shown QR first, then hold; never a success."""
    assert isinstance(ev, CallFailed)
    detail = ev.detail or "untrusted answer"
    flagged = replace(sale, anomaly=sale.anomaly or detail)
    note = Record(f"ATTENTION anomaly: {detail}")
    if sale.state is State.SHOWING:
        moved, commands = leave_screen(flagged, now, "anomaly")
        return moved, [note, *commands]
    if sale.state is State.DELETING:  # delete it, then hold
        return issue(replace(flagged, verify=False), [note])
    if sale.state is State.WATCHING:  # still payable: watch it to its expiry, then hold
        return wait(flagged, now.mono + sale.timing.poll_interval_s)[0], [note]
    if sale.state is State.GRACE:
        # a payment not yet seen: go on asking (to the state's deadline), so a payment is
        # found and held with its paymentId (refundable), not held as unpaid
        moved, commands = retry(flagged, now)
        return moved, [note, *commands]
    if sale.state is State.CREATE_UNKNOWN:  # void the order (the QR was never shown), then hold
        return enter(flagged, State.CANCELLING, now, [note], end_reason="anomaly")
    moved, commands = hold(flagged, "anomaly")
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
        return leave_screen(sale, now, give_up_reason(sale))
    if sale.deadline_at is not None and now.mono >= sale.deadline_at:
        return _past_deadline(sale, now)
    if sale.next_at is not None and now.mono >= sale.next_at:
        return issue(sale)
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
        return leave_screen(shown, now, "cancelled")
    return wait(shown, now.mono + t.poll_interval_s)


def on_create_failed(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, CallFailed)
    if ev.failure in (Failure.UNKNOWN, Failure.DUPLICATE):
        note = Record(f"create outcome unknown: {ev.detail}")
        return enter(sale, State.CREATE_UNKNOWN, now, [note], qr_left_at=now.mono)
    return end(sale, State.FAILED, f"create_{ev.failure.value}")


def on_cancel_early(sale: Sale, ev: Event, now: Now) -> Result:
    return replace(sale, cancel_requested=True), []


def on_cancel_showing(sale: Sale, ev: Event, now: Now) -> Result:
    asked = replace(sale, cancel_requested=True)
    if sale.in_flight is not None:
        return asked, []
    return leave_screen(asked, now, "cancelled")


def on_polled_unknown_create(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, StatusPolled)
    if ev.status in PAID_STATUSES:
        return on_paid(sale, ev, now)
    if ev.status in DEAD_STATUSES:
        return end(sale, State.FAILED, "create_unknown")
    return enter(sale, State.CANCELLING, now, end_reason="create_unknown")


def on_poll_failed_unknown_create(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, CallFailed)
    if ev.failure is Failure.NOT_FOUND:  # never created; cancel anyway so a late create is void
        return enter(sale, State.CANCELLING, now, end_reason="create_unknown")
    return retry(sale, now)


def on_polled_showing(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, StatusPolled)
    if ev.status in PAID_STATUSES:
        return on_paid(sale, ev, now)
    if ev.status in DEAD_STATUSES:
        return leave_screen(sale, now, "payment_failed")
    return _poll_again_or_give_up(sale, now, sale.timing.poll_interval_s)


def on_poll_failed_showing(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, CallFailed)
    delay = min(sale.timing.poll_interval_s, sale.timing.retry_s * 2 ** min(sale.retries, 6))
    return _poll_again_or_give_up(replace(sale, retries=sale.retries + 1), now, delay)


def _poll_again_or_give_up(sale: Sale, now: Now, delay: float) -> Result:
    if sale.cancel_requested or (sale.give_up_at is not None and now.mono >= sale.give_up_at):
        return leave_screen(sale, now, give_up_reason(sale))
    return wait(sale, now.mono + delay)


def on_deleted(sale: Sale, ev: Event, now: Now) -> Result:
    """Proven gone: one status query settles it (no grace window needed)."""
    return enter(sale, State.GRACE, now, qr_dead=True, delete_proven=True, grace_until_at=now.mono)


def on_delete_failed(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, CallFailed)
    if ev.call is Call.POLL:  # the watching poll, not the delete
        return on_poll_failed_deleting(sale, ev, now)
    if ev.failure is Failure.NOT_FOUND:  # PayPay's own DYNAMIC_QR_NOT_FOUND: already gone
        return on_deleted(sale, ev, now)
    if ev.failure is Failure.ALREADY_PAID:
        return enter(
            sale,
            State.GRACE,
            now,
            qr_dead=True,
            already_paid=True,
            grace_until_at=now.mono,
        )
    if ev.failure in REFUSALS:  # deleting again cannot help: watch the code until it expires
        note = Record(f"delete refused ({ev.detail}): watching the code until it expires")
        return enter(sale, State.WATCHING, now, [note])
    unproven = ev.failure not in (Failure.TRY_LATER, Failure.AUTH)  # those applied nothing
    return retry(replace(sale, verify=unproven), now)  # unproven: look, then delete again


def on_polled_deleting(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, StatusPolled)
    if ev.status in PAID_STATUSES:
        return on_paid(sale, ev, now)
    if ev.status in DEAD_STATUSES:  # proven unpayable by PayPay's own answer
        return _unpaid_end(replace(sale, qr_dead=True, delete_proven=True), ev.status)
    return issue(replace(sale, verify=False))  # still payable: delete it again


def on_poll_failed_deleting(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, CallFailed)
    if ev.failure is Failure.NOT_FOUND:  # no such order at PayPay: nothing can be paid
        return _unpaid_end(replace(sale, qr_dead=True, delete_proven=True), None)
    return retry(sale, now)


def on_polled_watching(sale: Sale, ev: Event, now: Now) -> Result:
    """A code PayPay would not withdraw, polled until it has surely expired. Once PayPay says
    it is unpaid the customer is released: told the outcome, and the kiosk sells again while
    the code is watched in the background; a payment found after that goes back (on_paid)."""
    assert isinstance(ev, StatusPolled)
    if ev.status in PAID_STATUSES:
        return on_paid(sale, ev, now)
    if ev.status in DEAD_STATUSES:
        return _unpaid_end(replace(sale, qr_dead=True, delete_proven=True), ev.status)
    notes: list[Command] = (
        [] if sale.customer_released else [Record("unpaid so far: the customer is released")]
    )
    watched, _ = wait(
        sale, now.mono + sale.timing.poll_interval_s, customer_released=True, retries=0
    )
    return watched, notes


def on_polled_grace(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, StatusPolled)
    if ev.status in PAID_STATUSES:
        return on_paid(sale, ev, now)
    return _grace_unpaid(sale, now, ev.status)


def _grace_unpaid(sale: Sale, now: Now, status: PaymentStatus | None) -> Result:
    dead = status is None or status in DEAD_STATUSES
    if sale.already_paid and not dead:  # PayPay said paid; wait (bounded) for the status
        if sale.deadline_at is not None and now.mono >= sale.deadline_at:
            return hold(sale, "already_paid_unconfirmed")
        return wait(sale, now.mono + sale.timing.grace_poll_s)
    if sale.delete_proven or sale.already_paid:  # proven: no grace window
        return _unpaid_end(sale, status)
    until = sale.grace_until_at if sale.grace_until_at is not None else now.mono
    if now.mono >= until:
        return _unpaid_end(sale, status)
    return wait(sale, min(now.mono + sale.timing.grace_poll_s, until), retries=0)


def _unpaid_end(sale: Sale, status: PaymentStatus | None) -> Result:
    if sale.anomaly:
        return hold(sale, "anomaly")
    if status is PaymentStatus.REFUNDED:  # paid and already given back (by someone else)
        return end(sale, State.REFUNDED, "refunded_at_paypay")
    reason = give_up_reason(sale)
    return end(sale, _UNPAID_END.get(reason, State.FAILED), reason)


_UNPAID_END = {
    "cancelled": State.CANCELLED,
    "interrupted": State.CANCELLED,  # the kiosk restarted and withdrew the QR
    "released_by_attendant": State.CANCELLED,  # the attendant gave the held sale up
    "expired": State.EXPIRED,
}


def on_poll_failed_grace(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, CallFailed)
    if ev.failure is Failure.NOT_FOUND:  # the deleted code's order is gone: definitely unpaid
        return _grace_unpaid(sale, now, None)
    return retry(sale, now)


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
        return enter(back, State.CREATE_UNKNOWN, now)
    if state is State.SHOWING:
        return leave_screen(back, now, "interrupted")
    if state is State.VENDING:
        return money_back_or_hold(back, now, "vend_interrupted")
    if state is State.WATCHING:  # ask once more to withdraw it (the refusal may have passed);
        # refused again, it is watched again to the same expiry (a wall-clock instant)
        if sale.code_id is None:  # a lost create: look, then cancel the order
            return enter(back, State.CREATE_UNKNOWN, now)
        return enter(back, State.DELETING, now)
    # every unknown outcome is asked about before anything is sent again
    verify = state in (State.REFUNDING, State.REVERTING, State.CAPTURING, State.DELETING)
    budget = resumed_budget_s(back, state, now)
    return issue(with_deadline(replace(back, verify=verify), budget, now, resumed=True))
