"""One vending-machine customer, end to end and without wall time: the real sale machine
(kiosk.sale), the real reader machine (kiosk.hardware.mdb), the scripted vending machine, and a
small model of PayPay (payments that happen when the customer pays, answers that get lost).
The kiosk may crash (all memory lost, the journal kept) and restart. Used by the property test.

The world is the worker and the feeder in miniature: each sale step is "journaled" (kept in
`journal`) before its commands run; a vend blocks the worker until the reader answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from kiosk.domain import PaymentStatus
from kiosk.hardware.mdb import lines
from kiosk.hardware.mdb.feeder import description
from kiosk.hardware.mdb.machine import new_slot, next_due_at
from kiosk.hardware.mdb.machine import step as reader_step
from kiosk.hardware.mdb.model import (
    Abandoned,
    Answer,
    Bound,
    Offer,
    Opened,
    Rules,
    Send,
    Slot,
    VendAsked,
    Withdraw,
)
from kiosk.hardware.mdb.model import (
    Event as ReaderEvent,
)
from kiosk.hardware.mdb.model import (
    Ticked as ReaderTicked,
)
from kiosk.sale.machine import accepts, new_sale
from kiosk.sale.machine import step as sale_step
from kiosk.sale.model import (
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
    StatusPolled,
    Ticked,
    Timing,
    Vend,
    VendFinished,
)
from kiosk.sale.model import (
    Event as SaleEvent,
)
from kiosk.simulator.vmc import Quirks, Script, Vmc

T0 = 1_790_000_000.0  # daytime JST: a plain payment is cancelled, not refunded
MONEY_BACK = (CancelPayment, Refund, Revert)
TIMING = Timing(qr_timeout_s=120, poll_interval_s=4, grace_s=8, grace_poll_s=2, retry_s=2)


@dataclass(frozen=True)
class Plan:
    script: Script
    quirks: Quirks = field(default_factory=Quirks)
    preauth: bool = False
    pay_after_s: float | None = 2.0  # after the QR shows
    screen_cancel_s: float | None = None  # the customer presses cancel on the screen
    lost: tuple[bool, ...] = ()  # per PayPay call, in order: the answer is lost (then none)
    crash_at_s: float | None = None
    restart_after_s: float = 3.0
    credit_yen: int = 500


@dataclass
class Truth:
    """What PayPay really did for one merchantPaymentId."""

    amount_yen: int
    preauth: bool
    pay_at: float | None = None
    deleted_at: float | None = None
    status: PaymentStatus = PaymentStatus.CREATED
    captured_yen: int | None = None

    def settle(self, now: float) -> None:
        if self.status is not PaymentStatus.CREATED or self.pay_at is None or self.pay_at > now:
            return
        if self.deleted_at is None or self.pay_at < self.deleted_at:
            self.status = PaymentStatus.AUTHORIZED if self.preauth else PaymentStatus.COMPLETED

    @property
    def paid(self) -> bool:
        return self.status in (PaymentStatus.COMPLETED, PaymentStatus.AUTHORIZED)


@dataclass
class World:
    plan: Plan
    now: float = 0.0
    rules: Rules = field(init=False)
    slot: Slot = field(init=False)
    vmc: Vmc = field(init=False)
    journal: dict[str, Sale] = field(default_factory=dict)  # survives a crash
    truth: dict[str, Truth] = field(default_factory=dict)
    up: bool = True
    bound: tuple[int, str] | None = None
    vending: str | None = None  # the sale whose Vend waits for the reader's answer
    approvals: dict[str, int] = field(default_factory=dict)  # C,VEND sent per sale
    unpaid_approvals: list[str] = field(default_factory=list)
    paid_seen_at: dict[str, float] = field(default_factory=dict)
    failed_at: dict[str, float] = field(default_factory=dict)  # vend answered "not vended"
    approved_at: dict[str, float] = field(default_factory=dict)
    answered_at: dict[str, float] = field(default_factory=dict)
    money_back_at: dict[str, float] = field(default_factory=dict)
    credit_begun: bool = False
    vended_for: set[str] = field(default_factory=set)  # the machine vended for this sale
    restarted_at: float | None = None
    _calls: int = 0
    _plan_times: list[tuple[float, str]] = field(default_factory=list)
    _sales: int = 0

    def __post_init__(self) -> None:
        self.rules = Rules(credit_first=self.plan.script.credit, max_price_yen=5_000)
        self.slot = new_slot(self.rules)
        self.vmc = Vmc(self.plan.script, self.plan.quirks)
        if self.plan.crash_at_s is not None:
            self._plan_times += [(self.plan.crash_at_s, "crash")]
            self._plan_times += [(self.plan.crash_at_s + self.plan.restart_after_s, "restart")]
        self.reader(Opened())

    # ---- the reader side ------------------------------------------------------------------

    def reader(self, event: ReaderEvent) -> None:
        self.slot, commands = reader_step(self.slot, event, self.now)
        for command in commands:
            if isinstance(command, Send):
                if command.line.startswith("C,VEND,"):
                    self._approving()
                self.vmc.hear(command.line, self.now)
            elif isinstance(command, Offer):
                self._offer(command)
            elif isinstance(command, Withdraw):
                if self.bound is not None and self.bound[0] == command.selection:
                    self.sale_event(self.bound[1], CancelPressed("machine"))
            elif isinstance(command, Answer):
                self._answered(command)

    def _approving(self) -> None:
        mpid = self.slot.merchant_payment_id or "?"
        self.approvals[mpid] = self.approvals.get(mpid, 0) + 1
        self.approved_at.setdefault(mpid, self.now)
        truth = self.truth.get(mpid)
        sale = self.journal.get(mpid)
        if truth is None or not truth.paid or sale is None or not sale.paid:
            self.unpaid_approvals.append(mpid)

    def _offer(self, offer: Offer) -> None:
        if self._busy():
            self.reader(Abandoned(""))
            return
        mpid = self._begin(offer.price_yen, description(offer.item))
        self.bound = (offer.selection, mpid)
        self.reader(Bound(offer.selection, mpid))

    def _answered(self, answer: Answer) -> None:
        mpid, self.vending = self.vending, None
        if mpid is None:
            return
        self.answered_at[mpid] = self.now
        if answer.ok:
            self.vended_for.add(mpid)
        else:
            self.failed_at.setdefault(mpid, self.now)
        self.sale_event(mpid, VendFinished(answer.ok, answer.detail, answer.amount_yen))

    # ---- the sale side (the worker) -------------------------------------------------------

    def _busy(self) -> bool:
        return not self.up or any(not s.finished for s in self.journal.values())

    def _begin(self, amount_yen: int, text: str) -> str:
        self._sales += 1
        mpid = f"K1-{self._sales:04d}"
        sale, commands = new_sale(
            mpid, amount_yen, text, preauth=self.plan.preauth, now=T0 + self.now, timing=TIMING
        )
        self.truth[mpid] = Truth(amount_yen, self.plan.preauth)
        self.journal[mpid] = sale
        self._run(mpid, commands)
        return mpid

    def sale_event(self, mpid: str, event: SaleEvent) -> None:
        sale = self.journal[mpid]
        if not accepts(sale, event):
            return
        after, commands = sale_step(sale, event, T0 + self.now)
        self.journal[mpid] = after
        self._run(mpid, commands)

    def _run(self, mpid: str, commands: list[Command]) -> None:
        for command in commands:
            if isinstance(command, Record):
                continue
            if isinstance(command, MONEY_BACK):
                self.money_back_at.setdefault(mpid, self.now)
            if isinstance(command, Vend):
                self.vending = mpid  # the worker now waits for the reader's answer
                self.reader(VendAsked(mpid, command.amount_yen))
                return
            self.sale_event(mpid, self._paypay(mpid, command))  # type: ignore[arg-type]

    def _paypay(self, mpid: str, command: CallCommand) -> SaleEvent:
        truth = self.truth[mpid]
        truth.settle(self.now)
        lost = self._calls < len(self.plan.lost) and self.plan.lost[self._calls]
        self._calls += 1
        answer = self._apply(truth, command)
        if lost and not isinstance(answer, CallFailed):
            return CallFailed(command.call, Failure.UNKNOWN, "lost")
        return answer

    def _apply(self, truth: Truth, command: CallCommand) -> SaleEvent:
        if isinstance(command, CreateQr):
            return QrCreated("c-" + command.merchant_payment_id, "https://qr", T0 + self.now + 300)
        if isinstance(command, PollStatus):
            paid_at = T0 + truth.pay_at if truth.paid and truth.pay_at is not None else None
            return StatusPolled(truth.status, "P1" if truth.paid else None, paid_at)
        if isinstance(command, DeleteQr):
            if truth.paid:
                return CallFailed(Call.DELETE, Failure.ALREADY_PAID)
            truth.deleted_at = self.now if truth.deleted_at is None else truth.deleted_at
            return QrDeleted()
        if isinstance(command, CancelPayment):
            truth.deleted_at = self.now if truth.deleted_at is None else truth.deleted_at
            truth.status = PaymentStatus.CANCELED
            return PaymentCancelled()
        if isinstance(command, Refund | QueryRefund):
            truth.status = PaymentStatus.REFUNDED
            return RefundAccepted("COMPLETED")
        if isinstance(command, Capture):
            truth.status, truth.captured_yen = PaymentStatus.COMPLETED, command.amount_yen
            return Captured()
        assert isinstance(command, Revert)
        truth.status = PaymentStatus.CANCELED
        return Reverted()

    # ---- the customer, the clock, crashes -------------------------------------------------

    def _customer(self) -> None:
        for mpid, sale in self.journal.items():
            truth = self.truth[mpid]
            pay_after = self.plan.pay_after_s
            if sale.shown_at is not None and truth.pay_at is None and pay_after is not None:
                truth.pay_at = sale.shown_at - T0 + pay_after
        ready = self.up and self.slot.state.value == "ENABLED" and not self._busy()
        if self.plan.script.credit and not self.credit_begun and ready:
            self.credit_begun = True
            self._begin(self.plan.credit_yen, "Vending credit")

    def _times(self) -> list[float]:
        times = [t for t, _ in self._plan_times]
        for at in (self.vmc.next_at(), next_due_at(self.slot) if self.up else None):
            if at is not None:
                times.append(at)
        for mpid, sale in self.journal.items():
            pay_at = self.truth[mpid].pay_at
            if pay_at is not None and pay_at > self.now:
                times.append(pay_at)
            if not sale.finished and self.up and mpid != self.vending:
                times += [t - T0 for t in (sale.next_at, sale.give_up_at) if t is not None]
                if self.plan.screen_cancel_s is not None and sale.shown_at is not None:
                    times.append(sale.shown_at - T0 + self.plan.screen_cancel_s)
        return [t for t in times if t > self.now]

    def run(self, until_s: float = 600.0) -> None:
        for _ in range(20_000):
            self._customer()
            if self._at_rest():
                return
            due = self.vmc.next_at()
            if due is None or due > self.now:  # else: lines the machine wrote just now
                times = self._times()
                if not times:
                    return
                self.now = min(times)
            if self.now > until_s:
                return
            self._turn()
        raise AssertionError("the world never came to rest")

    def _at_rest(self) -> bool:
        """Nothing left that could still change the outcome."""
        idle_reader = self.slot.state.value in ("ENABLED", "DISABLED") and not self.slot.waiting
        return (
            self.up
            and idle_reader
            and not self._plan_times
            and self.vmc.next_at() is None
            and all(s.finished for s in self.journal.values())
            and (self.credit_begun or not self.plan.script.credit)
        )

    def _turn(self) -> None:
        for when, what in [p for p in self._plan_times if p[0] <= self.now]:
            self._plan_times.remove((when, what))
            self._crash() if what == "crash" else self._restart()
        for raw in self.vmc.due(self.now):
            if self.up:
                self.reader(lines.parse(raw.encode("ascii") + b"\n"))
        if not self.up:
            return
        self.reader(ReaderTicked())
        for mpid, sale in list(self.journal.items()):
            if sale.finished or mpid == self.vending:
                continue
            cancel_s = self.plan.screen_cancel_s
            shown = sale.shown_at
            if cancel_s is not None and shown is not None and self.now >= shown - T0 + cancel_s:
                self.sale_event(mpid, CancelPressed("customer"))
            self.sale_event(mpid, Ticked())
            if self.journal[mpid].paid and mpid not in self.paid_seen_at:
                self.paid_seen_at[mpid] = self.now
        if self.bound is not None and self.journal[self.bound[1]].finished:
            self.reader(Abandoned(self.bound[1]))
            self.bound = None

    def _crash(self) -> None:
        """SIGKILL: memory gone (the reader, the binding, a vend waiting), the journal kept."""
        self.up, self.bound, self.vending = False, None, None

    def _restart(self) -> None:
        self.up, self.restarted_at = True, self.now
        self.slot = new_slot(self.rules)
        self.reader(Opened())
        for mpid, sale in list(self.journal.items()):
            if not sale.finished:
                self.sale_event(mpid, Recovered("refund"))


def reset_plan(plan: Plan, **changes: object) -> Plan:
    return replace(plan, **changes)  # type: ignore[arg-type]
