"""The sale state machine: `step(sale, event, now) -> (sale, commands)`, sans I/O (h11 style).

Why: every rule that keeps money safe lives here, in one table, where a test can drive it
through any order of events without a network, a clock or a database. The runner only
executes the commands this returns (journal first) and feeds the results back as events.

Invariants (checked by tests/engine, property-tested with hypothesis):
- at most one `CreateQr` per sale, ever; an unknown create is resolved by querying and then
  cancelling by merchantPaymentId, never by creating again;
- `Vend` only after PayPay reported COMPLETED (plain) or AUTHORIZED (preauth), at most once,
  and never after a restart (`Recovered`): the customer has left, so the money goes back;
- every way out of a shown QR without payment deletes it (or cancels the payment) and then
  keeps checking for a grace window; "not paid" is concluded only from a definite answer;
- an unknown outcome (timeout, 5xx) is a state that retries the same ids, shown as CONFIRMING;
- a paid sale ends vended (and captured), refunded/cancelled/reverted, or HELD for the attendant.
An event the current state does not accept raises `EventNotAccepted` and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone

from kiosk.domain import PaymentStatus
from kiosk.sale_model import (
    DEAD_STATUSES,
    PAID_STATUSES,
    RESULT_OF,
    TERMINAL_STATES,
    AttendantSettled,
    Call,
    CallCommand,
    CallFailed,
    CancelPayment,
    CancelPressed,
    Capture,
    Captured,
    Command,
    CreateQr,
    DeleteQr,
    Event,
    Failure,
    PaymentCancelled,
    PollStatus,
    QrCreated,
    QrDeleted,
    QueryRefund,
    Record,
    Recovered,
    Refund,
    RefundAccepted,
    Revert,
    Reverted,
    Sale,
    State,
    StatusPolled,
    Ticked,
    Timing,
    Vend,
    VendFinished,
)

JST = timezone(timedelta(hours=9))
CANCEL_CUTOFF_MARGIN_S = 120.0  # stop cancelling two minutes before PayPay's 00:15 cut-off
RETRYABLE = frozenset({Failure.UNKNOWN, Failure.TRY_LATER, Failure.AUTH})

Result = tuple[Sale, list[Command]]
Handler = Callable[[Sale, Event, float], Result]


class EventNotAccepted(Exception):
    """The sale's state has no transition for this event; the sale is unchanged."""


@dataclass(frozen=True)
class Row:
    state: State
    event: type
    handler: Handler
    targets: tuple[State, ...]  # every state the handler may move to (for the diagram)


def new_sale(
    merchant_payment_id: str,
    amount_yen: int,
    description: str,
    *,
    preauth: bool,
    now: float,
    timing: Timing | None = None,
) -> Result:
    """Start a sale. The runner journals the returned sale before sending the `CreateQr`."""
    sale = Sale(
        merchant_payment_id, amount_yen, description, preauth, now, timing=timing or Timing()
    )
    command = CreateQr(merchant_payment_id, amount_yen, description, preauth)
    return replace(sale, in_flight=command.call, creates_sent=1), [command]


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


def _tick(sale: Sale, ev: Event, now: float) -> Result:
    if sale.in_flight is not None:
        return sale, []
    if sale.state is State.SHOWING and (
        sale.cancel_requested or (sale.give_up_at is not None and now >= sale.give_up_at)
    ):
        return _enter(sale, State.DELETING, end_reason=_give_up_reason(sale))
    if sale.next_at is not None and now >= sale.next_at:
        return _issue(sale)
    return sale, []


def _tick_nothing(sale: Sale, ev: Event, now: float) -> Result:
    return sale, []


def _created(sale: Sale, ev: Event, now: float) -> Result:
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
    )
    if sale.cancel_requested:
        return _enter(shown, State.DELETING, end_reason="cancelled")
    return _wait(shown, now + t.poll_interval_s)


def _create_failed(sale: Sale, ev: Event, now: float) -> Result:
    assert isinstance(ev, CallFailed)
    if ev.failure in (Failure.UNKNOWN, Failure.DUPLICATE):
        return _enter(sale, State.CREATE_UNKNOWN, [Record(f"create outcome unknown: {ev.detail}")])
    return _end(sale, State.FAILED, f"create_{ev.failure.value}")


def _cancel_early(sale: Sale, ev: Event, now: float) -> Result:
    return replace(sale, cancel_requested=True), []


def _cancel_showing(sale: Sale, ev: Event, now: float) -> Result:
    asked = replace(sale, cancel_requested=True)
    if sale.in_flight is not None:
        return asked, []
    return _enter(asked, State.DELETING, end_reason="cancelled")


def _polled_unknown_create(sale: Sale, ev: Event, now: float) -> Result:
    assert isinstance(ev, StatusPolled)
    if ev.status in PAID_STATUSES:
        return _on_paid(sale, ev, now)
    if ev.status in DEAD_STATUSES:
        return _end(sale, State.FAILED, "create_unknown")
    return _enter(sale, State.CANCELLING, end_reason="create_unknown")


def _poll_failed_unknown_create(sale: Sale, ev: Event, now: float) -> Result:
    assert isinstance(ev, CallFailed)
    if ev.failure is Failure.NOT_FOUND:  # never created; cancel anyway so a late create is void
        return _enter(sale, State.CANCELLING, end_reason="create_unknown")
    return _retry(sale, now)


def _polled_showing(sale: Sale, ev: Event, now: float) -> Result:
    assert isinstance(ev, StatusPolled)
    if ev.status in PAID_STATUSES:
        return _on_paid(sale, ev, now)
    if ev.status in DEAD_STATUSES:
        return _enter(sale, State.DELETING, end_reason="payment_failed")
    return _poll_again_or_give_up(sale, now, sale.timing.poll_interval_s)


def _poll_failed_showing(sale: Sale, ev: Event, now: float) -> Result:
    assert isinstance(ev, CallFailed)
    delay = min(sale.timing.poll_interval_s, sale.timing.retry_s * 2 ** min(sale.retries, 6))
    return _poll_again_or_give_up(replace(sale, retries=sale.retries + 1), now, delay)


def _poll_again_or_give_up(sale: Sale, now: float, delay: float) -> Result:
    if sale.cancel_requested or (sale.give_up_at is not None and now >= sale.give_up_at):
        return _enter(sale, State.DELETING, end_reason=_give_up_reason(sale))
    return _wait(sale, now + delay)


def _deleted(sale: Sale, ev: Event, now: float) -> Result:
    return _enter(sale, State.GRACE, qr_dead=True, grace_until_at=now + sale.timing.grace_s)


def _delete_failed(sale: Sale, ev: Event, now: float) -> Result:
    assert isinstance(ev, CallFailed)
    if ev.failure is Failure.NOT_FOUND:  # already gone at PayPay: not payable any more
        return _deleted(sale, ev, now)
    if ev.failure is Failure.ALREADY_PAID:
        grace = _enter(sale, State.GRACE, qr_dead=True, already_paid=True, grace_until_at=now)
        return grace
    return _retry(sale, now)  # unknown, try later, or a refusal we cannot act on: same id again


def _polled_grace(sale: Sale, ev: Event, now: float) -> Result:
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


def _poll_failed_grace(sale: Sale, ev: Event, now: float) -> Result:
    assert isinstance(ev, CallFailed)
    if ev.failure is Failure.NOT_FOUND:  # the deleted code's order is gone: definitely unpaid
        return _grace_unpaid(sale, now)
    return _retry(sale, now)


def _cancelled(sale: Sale, ev: Event, now: float) -> Result:
    if sale.paid:
        return _end(sale, State.REFUNDED, sale.end_reason)
    reason = sale.end_reason or "create_unknown"
    return _end(sale, State.CANCELLED if reason == "cancelled" else State.FAILED, reason)


def _cancel_failed(sale: Sale, ev: Event, now: float) -> Result:
    assert isinstance(ev, CallFailed)
    if ev.failure in RETRYABLE or ev.failure is Failure.INVALID:
        return _retry(sale, now)
    if sale.paid:  # past the cancel window (or not cancellable): refund instead
        return _enter(sale, State.REFUNDING, [Record(f"cancel refused: {ev.failure.value}")])
    return _cancelled(sale, ev, now)  # nothing to cancel: no payment exists


def _vend_finished(sale: Sale, ev: Event, now: float) -> Result:
    assert isinstance(ev, VendFinished)
    if not ev.ok:
        return _money_back(sale, now, "vend_failed", [Record(f"vend failed: {ev.detail}")])
    vended = replace(sale, vended=True)
    if sale.preauth and not sale.captured:
        return _enter(vended, State.CAPTURING)
    return _end(vended, State.SUCCEEDED, None)


def _captured(sale: Sale, ev: Event, now: float) -> Result:
    return _end(replace(sale, captured=True), State.SUCCEEDED, None)


def _capture_failed(sale: Sale, ev: Event, now: float) -> Result:
    assert isinstance(ev, CallFailed)
    if ev.failure in RETRYABLE:
        return _retry(sale, now)
    if ev.failure is Failure.ALREADY_CAPTURED:
        return _captured(sale, ev, now)
    # goods are out, PayPay refused the capture: the customer is done, the attendant is told
    note = Record(f"ATTENTION capture refused: {ev.detail}")
    return _end(sale, State.SUCCEEDED, "capture_refused", [note])


def _reverted(sale: Sale, ev: Event, now: float) -> Result:
    return _end(sale, State.REFUNDED, sale.end_reason)


def _revert_failed(sale: Sale, ev: Event, now: float) -> Result:
    assert isinstance(ev, CallFailed)
    if ev.failure in RETRYABLE:  # after an unknown revert, look before reverting again
        return _retry(replace(sale, verify=sale.verify or ev.failure is Failure.UNKNOWN), now)
    # refused: perhaps an earlier attempt applied; the status tells
    return _retry(replace(sale, verify=True, refused=True), now)


def _polled_reverting(sale: Sale, ev: Event, now: float) -> Result:
    assert isinstance(ev, StatusPolled)
    if ev.status in DEAD_STATUSES:
        return _reverted(sale, ev, now)
    if sale.refused:
        note = Record(f"ATTENTION revert refused, status {ev.status.value}")
        return _end(sale, State.HELD, "revert_refused", [note])
    return _issue(replace(sale, verify=False))


def _refund_accepted(sale: Sale, ev: Event, now: float) -> Result:
    return _end(sale, State.REFUNDED, sale.end_reason)


def _refund_failed(sale: Sale, ev: Event, now: float) -> Result:
    assert isinstance(ev, CallFailed)
    if ev.failure in RETRYABLE or ev.failure is Failure.DUPLICATE:  # it may have applied: ask
        unsure = ev.failure in (Failure.UNKNOWN, Failure.DUPLICATE)
        return _retry(replace(sale, verify=sale.verify or unsure), now)
    if sale.verify and ev.failure is Failure.NOT_FOUND:  # the earlier attempt did not apply
        return _issue(replace(sale, verify=False))
    note = Record(f"ATTENTION refund refused: {ev.detail}")
    return _end(sale, State.HELD, "refund_refused", [note])


def _settled(sale: Sale, ev: Event, now: float) -> Result:
    assert isinstance(ev, AttendantSettled)
    if ev.refunded:
        return _end(sale, State.REFUNDED, "refunded_by_attendant")
    return _end(replace(sale, vended=True), State.SUCCEEDED, "handed_out_by_attendant")


def _recovered(sale: Sale, ev: Event, now: float) -> Result:
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


# ---- the one table --------------------------------------------------------------------------

S = State
_WAITING = (S.CREATE_UNKNOWN, S.SHOWING, S.DELETING, S.GRACE, S.CANCELLING, S.CAPTURING)
_MONEY_BACK = (S.REVERTING, S.CANCELLING, S.REFUNDING)
_PAID_EXITS = (S.VENDING, *_MONEY_BACK, S.HELD)  # HELD/money back only after a restart
_RECOVER_TARGETS = {
    S.CREATING: (S.CREATE_UNKNOWN,),
    S.SHOWING: (S.DELETING,),
    S.VENDING: (S.REVERTING, S.CANCELLING, S.REFUNDING, S.HELD),
}

TABLE: tuple[Row, ...] = (
    Row(S.CREATING, QrCreated, _created, (S.SHOWING, S.DELETING)),
    Row(S.CREATING, CallFailed, _create_failed, (S.CREATE_UNKNOWN, S.FAILED)),
    Row(S.CREATING, CancelPressed, _cancel_early, ()),
    Row(S.CREATING, Ticked, _tick_nothing, ()),
    Row(
        S.CREATE_UNKNOWN,
        StatusPolled,
        _polled_unknown_create,
        (S.CANCELLING, S.FAILED, *_PAID_EXITS),
    ),
    Row(S.CREATE_UNKNOWN, CallFailed, _poll_failed_unknown_create, (S.CANCELLING,)),
    Row(S.CREATE_UNKNOWN, CancelPressed, _cancel_early, ()),
    Row(S.SHOWING, StatusPolled, _polled_showing, (S.DELETING, *_PAID_EXITS)),
    Row(S.SHOWING, CallFailed, _poll_failed_showing, (S.DELETING,)),
    Row(S.SHOWING, CancelPressed, _cancel_showing, (S.DELETING,)),
    Row(S.DELETING, QrDeleted, _deleted, (S.GRACE,)),
    Row(S.DELETING, CallFailed, _delete_failed, (S.GRACE,)),
    Row(S.GRACE, StatusPolled, _polled_grace, (S.CANCELLED, S.EXPIRED, S.FAILED, *_PAID_EXITS)),
    Row(S.GRACE, CallFailed, _poll_failed_grace, (S.CANCELLED, S.EXPIRED, S.FAILED)),
    Row(S.CANCELLING, PaymentCancelled, _cancelled, (S.CANCELLED, S.FAILED, S.REFUNDED)),
    Row(S.CANCELLING, CallFailed, _cancel_failed, (S.CANCELLED, S.FAILED, S.REFUNDED, S.REFUNDING)),
    Row(S.VENDING, VendFinished, _vend_finished, (S.CAPTURING, S.SUCCEEDED, *_MONEY_BACK)),
    Row(S.VENDING, Ticked, _tick_nothing, ()),
    Row(S.CAPTURING, Captured, _captured, (S.SUCCEEDED,)),
    Row(S.CAPTURING, CallFailed, _capture_failed, (S.SUCCEEDED,)),
    Row(S.REVERTING, Reverted, _reverted, (S.REFUNDED,)),
    Row(S.REVERTING, StatusPolled, _polled_reverting, (S.REFUNDED, S.HELD)),
    Row(S.REVERTING, CallFailed, _revert_failed, ()),
    Row(S.REVERTING, Ticked, _tick, ()),
    Row(S.REFUNDING, RefundAccepted, _refund_accepted, (S.REFUNDED,)),
    Row(S.REFUNDING, CallFailed, _refund_failed, (S.HELD,)),
    Row(S.REFUNDING, Ticked, _tick, ()),
    Row(S.HELD, AttendantSettled, _settled, (S.REFUNDED, S.SUCCEEDED)),
    *(Row(s, Ticked, _tick, (S.DELETING,) if s is S.SHOWING else ()) for s in _WAITING),
    *(
        Row(s, Recovered, _recovered, _RECOVER_TARGETS.get(s, ()))
        for s in State
        if s not in TERMINAL_STATES
    ),
)

_INDEX: dict[tuple[State, type], Row] = {(row.state, row.event): row for row in TABLE}
assert len(_INDEX) == len(TABLE), "two rows for one (state, event)"


def accepts(sale: Sale, event: Event) -> bool:
    """True when `step(sale, event, now)` would not raise `EventNotAccepted`."""
    row = _INDEX.get((sale.state, type(event)))
    if row is None:
        return False
    return _expected_call_ok(sale, event)


def _expected_call_ok(sale: Sale, event: Event) -> bool:
    if isinstance(event, CallFailed):
        return sale.in_flight is event.call
    if isinstance(event, StatusPolled):
        return sale.in_flight is Call.POLL
    if isinstance(event, RefundAccepted):
        return sale.in_flight in (Call.REFUND, Call.REFUND_STATUS)
    expected = RESULT_OF.get(type(event))
    return expected is None or sale.in_flight is expected


def step(sale: Sale, event: Event, now: float) -> Result:
    """Apply one event. Raises `EventNotAccepted` (sale unchanged) for an event out of place."""
    row = _INDEX.get((sale.state, type(event)))
    if row is None or not _expected_call_ok(sale, event):
        raise EventNotAccepted(
            f"{type(event).__name__} not accepted in {sale.state} (in flight: {sale.in_flight})"
        )
    after, commands = row.handler(sale, event, now)
    if after.state is not sale.state and after.state not in row.targets:
        raise AssertionError(f"{row.handler.__name__} moved {sale.state} -> {after.state}")
    return after, commands


def mermaid() -> str:
    """The state diagram, generated from TABLE (the README embeds this text)."""
    edges: dict[tuple[str, str], list[str]] = {}
    for row in TABLE:
        for target in row.targets:
            if target is not row.state:
                names = edges.setdefault((row.state.value, target.value), [])
                if row.event.__name__ not in names:
                    names.append(row.event.__name__)
    lines = ["stateDiagram-v2", f"    [*] --> {State.CREATING.value}"]
    lines += [f"    {a} --> {b}: {', '.join(names)}" for (a, b), names in edges.items()]
    lines += [f"    {s.value} --> [*]" for s in State if s in TERMINAL_STATES]
    return "\n".join(lines) + "\n"


__all__ = ["TABLE", "EventNotAccepted", "Row", "accepts", "mermaid", "new_sale", "step"]
