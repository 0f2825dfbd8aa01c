"""The cashless reader as a pure state machine: what the kiosk says to the vending machine.

Why pure (like kiosk.sale): every money rule of the MDB slot sits in one table that tests drive
line by line and hypothesis drives through thousands of sessions, with time as an argument.
The driver (kiosk.hardware.mdb.driver) only moves lines and events in and out.

Invariants:
- `C,VEND` (approve) is sent only for a payment the sale engine confirmed (`VendAsked`, which
  the engine sends only after PayPay said COMPLETED or AUTHORIZED), only for the selection that
  payment was made for (same sale id, same price) and at most once per payment;
- credit first: `C,START` only after the authorisation is confirmed and only from ENABLED (never
  mid-vend or mid-session); a VEND REQUEST above the credit is denied;
- every `VendAsked` gets exactly one `Answer`; every waiting state has a deadline; past it the
  reader denies or ends the session and answers "not vended", so the engine refunds/reverts;
- after a machine reset (INACTIVE) or a lost link the reader re-configures and abandons what
  was in progress: an approved vend without its result is answered "not vended" (the sale is
  refunded: the customer may have the goods too, which costs the operator, never the customer);
- an event a state does not accept raises `EventNotAccepted` and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from kiosk.domain import MAX_AMOUNT_YEN
from kiosk.hardware.mdb import lines
from kiosk.hardware.mdb.lines import (
    Acked,
    ReaderStatus,
    Status,
    Unknown,
    VendCancelled,
    VendFailed,
    VendRequested,
    VendSucceeded,
    Version,
)
from kiosk.hardware.mdb.model import (
    BUSY,
    LIVE,
    Abandoned,
    Answer,
    Bound,
    Command,
    Event,
    EventNotAccepted,
    Handler,
    LinkLost,
    Note,
    Offer,
    Opened,
    R,
    Reader,
    Result,
    Rules,
    Send,
    Shutdown,
    Slot,
    Ticked,
    VendAsked,
    Withdraw,
)


def new_slot(rules: Rules) -> Slot:
    return Slot(rules=rules)


# ---- helpers ------------------------------------------------------------------------------


def _go(slot: Slot, state: Reader, now: float, after_s: float | None = None, **kw: object) -> Slot:
    deadline = None if after_s is None else now + after_s
    return replace(slot, state=state, deadline_at=deadline, **kw)  # type: ignore[arg-type]


def _idle(slot: Slot, state: Reader, now: float, after_s: float | None = None) -> Slot:
    """Into `state` with the selection / session forgotten."""
    return _go(
        slot, state, now, after_s,
        price=None, price_yen=0, item=None, merchant_payment_id=None,
        credit_yen=0, credit=False, waiting=False,
    )  # fmt: skip


def _config_lines(slot: Slot) -> list[Command]:
    return [Send(x) for x in (*lines.setconf_lines(slot.rules.setconf), lines.enable())]


def _configure(slot: Slot, now: float, extra: list[Command] | None = None) -> Result:
    t = slot.rules.timing
    after = _idle(slot, R.CONFIGURING, now, t.configure_s)
    after = replace(after, configured_at=now, probed_at=None)
    return after, [*(extra or []), *_config_lines(slot)]


def _abort(slot: Slot, reason: str) -> list[Command]:
    """What the kiosk must hear when the reader drops what it was doing."""
    if slot.waiting:
        return [Answer(False, reason)]
    if slot.state is R.SELECTED:
        return [Withdraw(slot.selection, reason)]
    return []


def _end(slot: Slot, now: float, reason: str, *, stop: bool = True) -> Result:
    """Drop the selection/session: tell the kiosk, deny/close with C,STOP, wait for ENABLED."""
    told = _abort(slot, reason)
    sent: list[Command] = [Send(lines.stop())] if stop else []
    return _idle(slot, R.ENDING, now, slot.rules.timing.end_s), [*told, *sent, Note(reason)]


def _price_yen(slot: Slot, price: str) -> int | None:
    yen = lines.to_yen(price, slot.rules.yen_per_unit)
    if yen is None or not 0 < yen <= min(slot.rules.max_price_yen, MAX_AMOUNT_YEN):
        return None
    return yen


# ---- the link -----------------------------------------------------------------------------


def on_opened(slot: Slot, ev: Event, now: float) -> Result:
    return _configure(replace(slot, heard_at=now), now)


def on_link_lost(slot: Slot, ev: Event, now: float) -> Result:
    assert isinstance(ev, LinkLost)
    told = _abort(slot, f"MDB link lost: {ev.reason}")
    return _idle(slot, R.OFFLINE, now), [*told, Note(f"link lost: {ev.reason}")]


def on_shutdown(slot: Slot, ev: Event, now: float) -> Result:
    told = _abort(slot, "kiosk shutting down")
    sent = [Send(lines.stop())] if slot.state in BUSY else []
    if slot.state is not R.OFFLINE:
        sent.append(Send(lines.disable()))
    return _idle(slot, R.STOPPED, now), [*told, *sent]


def on_heard(slot: Slot, ev: Event, now: float) -> Result:
    """r,ACK, c,1 / c,0, v,...: the HAT is alive. In CONFIGURING, the HAT took our lines."""
    if slot.state is R.CONFIGURING:
        return _go(slot, R.DISABLED, now), []
    return slot, []


def on_unknown(slot: Slot, ev: Event, now: float) -> Result:
    assert isinstance(ev, Unknown)
    return slot, [Note(f"ignored line {ev.line!r}: {ev.why}")]


def on_tick(slot: Slot, ev: Event, now: float) -> Result:
    t = slot.rules.timing
    if slot.state in (R.OFFLINE, R.STOPPED):
        return slot, []
    if slot.probed_at is not None and now - slot.probed_at >= t.configure_s:
        told = [*_abort(slot, "HAT silent"), Note("HAT silent: reconfiguring")]
        return _configure(slot, now, told)
    if slot.deadline_at is not None and now >= slot.deadline_at:
        return _TIMEOUTS[slot.state](slot, now)
    quiet = slot.state in (R.DISABLED, R.ENABLED) and slot.probed_at is None
    if quiet and now - max(slot.heard_at, slot.configured_at or 0.0) >= t.quiet_s:
        # keepalive: re-send the configuration (restores a HAT that was reset); idempotent
        return replace(slot, probed_at=now), _config_lines(slot)  # (inferred: C,1 when enabled)
    return slot, []


def _configure_again(slot: Slot, now: float) -> Result:
    return _configure(slot, now, [Note("HAT did not answer the configuration")])


def _selection_timeout(slot: Slot, now: float) -> Result:
    return _end(slot, now, "no payment in time")


def _start_timeout(slot: Slot, now: float) -> Result:
    return _end(slot, now, "the machine did not open the session")


def _session_timeout(slot: Slot, now: float) -> Result:
    return _end(slot, now, "no selection in time")


def _vend_timeout(slot: Slot, now: float) -> Result:
    return _end(slot, now, "no vend result in time")


def _ending_timeout(slot: Slot, now: float) -> Result:
    return _idle(slot, R.ENABLED, now), [Note("the machine did not close the session")]


_TIMEOUTS: dict[Reader, Callable[[Slot, float], Result]] = {
    R.CONFIGURING: _configure_again,
    R.SELECTED: _selection_timeout,
    R.STARTING: _start_timeout,
    R.SESSION: _session_timeout,
    R.VENDING: _vend_timeout,
    R.ENDING: _ending_timeout,
}


# ---- the machine's reader status ----------------------------------------------------------


def on_status(slot: Slot, ev: Event, now: float) -> Result:
    assert isinstance(ev, Status)
    s, state = ev.status, slot.state
    if s is ReaderStatus.INACTIVE:
        return _inactive(slot, now)
    if s is ReaderStatus.DISABLED:
        told = _abort(slot, "the machine disabled the reader")
        return _idle(slot, R.DISABLED, now), [*told, *([Note("disabled")] if told else [])]
    if s is ReaderStatus.ENABLED:  # no session (repeated READER ENABLE is harmless)
        if state in (R.STARTING, R.ENABLED):  # STARTING: the machine has not taken it yet
            return slot, []
        told = _abort(slot, "the machine ended the session")
        return _idle(slot, R.ENABLED, now), told
    # IDLE: a session is open
    if state is R.STARTING:
        return _go(slot, R.SESSION, now, slot.rules.timing.session_s), []
    if state in (R.SESSION, R.VENDING, R.ENDING):
        return slot, []
    if state is R.SELECTED:  # the machine left the vend (always-idle cancel)
        return _end(slot, now, "the machine cancelled the selection")
    return _end(slot, now, "a session the kiosk did not open")


def _inactive(slot: Slot, now: float) -> Result:
    """The machine reset (or has not set us up yet): drop everything, re-send our setup."""
    if slot.state in (R.CONFIGURING, R.DISABLED):
        return _go(slot, R.DISABLED, now), []
    told = _abort(slot, "the machine reset")
    recent = slot.configured_at is not None and now - slot.configured_at < (
        slot.rules.timing.reconfigure_min_s
    )
    if recent:  # a RESET/SETUP loop: our setup is fresh, wait for the machine
        return _idle(slot, R.DISABLED, now), [*told, Note("machine reset again")]
    return _configure(slot, now, [*told, Note("machine reset: reconfiguring")])


# ---- the machine's vend lines -------------------------------------------------------------


def on_vend_requested(slot: Slot, ev: Event, now: float) -> Result:
    assert isinstance(ev, VendRequested)
    state, t = slot.state, slot.rules.timing
    yen = _price_yen(slot, ev.price)
    if state is R.SELECTED:
        if (ev.price, ev.item) == (slot.price, slot.item):
            return slot, []  # the machine repeats its request
        return _end(slot, now, "the machine changed the selection")
    if state in (R.SESSION, R.STARTING):
        if yen is None or yen > slot.credit_yen:
            return _end(slot, now, f"price {ev.price} for item {ev.item} not within the credit")
        vending = _go(slot, R.VENDING, now, t.vend_s, price=ev.price, price_yen=yen, item=ev.item)
        return vending, [Send(lines.approve(ev.price))]
    # ENDING too: a machine that never closes the session asks for the next selection in it
    if state in (R.ENABLED, R.ENDING) and not slot.rules.credit_first:
        if yen is None:
            return _end(slot, now, f"price {ev.price} for item {ev.item} refused")
        selection = slot.selection + 1
        chosen = _go(
            slot, R.SELECTED, now, t.selection_s,
            selection=selection, price=ev.price, price_yen=yen, item=ev.item,
            merchant_payment_id=None,
        )  # fmt: skip
        return chosen, [Offer(selection, yen, ev.item)]
    if state is R.VENDING:
        return slot, [Note("vend request during a vend ignored")]
    # ENABLED in credit first (pay on the screen first), DISABLED, CONFIGURING, ENDING: deny
    return slot, [Send(lines.stop()), Note(f"vend request denied in {state.value}")]


def on_vend_succeeded(slot: Slot, ev: Event, now: float) -> Result:
    if slot.state is not R.VENDING:
        return slot, [Note(f"vend success not asked for in {slot.state.value}")]
    answer = Answer(True, "vended", slot.price_yen, slot.item)
    ended, commands = _end(replace(slot, waiting=False), now, "vended", stop=slot.credit)
    return ended, [answer, *commands]


def on_vend_failed(slot: Slot, ev: Event, now: float) -> Result:
    assert isinstance(ev, VendFailed)
    if slot.state in (R.VENDING, R.SELECTED, R.STARTING, R.SESSION):
        stop = slot.credit or slot.state is not R.VENDING
        return _end(slot, now, f"machine error {ev.detail}: not vended", stop=stop)
    return slot, [Note(f"machine error {ev.detail} in {slot.state.value}")]


def on_vend_cancelled(slot: Slot, ev: Event, now: float) -> Result:
    if slot.state in (R.SELECTED, R.STARTING, R.SESSION):
        return _end(slot, now, "the machine cancelled")
    return slot, [Note(f"vend cancel ignored in {slot.state.value}")]


# ---- the kiosk's side ---------------------------------------------------------------------


def on_bound(slot: Slot, ev: Event, now: float) -> Result:
    assert isinstance(ev, Bound)
    fresh = slot.state is R.SELECTED and slot.selection == ev.selection
    if fresh and slot.merchant_payment_id is None:
        return replace(slot, merchant_payment_id=ev.merchant_payment_id), []
    return slot, [Note(f"sale {ev.merchant_payment_id} bound to a stale selection")]


def on_vend_asked(slot: Slot, ev: Event, now: float) -> Result:
    assert isinstance(ev, VendAsked)
    t, mpid = slot.rules.timing, ev.merchant_payment_id
    if slot.waiting:
        return slot, [Answer(False, "another vend is in progress")]
    if slot.rules.credit_first:
        if slot.state is not R.ENABLED:
            return slot, [Answer(False, f"reader not ready ({slot.state.value})")]
        funds = lines.from_yen(ev.amount_yen, slot.rules.yen_per_unit)
        starting = _go(
            slot, R.STARTING, now, t.start_s,
            merchant_payment_id=mpid, credit_yen=ev.amount_yen, credit=True, waiting=True,
        )  # fmt: skip
        return starting, [Send(lines.start_session(funds))]
    ours = slot.state is R.SELECTED and slot.merchant_payment_id == mpid
    if not ours or ev.amount_yen != slot.price_yen or slot.price is None:
        return slot, [Answer(False, "the machine no longer waits for this payment")]
    vending = _go(slot, R.VENDING, now, t.vend_s, waiting=True)
    return vending, [Send(lines.approve(slot.price))]


def on_abandoned(slot: Slot, ev: Event, now: float) -> Result:
    assert isinstance(ev, Abandoned)
    mine = slot.merchant_payment_id in (ev.merchant_payment_id, None)
    if slot.state is R.SELECTED and mine and not slot.waiting:
        return _end(replace(slot, state=R.ENDING), now, "the kiosk's sale ended unpaid")
    return slot, []


def on_stopped(slot: Slot, ev: Event, now: float) -> Result:
    if isinstance(ev, VendAsked):
        return slot, [Answer(False, "the reader is shut down")]
    return slot, []


# ---- the table ----------------------------------------------------------------------------

HAT_ROWS: dict[type, Handler] = {
    Status: on_status,
    VendRequested: on_vend_requested,
    VendSucceeded: on_vend_succeeded,
    VendFailed: on_vend_failed,
    VendCancelled: on_vend_cancelled,
    Acked: on_heard,
    Version: on_heard,
    Unknown: on_unknown,
}
KIOSK_ROWS: dict[type, Handler] = {
    Ticked: on_tick,
    Bound: on_bound,
    VendAsked: on_vend_asked,
    Abandoned: on_abandoned,
    Shutdown: on_shutdown,
    LinkLost: on_link_lost,
}


def _table() -> dict[tuple[Reader, type], Handler]:
    table: dict[tuple[Reader, type], Handler] = {}
    for state in LIVE:
        table.update({(state, kind): h for kind, h in (HAT_ROWS | KIOSK_ROWS).items()})
    offline = {k: h for k, h in KIOSK_ROWS.items() if k is not LinkLost}
    table.update({(R.OFFLINE, kind): h for kind, h in offline.items()})
    table[(R.OFFLINE, Opened)] = on_opened
    for kind in (*HAT_ROWS, *KIOSK_ROWS, Opened):
        table[(R.STOPPED, kind)] = on_stopped
    return table


TABLE = _table()


def accepts(slot: Slot, event: Event) -> bool:
    return (slot.state, type(event)) in TABLE


def step(slot: Slot, event: Event, now: float) -> Result:
    """The reader after `event` at monotonic time `now`, and what to do about it."""
    handler = TABLE.get((slot.state, type(event)))
    if handler is None:
        raise EventNotAccepted(slot.state, event)
    if isinstance(event, HAT_MESSAGES):
        slot = replace(slot, heard_at=now, probed_at=None)
    return handler(slot, event, now)


HAT_MESSAGES = tuple(HAT_ROWS)


def next_due_at(slot: Slot) -> float | None:
    """When `Ticked` next changes something (a deadline, a keepalive, a silent HAT)."""
    t = slot.rules.timing
    times = [] if slot.deadline_at is None else [slot.deadline_at]
    if slot.probed_at is not None:
        times.append(slot.probed_at + t.configure_s)
    elif slot.state in (R.DISABLED, R.ENABLED):
        times.append(max(slot.heard_at, slot.configured_at or 0.0) + t.quiet_s)
    return min(times) if times else None
