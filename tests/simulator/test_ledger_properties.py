"""The ledger's money invariants under random sequences of operations (hypothesis state machine).

Runs the Ledger directly (no HTTP), so thousands of steps take a second. Whatever order the
kiosk, the customer and the clock act in, the oracle must never contradict itself.
"""

from __future__ import annotations

import contextlib
import random

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from kiosk.simulator import oracle
from kiosk.simulator.envelope import ApiError
from kiosk.simulator.ledger import MAX_REFUNDS, Ledger

MPIDS = st.sampled_from([f"M{i}" for i in range(6)])
AMOUNTS = st.integers(min_value=1, max_value=2000)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.ledger = Ledger(merchant_id="m", rng=random.Random(0))
        self.now = 1_700_000_000
        self.refund_ids = iter(range(10**6))
        self.charged_while_cancelled: list[str] = []

    def _code_id(self, mpid: str) -> str | None:
        code = self.ledger.codes.get(mpid)
        return code.code_id if code else None

    @rule(mpid=MPIDS, amount=AMOUNTS, preauth=st.booleans())
    def create(self, mpid: str, amount: int, preauth: bool) -> None:
        self.ledger.note_create_attempt(mpid)
        echo = {"merchantPaymentId": mpid, "amount": {"amount": amount, "currency": "JPY"}}
        try:
            self.ledger.create_code(
                echo=echo,
                amount=amount,
                requested_at=None,
                is_authorization=preauth,
                authorization_expiry=None,
                now=self.now,
                expiry_s=300,
                qr_base="http://x",
            )
        except ApiError as error:
            assert error.spec.code == "DUPLICATE_DYNAMIC_QR_REQUEST"

    @rule(mpid=MPIDS, decline=st.booleans())
    def pay(self, mpid: str, decline: bool) -> None:
        code_id = self._code_id(mpid)
        if code_id is None:
            return
        code = self.ledger.codes[mpid]
        payable = code.payable_at(self.now)
        cancelled = code.cancel_requested_at is not None
        try:
            payment = self.ledger.pay(code_id, self.now, decline=decline)
        except ApiError:
            assert not payable
            return
        if cancelled or decline:
            assert payment.status == "FAILED"
        else:
            assert payable and payment.status in ("COMPLETED", "AUTHORIZED")

    @rule(mpid=MPIDS)
    def delete(self, mpid: str) -> None:
        code_id = self._code_id(mpid)
        if code_id is None:
            return
        try:
            self.ledger.delete_code(code_id, self.now)
        except ApiError as error:
            assert error.spec.code == "DYNAMIC_QR_ALREADY_PAID"
            payment = self.ledger.payments[str(self.ledger.codes[mpid].payment_id)]
            assert payment.status != "FAILED"
            return
        assert not self.ledger.codes[mpid].payable_at(self.now)

    @rule(mpid=MPIDS)
    def cancel(self, mpid: str) -> None:
        try:
            self.ledger.cancel(mpid, self.now)
        except ApiError as error:
            assert error.spec.code == "ORDER_NOT_REVERSIBLE"
            return
        code = self.ledger.codes.get(mpid)
        assert code is None or not code.payable_at(self.now)
        if code is not None and code.payment_id is not None:
            status = self.ledger.payments[code.payment_id].status_at(self.now)
            assert status in ("FAILED", "CANCELED")

    @rule(mpid=MPIDS, amount=AMOUNTS)
    def refund(self, mpid: str, amount: int) -> None:
        code = self.ledger.codes.get(mpid)
        if code is None or code.payment_id is None:
            return
        try:
            self.ledger.refund(
                merchant_refund_id=f"R{next(self.refund_ids)}",
                payment_id=code.payment_id,
                amount=amount,
                requested_at=None,
                reason=None,
                now=self.now,
            )
        except ApiError as error:
            assert error.spec.code in (
                "INVALID_PARAMS",
                "UNACCEPTABLE_OP",
                "REFUND_LIMIT_EXCEEDED",
            )

    @rule(mpid=MPIDS, amount=AMOUNTS)
    def capture(self, mpid: str, amount: int) -> None:
        with contextlib.suppress(ApiError):
            self.ledger.capture(
                merchant_payment_id=mpid,
                merchant_capture_id=f"C{next(self.refund_ids)}",
                amount=amount,
                order_description="x",
                requested_at=None,
                now=self.now,
            )

    @rule(seconds=st.sampled_from([1, 60, 299, 3600, 86_400]))
    def advance(self, seconds: int) -> None:
        self.now += seconds

    @invariant()
    def money_is_consistent(self) -> None:
        snap = oracle.snapshot(self.ledger, self.now)
        assert all(n <= 1 for n in snap["creates_applied"].values())
        for mpid, applied in snap["creates_applied"].items():
            assert snap["create_attempts"][mpid] >= applied
        for payment in snap["payments"]:
            assert 0 <= payment["refunded"] <= payment["amount"]
            assert len(payment["refunds"]) <= MAX_REFUNDS
            if payment["refunds"]:
                assert payment["status"] in ("COMPLETED", "REFUNDED")
        payments = {p["payment_id"]: p for p in snap["payments"]}
        for code in snap["codes"]:
            if code["payable"]:
                assert code["status"] == "ACTIVE" and code["payment_id"] is None
                assert code["cancel_requested_at"] is None and self.now < code["expiry_at"]
            if code["payment_id"] is not None:
                assert (
                    payments[code["payment_id"]]["merchant_payment_id"]
                    == (code["merchant_payment_id"])
                )
        assert len(payments) == sum(1 for c in snap["codes"] if c["payment_id"])

    @invariant()
    def state_round_trips(self) -> None:
        copy = Ledger(merchant_id="m", rng=random.Random(1))
        oracle.load(copy, oracle.dump(self.ledger))
        assert oracle.snapshot(copy, self.now) == oracle.snapshot(self.ledger, self.now)


LedgerMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
test_ledger_invariants = LedgerMachine.TestCase
