"""How a sale moves: the call each waiting state makes, its deadline, and the few moves every
transition is built from (enter a state and send its call, wait, retry with a capped backoff,
end, hold for the attendant). Pure: no I/O, no clock, no randomness.

Deadlines: `budget_s` gives each waiting state its time on the monotonic clock (`now.mono`);
backoff never exceeds one poll interval, so the first call after an outage comes within one
poll interval of the network's return.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from kiosk.domain import JST
from kiosk.sale.model import (
    CallCommand,
    CancelPayment,
    Capture,
    Command,
    DeleteQr,
    Failure,
    Now,
    PollStatus,
    QueryRefund,
    Record,
    Refund,
    Revert,
    Sale,
    State,
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


def call_for(sale: Sale) -> CallCommand:
    mpid = sale.merchant_payment_id
    state = sale.state
    if state in (State.CREATE_UNKNOWN, State.SHOWING, State.GRACE, State.WATCHING):
        return PollStatus(mpid)
    if state is State.DELETING:  # after an unproven delete: look before deleting again
        assert sale.code_id is not None
        return PollStatus(mpid) if sale.verify else DeleteQr(sale.code_id)
    if state is State.CANCELLING:  # after a refused cancel of a payment: look first
        return PollStatus(mpid) if sale.verify else CancelPayment(mpid)
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


def budget_s(sale: Sale, state: State, now: Now) -> float | None:
    """How long `state` may wait for a proven answer before it escalates."""
    t = sale.timing
    if state in (State.DELETING, State.WATCHING):
        # until the code has surely expired, even with our clock off by the most the clock
        # guard allows: PayPay's expiryDate, or (a create whose answer was lost) the default
        # validity from our requestedAt. One instant on the wall clock, so no restart or
        # re-entry moves it later
        expiry = sale.expiry_mono_at
        if expiry is None and state is State.WATCHING:
            expiry = now.mono + (sale.created_at + t.code_lifetime_s - now.wall)
        if expiry is not None:
            return max(expiry - now.mono + t.skew_margin_s + t.poll_interval_s, 0.0)
    if state is State.GRACE and sale.already_paid:
        return t.already_paid_s
    if state in (State.SHOWING, State.CREATING, State.VENDING):
        return None  # the QR timeout, the client's timeout and the vend timeout bound these
    return t.confirm_s


def issue(sale: Sale, extra: list[Command] | None = None) -> Result:
    command = call_for(sale)
    return replace(sale, in_flight=command.call, next_at=None), [*(extra or []), command]


def enter(
    sale: Sale, state: State, now: Now, extra: list[Command] | None = None, **changes: object
) -> Result:
    """Move to a waiting state, start its deadline, and send its call at once."""
    moved = replace(sale, state=state, retries=0, verify=False, **changes)  # type: ignore[arg-type]
    budget = budget_s(moved, state, now)
    return issue(with_deadline(moved, budget, now), extra)


def with_deadline(sale: Sale, budget: float | None, now: Now, *, resumed: bool = False) -> Sale:
    """The state's deadline on both clocks: monotonic to keep it, wall to carry it across a
    restart (`resumed_budget_s`); a resumed state keeps its first wall deadline, so restarts
    never move it later."""
    if budget is None:
        return replace(sale, deadline_at=None, deadline_wall_at=None)
    wall = sale.deadline_wall_at if resumed and sale.deadline_wall_at is not None else None
    return replace(sale, deadline_at=now.mono + budget, deadline_wall_at=wall or now.wall + budget)


def resumed_budget_s(sale: Sale, state: State, now: Now) -> float | None:
    """After a restart: the state's budget, but never past the deadline set before it (on the
    wall clock, give or take the clock guard's margin), so restarts cannot wait forever."""
    budget = budget_s(sale, state, now)
    if budget is None or sale.deadline_wall_at is None:
        return budget
    left = sale.deadline_wall_at - now.wall + sale.timing.skew_margin_s
    return max(0.0, min(budget, left))


def wait(sale: Sale, at: float, **changes: object) -> Result:
    return replace(sale, in_flight=None, next_at=at, **changes), []  # type: ignore[arg-type]


def retry(sale: Sale, now: Now) -> Result:
    """Back off, but never past one poll interval: after an outage the next call comes within
    one poll interval of the network's return."""
    t = sale.timing
    delay = min(t.retry_s * 2 ** min(sale.retries, 6), t.retry_max_s, t.poll_interval_s)
    return wait(sale, now.mono + delay, retries=sale.retries + 1)


def end(sale: Sale, state: State, reason: str | None, extra: list[Command] | None = None) -> Result:
    done = replace(
        sale,
        state=state,
        in_flight=None,
        next_at=None,
        deadline_at=None,
        deadline_wall_at=None,
        end_reason=reason,
    )
    return done, [*(extra or []), Record(f"{state.value.lower()}: {reason or 'ok'}")]


def hold(sale: Sale, reason: str) -> Result:
    return end(sale, State.HELD, reason, [Record(f"ATTENTION held for the attendant: {reason}")])


def give_up_reason(sale: Sale) -> str:
    return sale.end_reason or ("cancelled" if sale.cancel_requested else "expired")


def leave_screen(sale: Sale, now: Now, reason: str) -> Result:
    """The QR leaves the screen: delete it; the vend deadline starts now."""
    left = sale.qr_left_at if sale.qr_left_at is not None else now.mono
    return enter(sale, State.DELETING, now, end_reason=reason, qr_left_at=left)
