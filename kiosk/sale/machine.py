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
- a code PayPay will not withdraw (delete or cancel refused) is WATCHING: polled until it has
  surely expired; once PayPay says it is unpaid the sale is `customer_released` (told,
  the kiosk sells again, the sale goes on in the background) and is never vended after that;
- an unknown outcome (timeout, 5xx) is a state that retries the same ids, shown as CONFIRMING;
- a paid sale ends vended (and captured), refunded/cancelled/reverted, or HELD for the attendant.
An event the current state does not accept raises `EventNotAccepted` and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from kiosk.sale.handlers import (
    checked,
    on_anomaly,
    on_cancel_early,
    on_cancel_showing,
    on_create_failed,
    on_created,
    on_delete_failed,
    on_deleted,
    on_poll_failed_deleting,
    on_poll_failed_grace,
    on_poll_failed_showing,
    on_poll_failed_unknown_create,
    on_polled_deleting,
    on_polled_grace,
    on_polled_showing,
    on_polled_unknown_create,
    on_polled_watching,
    on_recovered,
    on_tick,
    on_tick_nothing,
)
from kiosk.sale.model import (
    RESULT_OF,
    TERMINAL_STATES,
    AttendantReleased,
    AttendantSettled,
    Call,
    CallFailed,
    CancelPressed,
    Captured,
    CreateQr,
    Event,
    Failure,
    Now,
    PaymentCancelled,
    QrCreated,
    QrDeleted,
    Recovered,
    RefundAccepted,
    Reverted,
    Sale,
    State,
    StatusPolled,
    Ticked,
    Timing,
    VendFinished,
    as_now,
)
from kiosk.sale.money import (
    on_cancel_failed,
    on_cancelled,
    on_capture_failed,
    on_captured,
    on_polled_cancelling,
    on_polled_capturing,
    on_polled_reverting,
    on_refund_accepted,
    on_refund_failed,
    on_revert_failed,
    on_reverted,
    on_settled,
    on_vend_finished,
)
from kiosk.sale.moves import Result, cancel_cutoff_at
from kiosk.sale.release import on_released, releasable

Handler = Callable[[Sale, Event, Now], Result]


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
    now: float | Now,
    timing: Timing | None = None,
) -> Result:
    """Start a sale. The runner journals the returned sale before sending the `CreateQr`."""
    wall = as_now(now).wall  # created_at is a record: wall time
    sale = Sale(
        merchant_payment_id, amount_yen, description, preauth, wall, timing=timing or Timing()
    )
    command = CreateQr(merchant_payment_id, amount_yen, description, preauth)
    return replace(sale, in_flight=command.call, creates_sent=1), [command]


# ---- the one table --------------------------------------------------------------------------

S = State
_WAITING = (S.CREATE_UNKNOWN, S.SHOWING, S.DELETING, S.WATCHING, S.GRACE, S.CANCELLING, S.CAPTURING)
_MONEY_BACK = (S.REVERTING, S.CANCELLING, S.REFUNDING)
_PAID_EXITS = (S.VENDING, *_MONEY_BACK, S.HELD)  # HELD/money back: restart, too late, anomaly
_UNPAID_ENDS = (S.CANCELLED, S.EXPIRED, S.FAILED, S.REFUNDED, S.HELD)
_TICK_TARGETS = {S.SHOWING: (S.DELETING,), S.DELETING: (S.GRACE,), S.WATCHING: (S.GRACE,)}
_RECOVER_TARGETS = {
    S.CREATING: (S.CREATE_UNKNOWN,),
    S.SHOWING: (S.DELETING,),
    S.VENDING: (S.REVERTING, S.CANCELLING, S.REFUNDING, S.HELD),
    S.WATCHING: (S.DELETING, S.CREATE_UNKNOWN),
}

TABLE: tuple[Row, ...] = (
    Row(S.CREATING, QrCreated, on_created, (S.SHOWING, S.DELETING)),
    Row(S.CREATING, CallFailed, on_create_failed, (S.CREATE_UNKNOWN, S.FAILED)),
    Row(S.CREATING, CancelPressed, on_cancel_early, ()),
    Row(S.CREATING, Ticked, on_tick_nothing, ()),
    Row(
        S.CREATE_UNKNOWN,
        StatusPolled,
        on_polled_unknown_create,
        (S.CANCELLING, S.FAILED, *_PAID_EXITS),
    ),
    Row(S.CREATE_UNKNOWN, CallFailed, on_poll_failed_unknown_create, (S.CANCELLING, S.HELD)),
    Row(S.CREATE_UNKNOWN, CancelPressed, on_cancel_early, ()),
    Row(S.SHOWING, StatusPolled, on_polled_showing, (S.DELETING, *_PAID_EXITS)),
    Row(S.SHOWING, CallFailed, on_poll_failed_showing, (S.DELETING,)),
    Row(S.SHOWING, CancelPressed, on_cancel_showing, (S.DELETING,)),
    Row(S.DELETING, QrDeleted, on_deleted, (S.GRACE,)),
    Row(S.DELETING, CallFailed, on_delete_failed, (S.GRACE, S.WATCHING, *_UNPAID_ENDS)),
    Row(S.DELETING, StatusPolled, on_polled_deleting, (*_UNPAID_ENDS, *_PAID_EXITS)),
    Row(S.WATCHING, StatusPolled, on_polled_watching, (*_UNPAID_ENDS, *_PAID_EXITS)),
    Row(S.WATCHING, CallFailed, on_poll_failed_deleting, _UNPAID_ENDS),
    Row(S.GRACE, StatusPolled, on_polled_grace, (*_UNPAID_ENDS, *_PAID_EXITS)),
    Row(S.GRACE, CallFailed, on_poll_failed_grace, _UNPAID_ENDS),
    Row(S.CANCELLING, PaymentCancelled, on_cancelled, (S.CANCELLED, S.FAILED, S.REFUNDED, S.HELD)),
    Row(S.CANCELLING, StatusPolled, on_polled_cancelling, (S.REFUNDED, S.REFUNDING, S.HELD)),
    Row(
        S.CANCELLING,
        CallFailed,
        on_cancel_failed,
        (S.CANCELLED, S.FAILED, S.REFUNDED, S.REFUNDING, S.WATCHING, S.HELD),
    ),
    Row(S.VENDING, VendFinished, on_vend_finished, (S.CAPTURING, S.SUCCEEDED, *_MONEY_BACK)),
    Row(S.VENDING, Ticked, on_tick_nothing, ()),
    Row(S.CAPTURING, Captured, on_captured, (S.SUCCEEDED,)),
    Row(S.CAPTURING, CallFailed, on_capture_failed, (S.SUCCEEDED, S.HELD)),
    Row(S.CAPTURING, StatusPolled, on_polled_capturing, (S.SUCCEEDED,)),
    Row(S.REVERTING, Reverted, on_reverted, (S.REFUNDED,)),
    Row(S.REVERTING, StatusPolled, on_polled_reverting, (S.REFUNDED, S.HELD)),
    Row(S.REVERTING, CallFailed, on_revert_failed, (S.HELD,)),
    Row(S.REVERTING, Ticked, on_tick, (S.HELD,)),
    Row(S.REFUNDING, RefundAccepted, on_refund_accepted, (S.REFUNDED,)),
    Row(S.REFUNDING, CallFailed, on_refund_failed, (S.HELD,)),
    Row(S.REFUNDING, Ticked, on_tick, (S.HELD,)),
    Row(S.HELD, AttendantSettled, on_settled, (S.REFUNDED, S.SUCCEEDED, S.CAPTURING)),
    Row(S.HELD, AttendantReleased, on_released, (S.REVERTING, S.DELETING, S.CANCELLING, S.GRACE)),
    *(Row(s, Ticked, on_tick, _TICK_TARGETS.get(s, (S.HELD,))) for s in _WAITING),
    *(
        Row(s, Recovered, on_recovered, _RECOVER_TARGETS.get(s, ()))
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
    if isinstance(event, AttendantReleased) and not releasable(sale):
        return False  # paid in full: the attendant's refund gives it back, not the machine
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


def step(sale: Sale, event: Event, now: float | Now) -> Result:
    """Apply one event at `now` (a `Now`, or one float for both clocks). Raises
    `EventNotAccepted` (sale unchanged) for an event out of place."""
    if not accepts(sale, event):
        raise EventNotAccepted(
            f"{type(event).__name__} not accepted in {sale.state} (in flight: {sale.in_flight})"
        )
    if isinstance(event, StatusPolled):
        event = checked(sale, event)  # an answer about another sale is an anomaly
    row = _INDEX[(sale.state, type(event))]
    anomaly = isinstance(event, CallFailed) and event.failure is Failure.ANOMALY
    handler = on_anomaly if anomaly else row.handler
    after, commands = handler(sale, event, as_now(now))
    allowed = (*row.targets, S.HELD, S.DELETING, S.CANCELLING) if anomaly else row.targets
    if after.state is not sale.state and after.state not in allowed:
        raise AssertionError(f"{handler.__name__} moved {sale.state} -> {after.state}")
    return after, commands


def mermaid() -> str:
    """The state diagram, generated from TABLE (docs/money-safety.md embeds this text)."""
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


__all__ = [
    "TABLE",
    "EventNotAccepted",
    "Row",
    "accepts",
    "cancel_cutoff_at",
    "mermaid",
    "new_sale",
    "step",
]
