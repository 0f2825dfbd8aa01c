"""Hypothesis stateful test: the sale machine against a model of PayPay's truth.

The model (`Truth`) is what PayPay and the vending hardware would really have done; the
machine only learns it through answers, which may be lost (unknown outcomes), refused, or
never arrive because the kiosk restarted. Whatever the order, the money-safety invariants of
issue 4 must hold, and once the network behaves again every sale must reach a terminal state
that agrees with the truth.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from kiosk.domain import PaymentStatus, Phase
from kiosk.engine.codec import from_record, to_record
from kiosk.sale.machine import accepts, new_sale, step
from kiosk.sale.model import (
    PAID_STATUSES,
    Call,
    CallCommand,
    CallFailed,
    CancelPressed,
    Captured,
    Command,
    CreateQr,
    Event,
    Failure,
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

T0 = 1_790_000_000.0
MPID = "K1-0001"
FAULTS = ["lost_after_apply", "lost_before_apply", "try_later", "auth"]


@dataclass
class Truth:
    """PayPay's ledger for one merchantPaymentId, plus the vending machine's counter."""

    preauth: bool
    creates: int = 0
    code_live: bool = False
    expiry_at: float = 0.0
    status: PaymentStatus | None = None  # None: PayPay has no order for this id
    voided: bool = False  # cancelled before payment: a later payment fails
    refunds: set[str] = field(default_factory=set)
    vends: int = 0

    @property
    def paid(self) -> bool:
        return self.status in PAID_STATUSES

    @property
    def payable(self) -> bool:
        return self.code_live and self.status is PaymentStatus.CREATED and not self.voided

    def apply(self, command: CallCommand, now: float, vend_ok: bool) -> Event:
        """Do what PayPay (or the hardware) does and answer truthfully."""
        call = command.call
        if call is Call.CREATE:
            self.creates += 1
            self.code_live, self.status, self.expiry_at = True, PaymentStatus.CREATED, now + 300
            return QrCreated("04-x", "http://sim/qr/x", self.expiry_at)
        if call is Call.VEND:
            self.vends += 1
            return VendFinished(ok=vend_ok)
        if self.status is None:
            return CallFailed(call, Failure.NOT_FOUND)
        return self._answer(command, call)

    def _answer(self, command: CallCommand, call: Call) -> Event:
        if call is Call.POLL:
            paid = self.status not in (PaymentStatus.CREATED, None)
            return StatusPolled(self.status or PaymentStatus.CREATED, "P1" if paid else None, T0)
        if call is Call.DELETE:
            if self.paid or self.status in (PaymentStatus.CANCELED, PaymentStatus.REFUNDED):
                return CallFailed(call, Failure.ALREADY_PAID)
            was_live, self.code_live = self.code_live, False
            return QrDeleted() if was_live else CallFailed(call, Failure.NOT_FOUND)
        if call is Call.CANCEL:
            if self.paid:
                self.status = PaymentStatus.CANCELED
            self.code_live, self.voided = False, True
            return PaymentCancelled()
        if call is Call.CAPTURE:
            if self.status is PaymentStatus.AUTHORIZED:
                self.status = PaymentStatus.COMPLETED
                return Captured()
            return CallFailed(call, Failure.ALREADY_CAPTURED)
        if call is Call.REVERT:
            if self.status is PaymentStatus.AUTHORIZED:
                self.status = PaymentStatus.CANCELED
                return Reverted()
            return CallFailed(call, Failure.NOT_REVERSIBLE)
        refund_id = getattr(command, "merchant_refund_id", "")
        if call is Call.REFUND_STATUS:
            ok = refund_id in self.refunds
            return RefundAccepted("REFUNDED") if ok else CallFailed(call, Failure.NOT_FOUND)
        if refund_id in self.refunds:
            return CallFailed(call, Failure.DUPLICATE)
        if self.status is not PaymentStatus.COMPLETED:
            return CallFailed(call, Failure.NOT_ALLOWED)
        self.refunds.add(refund_id)
        self.status = PaymentStatus.REFUNDED
        return RefundAccepted("CREATED")

    def customer_pays(self, now: float) -> None:
        if self.payable and now < self.expiry_at:
            self.status = PaymentStatus.AUTHORIZED if self.preauth else PaymentStatus.COMPLETED
            self.code_live = False


class SaleAgainstPayPay(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.sale: Sale | None = None
        self.truth = Truth(preauth=False)
        self.pending: CallCommand | None = None
        self.emitted: list[Command] = []
        self.was_paid = False
        self.restarted = False
        self.policy = "refund"

    @initialize(preauth=st.booleans(), policy=st.sampled_from(["refund", "hold"]))
    def start(self, preauth: bool, policy: str) -> None:
        self.truth = Truth(preauth=preauth)
        self.policy = policy
        self.sale, commands = new_sale(MPID, 500, "Tea", preauth=preauth, now=self.now)
        self._take(commands)

    def _take(self, commands: list[Command]) -> None:
        for command in commands:
            self.emitted.append(command)
            if isinstance(command, Vend):
                assert self.truth.paid, "vend without COMPLETED/AUTHORIZED at PayPay"
            if not isinstance(command, Record):
                assert self.pending is None, "two calls in flight"
                self.pending = command

    def _feed(self, event: Event) -> None:
        assert self.sale is not None
        self.sale, commands = step(self.sale, event, self.now)
        self._take(commands)

    @rule(vend_ok=st.booleans())
    @precondition(lambda self: self.pending is not None)
    def answer_ok(self, vend_ok: bool) -> None:
        self.answer("ok", vend_ok)

    @rule(outcome=st.sampled_from(FAULTS))
    @precondition(lambda self: self.pending is not None)
    def answer_fault(self, outcome: str) -> None:
        self.answer(outcome, vend_ok=False)

    def answer(self, outcome: str, vend_ok: bool) -> None:
        command, self.pending = self.pending, None
        assert command is not None
        if command.call is Call.VEND or outcome == "ok":  # the hardware always answers
            self._feed(self.truth.apply(command, self.now, vend_ok))
        elif outcome == "lost_after_apply":
            self.truth.apply(command, self.now, vend_ok)
            self._feed(CallFailed(command.call, Failure.UNKNOWN))
        elif outcome == "lost_before_apply":
            self._feed(CallFailed(command.call, Failure.UNKNOWN))
        else:
            self._feed(CallFailed(command.call, Failure(outcome)))

    @rule(seconds=st.sampled_from([0.5, 1.0, 2.0, 4.0, 30.0, 130.0]))
    @precondition(lambda self: self.sale is not None and not self.sale.finished)
    def tick(self, seconds: float) -> None:
        self.now += seconds
        self._feed(Ticked())

    @rule()
    @precondition(lambda self: self.sale is not None)
    def customer_pays(self) -> None:
        self.truth.customer_pays(self.now)

    @rule()
    @precondition(lambda self: self.sale is not None and accepts(self.sale, CancelPressed()))
    def press_cancel(self) -> None:
        self._feed(CancelPressed())

    @rule(applied=st.booleans())
    @precondition(lambda self: self.sale is not None and not self.sale.finished)
    def restart(self, applied: bool) -> None:
        if self.pending is not None and applied:
            self.truth.apply(self.pending, self.now, True)
        self.pending = None
        self.restarted = True
        self.now += 10
        self._feed(Recovered(self.policy))

    @invariant()
    def at_most_one_create_and_one_vend(self) -> None:
        assert sum(isinstance(c, CreateQr) for c in self.emitted) <= 1
        assert sum(isinstance(c, Vend) for c in self.emitted) <= 1
        assert self.truth.creates <= 1 and self.truth.vends <= 1

    @invariant()
    def a_paid_sale_stays_paid(self) -> None:
        if self.sale is None:
            return
        if self.was_paid:
            assert self.sale.paid and self.sale.payment_id is not None
        self.was_paid = self.sale.paid

    @invariant()
    def every_reachable_sale_survives_the_journal_form(self) -> None:
        if self.sale is not None:
            assert from_record(json.loads(json.dumps(to_record(self.sale)))) == self.sale

    @invariant()
    def failure_is_only_shown_when_known(self) -> None:
        if self.sale is not None and phase_of(self.sale) is Phase.FAILED:
            assert self.sale.finished

    @invariant()
    def a_terminal_sale_agrees_with_paypay(self) -> None:
        if self.sale is not None and self.sale.finished:
            check_terminal(self.sale, self.truth, self.restarted)

    def teardown(self) -> None:
        """The network heals: every sale must finish, and agree with the truth."""
        if self.sale is None:
            return
        for _ in range(200):
            if self.sale.finished:
                break
            if self.pending is not None:
                command, self.pending = self.pending, None
                self._feed(self.truth.apply(command, self.now, True))
            else:
                self.now += 5
                self._feed(Ticked())
        assert self.sale.finished, f"stuck in {self.sale.state}"
        check_terminal(self.sale, self.truth, self.restarted)


def check_terminal(sale: Sale, truth: Truth, restarted: bool) -> None:
    money_back = (PaymentStatus.CANCELED, PaymentStatus.REFUNDED)
    if sale.state in (State.CANCELLED, State.EXPIRED, State.FAILED):
        assert not truth.payable, f"{sale.state} but the QR is still payable"
        assert not truth.paid, f"{sale.state} but PayPay holds the customer's money"
    elif sale.state is State.SUCCEEDED:
        assert truth.vends == 1
        assert truth.status is PaymentStatus.COMPLETED, "vended but not captured"
    elif sale.state is State.REFUNDED:
        assert truth.status in money_back, f"REFUNDED but PayPay says {truth.status}"
    elif sale.state is State.HELD:
        assert truth.paid and (restarted or sale.refused)


TestSaleAgainstPayPay = SaleAgainstPayPay.TestCase
TestSaleAgainstPayPay.settings = settings(
    max_examples=300,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
