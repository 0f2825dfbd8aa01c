"""Hypothesis: the pure sale machine against hostile answer sequences (issue 11).

A model of the outside world (`World`: PayPay's ledger on the true clock, the vending machine,
the journal's disk) answers each command the machine issues, and hypothesis picks how: truly,
lost before or after PayPay applied it (timeouts, 5xx, a proxy's envelope-less 404/502),
rate-limited, refused definitely (DYNAMIC_QR_BAD_REQUEST, INVALID_PARAMS), with a status nobody
knows, or with another sale's merchantPaymentId, amount or currency. Between answers time
passes, the kiosk's wall clock steps either way, the customer pays, pays late, declines or walks
away, the journal's disk is full at a commit (the step is lost; the kiosk recovers from what
was recorded), the vend raises or hangs (goods may be out all the same), and the sale may start
just before midnight JST so that PayPay's 00:15 cancel cut-off passes mid-sale.

Checked after every step and at the end (the network heals, or never does):
- no payable code is left unwatched: a finished sale's QR can no longer be paid;
- nothing is refunded twice: money goes back at most once (refund, cancel or revert);
- a charged customer is never told "failed", "cancelled" or "expired";
- no sale waits forever: every sale finishes within a bounded time, even if PayPay never
  answers again;
- no money is kept without goods or a refund: a finished sale whose money PayPay keeps without
  goods is HELD for the attendant;
- the attendant may release a HELD sale (`AttendantReleased`) at any time: a released sale is
  never vended, and all of the above still hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from kiosk.domain import JST, PaymentStatus, Phase
from kiosk.sale.machine import accepts, cancel_cutoff_at, new_sale, step
from kiosk.sale.model import (
    PAID_STATUSES,
    AttendantReleased,
    Call,
    CallCommand,
    CallFailed,
    CancelPressed,
    Captured,
    Command,
    Event,
    Failure,
    Now,
    PaymentCancelled,
    QrCreated,
    QrDeleted,
    Record,
    Recovered,
    RefundAccepted,
    Reverted,
    Sale,
    State,
    StatusPolled,
    Ticked,
    Vend,
    VendFinished,
)
from kiosk.sale.view import phase_of

MPID = "K1-0001"
AMOUNT = 500
NOON = datetime(2026, 11, 30, 12, 0, tzinfo=JST).timestamp()
BEFORE_MIDNIGHT = datetime(2026, 11, 30, 23, 58, 30, tzinfo=JST).timestamp()
EXPIRY_S = 300.0
VEND_TIMEOUT_S = 20.0
NOT_CHARGED = frozenset({Phase.FAILED, Phase.CANCELLED, Phase.EXPIRED})
CHARGED = frozenset({PaymentStatus.COMPLETED, PaymentStatus.AUTHORIZED})
# the longest any sale may take once it is stuck: code expiry, clock margin, confirmations
SETTLE_LIMIT_S = 4 * 3600.0

ANSWERS = (
    "truth",
    "lost_after",  # applied at PayPay, the answer lost (timeout, 5xx, proxy page, 500-but-applied)
    "lost_before",  # never reached PayPay (connection refused, proxy 502 before forwarding)
    "try_later",  # 429 / not connected
    "refused",  # a definite refusal of the request (nothing applied)
    "not_allowed",  # a definite refusal in PayPay's current state (nothing applied)
    "odd",  # a status nobody knows, or an answer about another sale / amount / currency
)


@dataclass
class World:
    """PayPay's ledger for the sale (on the true clock), the vend counter, the customer."""

    preauth: bool
    code_live: bool = False
    expiry_at: float = 0.0
    status: PaymentStatus | None = None  # None: PayPay has no order for this id
    paid_at: float | None = None
    voided: bool = False  # the order was cancelled before payment: a later payment fails
    charged: bool = False  # the customer's money moved at some time
    money_back: int = 0  # refunds, cancels and reverts that returned money
    refund_ids: frozenset[str] = frozenset()
    vends: int = 0

    @property
    def keeps_money(self) -> bool:
        return self.status in CHARGED

    def payable(self, now: float) -> bool:
        live = self.code_live and self.status is PaymentStatus.CREATED and not self.voided
        return live and now < self.expiry_at

    def pay(self, now: float, *, decline: bool) -> None:
        if not self.payable(now):
            return
        self.code_live = False
        if decline:
            self.status = PaymentStatus.FAILED
            return
        self.status = PaymentStatus.AUTHORIZED if self.preauth else PaymentStatus.COMPLETED
        self.paid_at, self.charged = now, True

    def apply(self, command: CallCommand, now: float) -> Event:
        """Do what PayPay does and answer truthfully (the vend is answered by the caller)."""
        call = command.call
        if call is Call.CREATE:
            self.code_live, self.status, self.expiry_at = (
                True,
                PaymentStatus.CREATED,
                now + EXPIRY_S,
            )
            return QrCreated("04-x", "https://qr.example/x", self.expiry_at)
        if self.status is None:
            if call is Call.CANCEL:  # PayPay voids the id: a later create would fail
                self.voided = True
                return PaymentCancelled()
            return CallFailed(call, Failure.NOT_FOUND, "DYNAMIC_QR_PAYMENT_NOT_FOUND")
        if call is Call.POLL:
            payment_id = "P1" if self.paid_at is not None else None
            return StatusPolled(self.status, payment_id, self.paid_at, MPID, AMOUNT, "JPY")
        if call is Call.DELETE:
            if self.status is not PaymentStatus.CREATED:
                return CallFailed(call, Failure.ALREADY_PAID, "DYNAMIC_QR_ALREADY_PAID")
            if not self.code_live:
                return CallFailed(call, Failure.NOT_FOUND, "DYNAMIC_QR_NOT_FOUND")
            self.code_live = False
            return QrDeleted()
        return self._money(command, call, now)

    def _money(self, command: CallCommand, call: Call, now: float) -> Event:
        if call is Call.CANCEL:
            if self.keeps_money:
                assert self.paid_at is not None
                if now > cancel_cutoff_at(self.paid_at):
                    return CallFailed(call, Failure.NOT_ALLOWED, "ORDER_NOT_CANCELABLE")
                self.status, self.money_back = PaymentStatus.CANCELED, self.money_back + 1
            self.code_live, self.voided = False, True
            return PaymentCancelled()
        if call is Call.CAPTURE:
            if self.status is PaymentStatus.AUTHORIZED:
                self.status = PaymentStatus.COMPLETED
                return Captured()
            if self.status is PaymentStatus.COMPLETED:
                return CallFailed(call, Failure.ALREADY_CAPTURED, "ALREADY_CAPTURED")
            return CallFailed(call, Failure.NOT_ALLOWED, "ORDER_NOT_CAPTURABLE")
        if call is Call.REVERT:
            if self.status is PaymentStatus.AUTHORIZED:
                self.status, self.money_back = PaymentStatus.CANCELED, self.money_back + 1
                return Reverted()
            return CallFailed(call, Failure.NOT_REVERSIBLE, "ORDER_NOT_REVERSIBLE")
        refund_id = str(getattr(command, "merchant_refund_id", ""))
        if call is Call.REFUND_STATUS:
            if refund_id in self.refund_ids:
                return RefundAccepted("REFUNDED")
            return CallFailed(call, Failure.NOT_FOUND, "NO_SUCH_REFUND_ORDER")
        if refund_id in self.refund_ids:
            return CallFailed(call, Failure.DUPLICATE, "DUPLICATE_REQUEST")
        if self.status is not PaymentStatus.COMPLETED:
            return CallFailed(call, Failure.NOT_ALLOWED, "UNACCEPTABLE_OP")
        self.refund_ids |= {refund_id}
        self.status, self.money_back = PaymentStatus.REFUNDED, self.money_back + 1
        return RefundAccepted("CREATED")


def odd_answer(command: CallCommand, world: World, pick: int) -> Event:
    """A poll answer that must not be believed; other calls get an unreadable answer."""
    if command.call is not Call.POLL:
        return CallFailed(command.call, Failure.UNKNOWN, "UnreadableResponse 404")
    status = world.status or PaymentStatus.CREATED
    paid_at = world.paid_at
    payment_id = "P1" if paid_at is not None else None
    odd: tuple[Event, ...] = (
        CallFailed(Call.POLL, Failure.ANOMALY, "unknown payment status 'PENDING_REVIEW'"),
        StatusPolled(status, payment_id, paid_at, "K1-OTHER", AMOUNT, "JPY"),
        StatusPolled(status, payment_id, paid_at, MPID, AMOUNT + 1, "JPY"),
        StatusPolled(status, payment_id, paid_at, MPID, AMOUNT, "USD"),
    )
    if payment_id is not None:  # another payment's id (checkable once the sale knows its own)
        odd += (StatusPolled(status, "P-OTHER", paid_at, MPID, AMOUNT, "JPY"),)
    return odd[pick % len(odd)]


class HostileSequences(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.true_now = NOON  # PayPay's clock; the kiosk's monotonic clock runs with it
        self.start_at = NOON
        self.skew = 0.0  # the kiosk's wall clock minus true time
        self.world = World(preauth=False)
        self.sale: Sale | None = None
        self.saved: Sale | None = None  # what the journal holds (a failed commit keeps the old)
        self.pending: CallCommand | None = None
        self.disk_full = False
        self.policy = "refund"
        self.heals = True  # at the end the network heals, or PayPay never answers again
        self.released = False  # the attendant released a held sale: never vended from then on

    # ---- clocks and plumbing ------------------------------------------------------------------

    def now(self) -> Now:
        return Now(mono=self.true_now - self.start_at, wall=self.true_now + self.skew)

    def _feed(self, event: Event) -> None:
        assert self.sale is not None
        after, commands = step(self.sale, event, self.now())
        if self.disk_full:  # the commit fails: nothing is sent, the kiosk recovers from disk
            self.disk_full = False
            self._recover(self.saved)
            return
        self.sale = self.saved = after
        self._take(commands)

    def _take(self, commands: list[Command]) -> None:
        for command in commands:
            if isinstance(command, Record):
                continue
            if isinstance(command, Vend):
                assert self.world.keeps_money, "vend without PayPay holding the money"
                assert not self.released, "a released sale vended"
            assert self.pending is None, "two calls in flight"
            self.pending = command

    def _recover(self, sale: Sale | None) -> None:
        """A restart (or the journal back after a failure) from what was recorded."""
        self.pending = None
        if sale is None or sale.finished:
            self.sale = sale
            return
        self.true_now += 5
        self.sale = sale
        self._feed(Recovered(self.policy))

    # ---- rules ----------------------------------------------------------------------------

    @initialize(
        preauth=st.booleans(),
        policy=st.sampled_from(["refund", "hold"]),
        start=st.sampled_from([NOON, BEFORE_MIDNIGHT]),
        heals=st.booleans(),
    )
    def begin(self, preauth: bool, policy: str, start: float, heals: bool) -> None:
        self.world = World(preauth=preauth)
        self.heals = heals
        self.policy = policy
        self.true_now = self.start_at = start
        sale, commands = new_sale(MPID, AMOUNT, "Tea", preauth=preauth, now=self.now())
        self.sale = self.saved = sale
        self._take(commands)

    @rule(how=st.sampled_from(ANSWERS), pick=st.integers(0, 9))
    @precondition(lambda self: self.pending is not None and self.pending.call is not Call.VEND)
    def answer(self, how: str, pick: int) -> None:
        command, self.pending = self.pending, None
        assert command is not None
        if how == "truth":
            self._feed(self.world.apply(command, self.true_now))
        elif how == "lost_after":
            self.world.apply(command, self.true_now)
            self._feed(CallFailed(command.call, Failure.UNKNOWN, "ServerError 500"))
        elif how == "lost_before":
            self._feed(CallFailed(command.call, Failure.UNKNOWN, "UnreadableResponse 502"))
        elif how == "try_later":
            self._feed(CallFailed(command.call, Failure.TRY_LATER, "RATE_LIMIT"))
        elif how == "refused":
            self._feed(CallFailed(command.call, Failure.INVALID, "DYNAMIC_QR_BAD_REQUEST"))
        elif how == "not_allowed":
            self._feed(CallFailed(command.call, Failure.NOT_ALLOWED, "UNACCEPTABLE_OP"))
        else:
            self._feed(odd_answer(command, self.world, pick))

    @rule(how=st.sampled_from(["ok", "jammed", "raised", "raised_after_vending", "hung"]))
    @precondition(lambda self: self.pending is not None and self.pending.call is Call.VEND)
    def vend(self, how: str) -> None:
        self.pending = None
        if how == "ok":
            self.world.vends += 1
            self._feed(VendFinished(True, "vended"))
            return
        if how == "hung":  # the adapter's timeout ends it; the goods may come out late
            self.true_now += VEND_TIMEOUT_S
            self.world.vends += 1
        elif how == "raised_after_vending":
            self.world.vends += 1
        self._feed(VendFinished(False, f"vend {how}"))

    @rule(seconds=st.sampled_from([0.5, 2.0, 4.0, 30.0, 130.0, 400.0]))
    @precondition(lambda self: self.sale is not None and not self.sale.finished)
    def time_passes(self, seconds: float) -> None:
        self.true_now += seconds
        if self.pending is None:
            self._feed(Ticked())

    @rule(seconds=st.sampled_from([-85.0, -40.0, -5.0, 5.0, 40.0, 85.0]))
    def wall_clock_steps(self, seconds: float) -> None:
        self.skew = max(-85.0, min(85.0, self.skew + seconds))

    @rule(decline=st.booleans())
    @precondition(lambda self: self.sale is not None and self.sale.qr_url is not None)
    def customer_scans(self, decline: bool) -> None:
        self.world.pay(self.true_now, decline=decline)

    @rule()
    @precondition(lambda self: self.sale is not None and accepts(self.sale, CancelPressed()))
    def customer_cancels(self) -> None:
        self._feed(CancelPressed())

    @rule()
    @precondition(lambda self: self.sale is not None and not self.sale.finished)
    def next_commit_fails(self) -> None:
        self.disk_full = True

    @rule()
    @precondition(lambda self: self.sale is not None and accepts(self.sale, AttendantReleased()))
    def attendant_releases(self) -> None:
        self.released = True
        self._feed(AttendantReleased())

    @rule(applied=st.booleans())
    @precondition(lambda self: self.sale is not None and not self.sale.finished)
    def killed(self, applied: bool) -> None:
        if self.pending is not None and applied and self.pending.call is not Call.VEND:
            self.world.apply(self.pending, self.true_now)
        elif self.pending is not None and applied:  # goods out, the answer never recorded
            self.world.vends += 1
        self._recover(self.saved)

    # ---- invariants -----------------------------------------------------------------------

    @invariant()
    def nothing_refunded_twice(self) -> None:
        assert self.world.money_back <= 1, f"money went back {self.world.money_back} times"

    @invariant()
    def no_payable_code_left_unwatched(self) -> None:
        """A code that was on the screen (a lost create's never was) is unpayable once done."""
        if self.sale is not None and self.sale.qr_url is not None and self.sale.finished:
            assert not self.world.payable(self.true_now), f"{self.sale.state}: QR still payable"

    @invariant()
    def a_charged_customer_is_never_told_not_charged(self) -> None:
        if self.sale is not None and self.sale.finished and self.world.charged:
            phase = phase_of(self.sale)
            assert phase not in NOT_CHARGED, f"told {phase}, PayPay charged ({self.world.status})"

    @invariant()
    def money_kept_without_goods_is_held(self) -> None:
        """Kept money without goods or refund only ever ends in front of the attendant."""
        sale = self.sale
        if sale is None or not sale.finished:
            return
        if self.world.keeps_money and not self.world.vends:
            assert sale.state is State.HELD, f"{sale.state}: PayPay keeps money, no goods"

    def teardown(self) -> None:
        """The end: the network heals (answers truthfully) or never answers again; either way
        the sale must finish in bounded time, and agree with the world."""
        if self.sale is None:
            return
        limit = self.true_now + SETTLE_LIMIT_S
        while not self.sale.finished:
            assert self.true_now < limit, f"waits forever in {self.sale.state}"
            command, self.pending = self.pending, None
            if command is None:
                self.true_now += 5
                self._feed(Ticked())
            elif command.call is Call.VEND:
                self.world.vends += 1
                self._feed(VendFinished(True, "vended"))
            elif self.heals:
                self._feed(self.world.apply(command, self.true_now))
            else:
                self._feed(CallFailed(command.call, Failure.UNKNOWN, "ConnectionLost"))
        self.no_payable_code_left_unwatched()
        self.money_kept_without_goods_is_held()
        self.a_charged_customer_is_never_told_not_charged()
        if self.sale.state is State.SUCCEEDED:
            assert self.world.vends >= 1 and self.world.status is PaymentStatus.COMPLETED


TestHostileSequences = HostileSequences.TestCase
TestHostileSequences.settings = settings(
    max_examples=200,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_the_cut_off_lies_inside_a_sale_begun_before_midnight() -> None:
    """The model's midnight start really crosses PayPay's cut-off within a sale's lifetime."""
    assert 0 < cancel_cutoff_at(BEFORE_MIDNIGHT) - BEFORE_MIDNIGHT < 20 * 60
    assert cancel_cutoff_at(NOON) - NOON > 12 * 3600
    assert PAID_STATUSES == CHARGED
