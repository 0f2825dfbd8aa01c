"""The sale worker: the one thread that steps sales, journals them and makes every call.

Why / invariants (see also kiosk.engine.runner):
- order for every event: `step` -> `journal.save_sale` (durable) -> publish to the screen ->
  for each command: journal the intent -> call -> journal the outcome -> next event; the
  outcome, the new state and the next call's intent share one transaction (one fsync, not
  three: tap-to-QR waits for each), and the intent is still durable before its call;
- reconciliation first: every unfinished sale from the journal is fed `Recovered` and driven
  like any other until it is finished; until then no customer sale starts;
- one sale at a time on screen (`active`); others are driven in the `background`: those being
  reconciled, and those the customer has left while their outcome is still being made sure of
  (`adopt`: at once when the machine says the customer is released), so the kiosk sells
  meanwhile; reconciliation counts a sale whose customer was released as settled enough
  to sell beside it;
- ticks only journal a sale when it changed, so an idle kiosk does not write;
- only what money needs is durable: a read-only call (status poll, refund status) has no
  intent line, and when its answer changes nothing but the polling bookkeeping (in flight,
  next time, retries) nothing is written; the count and last time of such polls are kept here
  and folded into the sale's next real write. A restart then resumes from the last real
  write, exactly as if it had happened just after it (the crash test covers those points);
- supervised: a bug in one sale's step holds that sale (HELD, reason "engine_error: ...") and
  the others go on; a journal that cannot be written stops selling (JOURNAL) until a test
  write succeeds, then the journal's last durable state is reconciled (a paid sale is
  finished or given back); anything else ends `run` with `alive` False, so the UI loop stops
  feeding systemd's watchdog and the kiosk exits non-zero (ENGINE);
- intervals on the monotonic clock (`Now.mono`), records on the wall clock (`Now.wall`).
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import Enum

from kiosk.domain import Order, ReconcileSummary, SaleSettings, ServiceIssue
from kiosk.engine import reconcile
from kiosk.engine.clock import Clock, ClockGuard
from kiosk.engine.effects import Outcome, PayPayClient, execute
from kiosk.engine.journal import Journal, JournalError, Step
from kiosk.engine.refunds import RefundFollower
from kiosk.engine.retention import Retention
from kiosk.hardware.vend import Vendor
from kiosk.opa import errors
from kiosk.sale.machine import accepts, new_sale, step
from kiosk.sale.model import (
    AttendantReleased,
    AttendantSettled,
    Call,
    CancelPressed,
    Command,
    Event,
    Now,
    Record,
    Sale,
    State,
    Ticked,
    Timing,
)

log = logging.getLogger(__name__)
PROBE_S = 10.0
REFUND_SCAN_S = 1.0
RETENTION_S = 3600.0  # look for retention work this often once none is left
RETENTION_FIRST_S = 60.0  # not before the kiosk has been up a minute
JOURNAL_RETRY_S = 5.0  # while the journal cannot be written: try a write this often
Boundary = Callable[[str, Sale | None], None]  # called at each step boundary (crash test)
NETWORK_FAILURES = 2  # consecutive calls without an answer before the kiosk says "network"
QR_MAY_BE_LIVE = frozenset({State.CREATING, State.CREATE_UNKNOWN, State.SHOWING, State.DELETING})
READ_ONLY_CALLS = frozenset({Call.POLL, Call.REFUND_STATUS})  # ask; move no money, no code


@dataclass(frozen=True)
class Begin:
    merchant_payment_id: str
    order: Order
    timing: Timing


@dataclass(frozen=True)
class Cancel:
    by: str


@dataclass(frozen=True)
class Stop:
    deadline_mono: float


@dataclass(frozen=True)
class Settle:
    merchant_payment_id: str
    refunded: bool


@dataclass(frozen=True)
class Release:
    """The attendant gives back a held sale the machine settles itself (an authorisation to
    revert, or an unpaid sale to ask PayPay about again): `Runner.give_back_held`."""

    merchant_payment_id: str


@dataclass(frozen=True)
class PollNow:
    """The hub saw this sale paid (a confirmed webhook): poll it now, not at its next turn."""

    merchant_payment_id: str


Message = (
    Begin | Cancel | Stop | Settle | Release | PollNow | str
)  # str: "tick", "reconcile", "refunds"


def _no_boundary(kind: str, sale: Sale | None) -> None:
    return None


def _intent(command: Command | None) -> list[Step]:
    """The intent line of the call `command` makes: none for a note, no command, or a call
    that only reads (its answer is recorded if it changes something)."""
    if command is None or isinstance(command, Record) or command.call in READ_ONLY_CALLS:
        return []
    return [("intent", command.call, said(command))]


def said(thing: Command | Event) -> str:
    """A command or event for the step log, short: without what the row already says (the
    sale's id, the call) and with enums as their values."""
    parts = []
    for field in dataclasses.fields(thing):
        if field.name in ("merchant_payment_id", "call"):
            continue
        value = getattr(thing, field.name)
        parts.append(f"{field.name}={value.value if isinstance(value, Enum) else value!r}")
    return f"{type(thing).__name__}({', '.join(parts)})"


def _first(commands: Sequence[Command]) -> Command | None:
    return next((c for c in commands if not isinstance(c, Record)), None)


def _notes(commands: Sequence[Command]) -> list[Step]:
    return [("note", None, c.note) for c in commands if isinstance(c, Record)]


def _only_polling(sale: Sale, saved: Sale) -> bool:
    """`sale` differs from its last durable version `saved` only by read-only polling."""
    reading = (None, *READ_ONLY_CALLS)
    if sale.in_flight not in reading or saved.in_flight not in reading:
        return False
    same = replace(sale, in_flight=saved.in_flight, next_at=saved.next_at, retries=saved.retries)
    return same == saved


class Worker:
    def __init__(
        self,
        *,
        client: PayPayClient,
        journal: Journal,
        vendor: Vendor,
        settings: SaleSettings,
        clock: Clock,
        guard: ClockGuard,
        inbox: queue.Queue[Message],
        publish: Callable[[Sale], None],
        tick_pending: threading.Event,
        tick_s: float,
        boundary: Boundary | None = None,
        probe_s: float = PROBE_S,
        retention: Retention | None = None,
    ) -> None:
        self.retention = retention
        self._next_retention = clock.monotonic() + RETENTION_FIRST_S
        self.probe_s = probe_s
        self.client = client
        self.boundary = boundary or _no_boundary  # the crash test pauses (and kills) here
        self.journal = journal
        self.vendor = vendor
        self.settings = settings
        self.clock = clock
        self.guard = guard
        self.inbox = inbox
        self.publish = publish
        self.tick_pending = tick_pending
        self.tick_s = tick_s
        self.active: Sale | None = None
        self.background: dict[str, Sale] = {}
        self.before: dict[str, Sale] = {}
        self.saved: dict[str, Sale] = {}  # last durable version of each sale being driven
        self.polls: dict[str, tuple[int, float]] = {}  # quiet polls since then: count, last at
        self.reconciling = True
        self.summary: ReconcileSummary | None = None
        self.journal_failed = False
        self.journal_problem = ""  # why, in words for the log
        self.alive = True  # False once `run` ended for any reason but a clean stop
        self.fault = ""  # what ended it
        self._journal_retry_at = 0.0
        self.held = 0
        self.net_failures = 0
        self.maintenance = False
        self.stopping: Stop | None = None
        self.refunds = RefundFollower(journal, client, self._note, self.boundary)
        self._next_probe_at = 0.0
        self._next_refund_scan = 0.0
        self.loops = 0  # completed passes; tests wait on it instead of on wall time

    # ---- state the UI thread reads ----------------------------------------------------------

    def issue(self) -> ServiceIssue | None:
        if self.net_failures >= NETWORK_FAILURES:
            return ServiceIssue.NETWORK
        if self.maintenance:
            return ServiceIssue.MAINTENANCE
        if self.held:
            return ServiceIssue.HELD_SALE
        if self.reconciling:
            return ServiceIssue.MAINTENANCE
        return None

    # ---- the loop ---------------------------------------------------------------------------

    def run(self) -> None:
        try:
            self._start()
            while not self._stopped():
                try:
                    self._pass()
                except JournalError as exc:
                    self._journal_down(exc)
        except Exception as exc:  # the worker itself cannot go on: say so, loudly
            log.exception("sale worker stopped; selling stopped")
            self.fault = f"{type(exc).__name__}: {exc}"
            self.alive = False
            self._abandon()
            return
        if self.stopping is None:
            self.alive = False

    def _start(self) -> None:
        try:
            self.held = self._held_count()
            self._reconcile()
        except JournalError as exc:
            self._journal_down(exc)

    def _pass(self) -> None:
        if self.journal_failed:
            self._journal_retry()
            self._handle_messages()
        else:
            self._handle_messages()
            if not self._stopped():
                self._tick_all(self._now())
        self.loops += 1

    def _now(self) -> Now:
        return Now(mono=self.clock.monotonic(), wall=self.clock.now())

    def _journal_down(self, exc: JournalError) -> None:
        """Nothing can be recorded: stop selling, withdraw a shown QR, forget what memory
        holds. The journal's last durable state is what counts; reconciled when it is back."""
        if not self.journal_failed:
            log.error("journal cannot be written; selling stopped error=%s", exc)
        self.journal_failed, self.journal_problem = True, str(exc)
        self._abandon()
        self.active, self.background, self.before = None, {}, {}
        self.saved, self.polls = {}, {}
        self._journal_retry_at = self.clock.monotonic() + JOURNAL_RETRY_S

    def _journal_retry(self) -> None:
        if self.clock.monotonic() < self._journal_retry_at:
            return
        self._journal_retry_at = self.clock.monotonic() + JOURNAL_RETRY_S
        try:
            self.journal.record_step("-", self.clock.now(), "note", None, "journal writable")
        except JournalError:
            return
        log.warning("journal writable again; reconciling")
        self.journal_failed, self.journal_problem = False, ""
        self.held = self._held_count()
        self._reconcile()

    def _held_count(self) -> int:
        """Held sales that block selling: those whose vend was tried and not finished (the
        hardware may be jammed or the goods half out). Others are listed, not blocking."""
        return sum(1 for s in self.journal.held_sales() if s.vend_started and not s.vended)

    def _abandon(self) -> None:
        """Nothing can be recorded any more: withdraw a shown QR (best effort) and say
        "confirming"; the journal still holds the sale for reconciliation once repaired."""
        sale = self.active
        if sale is None:
            return
        if sale.code_id and not sale.paid and not sale.qr_dead:
            try:
                self.client.typed.delete_qr_code(sale.code_id)
                log.warning("unrecorded QR delete mpid=%s", sale.merchant_payment_id)
            except Exception as exc:
                log.error("QR delete failed mpid=%s error=%s", sale.merchant_payment_id, exc)
        if not sale.finished:
            self.publish(replace(sale, state=State.DELETING, cancel_requested=True))

    def _handle_messages(self) -> None:
        try:
            message = self.inbox.get(timeout=self.tick_s)
        except queue.Empty:
            return
        while True:
            if message == "tick":
                self.tick_pending.clear()
            else:
                self._handle(message)
            try:
                message = self.inbox.get_nowait()
            except queue.Empty:
                return

    def _handle(self, message: Message) -> None:
        now = self._now()
        if isinstance(message, Begin):
            self._begin(message, now)
        elif isinstance(message, Cancel):
            self._event_active(CancelPressed(message.by), now)
        elif isinstance(message, Stop):
            self.stopping = message
            self._event_active(CancelPressed("shutdown"), now)
        elif isinstance(message, Settle):
            self._settle(message.merchant_payment_id, message.refunded, now)
        elif isinstance(message, Release):
            self._attend(message.merchant_payment_id, AttendantReleased(), now)
        elif isinstance(message, PollNow):
            self._poll_now(message.merchant_payment_id, now)
        elif message == "reconcile" and not self.journal_failed:
            self._reconcile()
        elif message == "refunds" and not self.journal_failed:
            self._follow_refunds(now)

    def _poll_now(self, mpid: str, now: Now) -> None:
        """Bring a showing sale's next poll forward to now (the tick after this message runs
        it); a nudge for any other sale or state changes nothing. Only the timing moves: the
        poll's answer, as always, is what decides."""
        sale = self.active
        if (
            sale is not None
            and sale.merchant_payment_id == mpid
            and sale.state is State.SHOWING
            and sale.in_flight is None
            and sale.next_at is not None
            and sale.next_at > now.mono
        ):
            self.active = replace(sale, next_at=now.mono)

    def _stopped(self) -> bool:
        if self.stopping is None:
            return False
        if self.clock.monotonic() >= self.stopping.deadline_mono:
            return True
        sale = self.active
        return sale is None or sale.state not in QR_MAY_BE_LIVE

    def _begin(self, message: Begin, now: Now) -> None:
        order = message.order
        sale, commands = new_sale(
            message.merchant_payment_id,
            order.amount_yen,
            order.description,
            preauth=self.settings.preauth,
            now=now,
            timing=message.timing,
        )
        busy = self.active is not None or self.issue() is not None or self.journal_failed
        if busy or self.stopping is not None:
            # nothing was recorded or sent: tell the screen, no money was involved
            reason = "journal" if self.journal_failed else "busy"
            self.publish(replace(sale, state=State.FAILED, in_flight=None, end_reason=reason))
            return
        intent = _intent(_first(commands))
        try:  # the sale and its first call's intent, in one transaction, before anything is sent
            self.journal.save_sale(sale, now.wall, after=intent)
        except JournalError as exc:  # out of service first, then the screen hears of it
            self._journal_down(exc)
            self.publish(replace(sale, state=State.FAILED, in_flight=None, end_reason="journal"))
            return
        self.saved[sale.merchant_payment_id] = sale
        self.active = sale
        self.boundary("saved", sale)
        self.publish(sale)
        self._guarded(sale, lambda: self._drive(sale, commands, recorded=bool(intent)))

    def _event_active(self, event: Event, now: Now) -> None:
        sale = self.active
        if sale is None or not accepts(sale, event):
            return
        self._guarded(sale, lambda: self._feed(sale, event, now))

    def _feed(self, sale: Sale, event: Event, now: Now) -> None:
        after, commands = step(sale, event, now)
        recorded = False
        if after != sale:
            self._store(after)
            if not (isinstance(event, Ticked) and self._quiet(after)):
                recorded = self._save(after, now.wall, commands=commands)
        self._drive(after, commands, recorded)

    def _guarded(self, sale: Sale, work: Callable[[], None]) -> None:
        """Run one sale's step; a bug there holds that sale (journaled, attendant told) and
        the worker goes on with the others. A journal failure is not a bug: it propagates."""
        try:
            work()
        except JournalError:
            raise
        except Exception as exc:
            self._hold_on_fault(sale.merchant_payment_id, exc)

    def _hold_on_fault(self, mpid: str, exc: Exception) -> None:
        log.exception("sale step failed; holding the sale mpid=%s", mpid)
        sale = self._current(mpid)
        if sale is None or sale.finished:
            return
        if sale.code_id and not sale.paid and not sale.qr_dead:
            try:  # a held sale is no longer watched: its QR must not stay payable
                self.client.typed.delete_qr_code(sale.code_id)
            except Exception as delete_error:
                log.error("QR delete failed mpid=%s error=%s", mpid, delete_error)
        reason = f"engine_error: {type(exc).__name__}"
        held = replace(
            sale,
            state=State.HELD,
            in_flight=None,
            next_at=None,
            deadline_at=None,
            end_reason=reason,
        )
        self._store(held)
        self._save(held, self.clock.now(), before=[("note", None, f"ATTENTION {reason}: {exc}")])

    def _current(self, mpid: str) -> Sale | None:
        if self.active is not None and self.active.merchant_payment_id == mpid:
            return self.active
        return self.background.get(mpid) or self.journal.load_sale(mpid)

    def _tick_all(self, now: Now) -> None:
        for sale in [self.active, *self.background.values()]:
            if sale is not None and not sale.finished:
                self._guarded(sale, lambda s=sale: self._feed(s, Ticked(), now))  # type: ignore[misc]
        self._finish_reconcile(now.wall)
        if now.mono >= self._next_refund_scan:  # an idle kiosk barely reads
            self._next_refund_scan = now.mono + REFUND_SCAN_S
            self._follow_refunds(now)
        self._probe(now)
        self._retain(now.wall)

    # ---- executing commands -----------------------------------------------------------------

    def _drive(self, sale: Sale, commands: list[Command], recorded: bool = False) -> None:
        """Execute commands in order; `recorded`: the first call's intent is already durable
        (notes were written with the save that produced them)."""
        pending = [c for c in commands if not isinstance(c, Record)]
        while pending:
            command = pending.pop(0)
            assert not isinstance(command, Record)
            mpid = sale.merchant_payment_id
            intent = _intent(command)
            if intent and not recorded:
                self.journal.record_step(mpid, self.clock.now(), *intent[0])
            self.boundary(f"before-{command.call.value}", sale)
            outcome = execute(command, self.client, self.vendor, self.settings, self.clock.now())
            self.boundary(f"after-{command.call.value}", sale)
            now = self._now()
            self._note_outcome(command.call.value, outcome)
            sale, more = step(sale, outcome.event, now)
            pending.extend(c for c in more if not isinstance(c, Record))
            self._store(sale)
            if command.call in READ_ONLY_CALLS and self._quiet(sale, pending):
                count, _ = self.polls.get(mpid, (0, 0.0))
                self.polls[mpid] = (count + 1, now.wall)
                recorded = False
                continue
            lines = [("outcome", command.call, said(outcome.event))]
            notes = [c for c in more if isinstance(c, Record)]
            recorded = self._save(sale, now.wall, before=lines, commands=[*notes, *pending])

    def _quiet(self, sale: Sale, pending: Sequence[Command] = ()) -> bool:
        """A read-only poll that found nothing: counted in memory, not written (a read moves no
        money). False (write it) when anything else changed or a non-reading call is next."""
        saved = self.saved.get(sale.merchant_payment_id)
        return saved is not None and not _intent(_first(pending)) and _only_polling(sale, saved)

    def _store(self, sale: Sale) -> None:
        mpid = sale.merchant_payment_id
        if self.active is not None and self.active.merchant_payment_id == mpid:
            self.active = None if sale.finished else sale
            if sale.customer_released and not sale.finished:  # the customer is told: sell again
                self.adopt(sale)
        elif mpid in self.background:
            self.background[mpid] = sale

    def _save(
        self,
        sale: Sale,
        now: float,
        before: Sequence[Step] = (),
        commands: Sequence[Command] = (),
    ) -> bool:
        """Save (with `before` lines, the notes among `commands` and the intent of their first
        call) and publish. Returns whether that call's intent was recorded."""
        notes, intent = _notes(commands), _intent(_first(commands))
        mpid = sale.merchant_payment_id
        before, note = self._fold_polls(mpid, list(before))
        # durable before the screen or PayPay hears of it
        self.journal.save_sale(sale, now, note, before=before, after=[*notes, *intent])
        self.saved[mpid] = sale
        if sale.finished:
            self.saved.pop(mpid, None)
        self.boundary("saved", sale)
        if sale.state is State.HELD:
            log.warning("sale held for the attendant mpid=%s reason=%s", mpid, sale.end_reason)
        if sale.finished:
            self.held = self._held_count()
        # the screen takes only its own sale's news: a sale the customer left (journal outage)
        # still tells them how it ended
        self.publish(sale)
        return bool(intent)

    def _fold_polls(self, mpid: str, before: list[Step]) -> tuple[list[Step], str | None]:
        """The quiet polls since the last write, said in this write's outcome (or state) line."""
        count, last_at = self.polls.pop(mpid, (0, 0.0))
        if not count:
            return before, None
        polls = f"{count} quiet poll(s), last at {last_at:.1f}"
        if not before:
            return before, polls
        kind, call, detail = before[-1]
        return [*before[:-1], (kind, call, f"{detail} [{polls}]")], None

    # ---- reconciliation, refunds, service probes --------------------------------------------

    def _reconcile(self) -> None:
        now = self._now()
        skip = {self.active.merchant_payment_id} if self.active else set()
        skip |= set(self.background)
        for sale in reconcile.recover(self.journal, skip):
            self.before[sale.merchant_payment_id] = sale
            self.background[sale.merchant_payment_id] = sale
            self._guarded(sale, lambda s=sale: self._resume(s, now))  # type: ignore[misc]
        self.reconciling = True
        self._finish_reconcile(now.wall)

    def _resume(self, sale: Sale, now: Now) -> None:
        after, commands = reconcile.resume(sale, self.settings.on_paid_not_vended, now)
        self.background[sale.merchant_payment_id] = after
        recorded = self._save(after, now.wall, commands=commands)
        self._drive(after, commands, recorded)

    def adopt(self, sale: Sale) -> None:
        """Drive `sale` in the background from now on: a sale the customer has left (its code
        still watched) or one the attendant released. The kiosk sells meanwhile; the journal
        holds it unfinished, so a restart resumes it."""
        if self.active is not None and self.active.merchant_payment_id == sale.merchant_payment_id:
            self.active = None
        self.background[sale.merchant_payment_id] = sale

    def _finish_reconcile(self, now: float) -> None:
        """Reconciliation ends when every sale it recovered is finished; finished background
        sales the kiosk adopted outside it are then forgotten (the journal has them)."""
        recovered = {m: s for m, s in self.background.items() if m in self.before}
        # a customer-released sale (a code watched to its expiry): settled enough to sell beside
        settled = all(s.finished or s.customer_released for s in recovered.values())
        if self.reconciling and settled:
            self.summary = reconcile.summarize(
                self.before, recovered, self.journal.open_refunds(), now
            )
            for line in self.summary.lines:
                log.info("reconciled %s", line)
            self.before = {}
            self.reconciling = False
        if not self.reconciling:
            self.background = {m: s for m, s in self.background.items() if not s.finished}

    def _follow_refunds(self, now: Now) -> None:
        self.refunds.follow(now.wall)
        # a held sale refunded in full (here, or by `kiosk refund` while we were down) is done
        open_for = {r.merchant_payment_id for r in self.journal.open_refunds()}
        for sale in self.journal.held_sales():
            mpid = sale.merchant_payment_id
            if mpid not in open_for and self.journal.refundable_yen(mpid) == 0:
                self._settle(mpid, True, now)

    def _settle(self, mpid: str, refunded: bool, now: Now) -> None:
        self._attend(mpid, AttendantSettled(refunded), now)

    def _attend(self, mpid: str, event: AttendantSettled | AttendantReleased, now: Now) -> None:
        """The attendant's answer for a held sale: step it (journal first); a sale that has
        calls to make (a release; a hand-out that captures an authorisation) is then driven in
        the background like a sale the customer left. Either way it no longer blocks selling.
        Anything but a held sale that takes the event (e.g. answered twice) is ignored."""
        sale = self.journal.load_sale(mpid)
        if sale is None or not accepts(sale, event):
            log.warning("attendant's %s ignored mpid=%s", type(event).__name__, mpid)
            return

        def work() -> None:
            after, commands = step(sale, event, now)
            recorded = self._save(after, now.wall, commands=commands)
            self.held = self._held_count()
            if not after.finished:
                self.adopt(after)
                self._drive(after, commands, recorded)

        self._guarded(sale, work)

    def _retain(self, now: float) -> None:
        """Retention between sales: one small batch per idle tick while there is work (a tap
        waits for one batch at most), then a look once an hour."""
        idle = self.active is None and not self.reconciling and self.stopping is None
        idle = idle and not self.guard.wrong()  # ages are counted on the wall clock
        mono = self.clock.monotonic()
        if self.retention is None or not idle or mono < self._next_retention:
            return
        try:
            busy = self.retention.step(now)
        except OSError as exc:  # e.g. no space for an archive file: selling goes on
            log.error("retention failed; retried later error=%s", exc)
            busy = False
        self._next_retention = mono + (0.0 if busy else RETENTION_S)

    def _probe(self, now: Now) -> None:
        troubled = self.net_failures or self.maintenance or self.guard.wrong()
        if not troubled or self.active is not None or now.mono < self._next_probe_at:
            return
        # back within one poll interval of the network's return, as a sale's retries are
        self._next_probe_at = now.mono + min(self.probe_s, self.settings.poll_interval_s)
        try:
            self.client.typed.get_qr_payment_details(f"{self.settings.terminal_id}-probe")
            self._note(None)
        except Exception as exc:
            self._note(exc)

    def _note_outcome(self, call: str, outcome: Outcome) -> None:
        if call != "vend":
            self._note(outcome.error)

    def _note(self, error: Exception | None) -> None:
        """What a PayPay answer says about the network, PayPay's maintenance and our clock."""
        self.guard.note_auth(isinstance(error, errors.AuthError))
        if isinstance(error, errors.Maintenance):
            self.maintenance = True
        elif isinstance(error, errors.OutcomeUnknown | errors.TryLater):
            self.net_failures += 1
        elif error is None or isinstance(error, errors.OpaError):
            self.net_failures = 0
            self.maintenance = False
        else:
            self.net_failures += 1
