"""The simulator's state and every operation on it, under one lock.

Why: each operation is one atomic step on the state (check, then change), so concurrent
kiosks can never see a half-applied payment, and ``on_change`` (the state file) runs inside
the same lock, so what is on disk is always a state that existed.

Invariants (the money-safety oracle depends on them):
- a code is paid at most once, and only while ACTIVE (not deleted, not expired);
- a cancel requested before payment makes the later payment FAILED (nobody is charged);
- the refunds of a payment never sum above its amount, and there are at most 20;
- ``creates_applied[mpid]`` is 0 or 1; a rejected duplicate counts only as an attempt.
Time ``now`` is the simulator's payment clock (wall + control offset), passed in by callers.
"""

from __future__ import annotations

import random
import string
import threading
from collections.abc import Callable
from typing import Any

from kiosk.simulator import envelope as err
from kiosk.simulator.envelope import ApiError
from kiosk.simulator.model import (
    ACTIVE,
    DELETED,
    EXPIRED,
    Capture,
    Code,
    Payment,
    Refund,
    Revert,
    cancel_deadline,
    code_view,
    payment_view,
    refund_view,
    revert_view,
)

MAX_REFUNDS = 20
REFUND_WINDOW_S = 366 * 86_400
DEFAULT_AUTHORIZATION_S = 7 * 86_400
MAX_AUTHORIZATION_S = 30 * 86_400
ALPHANUM = string.ascii_letters + string.digits


class Ledger:
    def __init__(self, *, merchant_id: str, rng: random.Random, refund_settle_s: int = 0) -> None:
        self.lock = threading.RLock()
        self.merchant_id = merchant_id
        self.rng = rng
        self.refund_settle_s = refund_settle_s
        self.codes: dict[str, Code] = {}  # by merchantPaymentId
        self.code_ids: dict[str, str] = {}  # codeId -> merchantPaymentId
        self.payments: dict[str, Payment] = {}  # by paymentId
        self.refunds: dict[str, Refund] = {}  # by merchantRefundId
        self.pre_cancelled: dict[str, int] = {}  # cancel arrived before the create
        self.create_attempts: dict[str, int] = {}
        self.creates_applied: dict[str, int] = {}
        self.clock_offset_s: float = 0.0
        # Non-kiosk surface (cashback, links): plain JSON records, see extras.py.
        self.extras: dict[str, dict[str, Any]] = {
            "cashbacks": {},
            "reversals": {},
            "unlinked": {},
            "sessions": {},
        }
        self.on_change: Callable[[], None] = lambda: None
        self.on_payment: Callable[[Code, Payment], None] = lambda code, payment: None

    # ---- ids ---------------------------------------------------------------------------
    def _new_code_id(self) -> str:
        while True:
            code_id = "04-" + "".join(self.rng.choice(ALPHANUM) for _ in range(16))
            if code_id not in self.code_ids:
                return code_id

    def _new_payment_id(self) -> str:
        while True:
            payment_id = "".join(self.rng.choice(string.digits) for _ in range(20))
            if payment_id not in self.payments:
                return payment_id

    def _changed(self) -> None:
        self.on_change()

    # ---- codes -------------------------------------------------------------------------
    def note_create_attempt(self, merchant_payment_id: str) -> None:
        with self.lock:
            attempts = self.create_attempts.get(merchant_payment_id, 0) + 1
            self.create_attempts[merchant_payment_id] = attempts
            self._changed()

    def create_code(
        self,
        *,
        echo: dict[str, Any],
        amount: int,
        requested_at: int | None,
        is_authorization: bool,
        authorization_expiry: int | None,
        now: int,
        expiry_s: int,
        qr_base: str,
        kind: str = "QR",
        user_authorization_id: str | None = None,
    ) -> dict[str, Any]:
        """A QR code, or (``kind``) another order: PENDING has a code, the rest do not."""
        mpid = str(echo["merchantPaymentId"])
        with self.lock:
            if mpid in self.codes:
                raise ApiError(
                    err.DUPLICATE_DYNAMIC_QR_REQUEST if kind == "QR" else err.DUPLICATE_REQUEST
                )
            if authorization_expiry is not None and not (
                now < authorization_expiry <= now + MAX_AUTHORIZATION_S
            ):
                raise ApiError(err.PRE_AUTH_CAPTURE_INVALID_EXPIRY_DATE)
            code_id = self._new_code_id() if kind in ("QR", "PENDING") else ""
            # requestedAt is the client's wall clock; the control offset moves only our clock.
            offset = int(self.clock_offset_s)
            start = requested_at if requested_at is not None else now - offset
            code = Code(
                code_id=code_id,
                merchant_payment_id=mpid,
                amount=amount,
                requested_at=start,
                created_at=now,
                expiry_at=start + offset + expiry_s,
                expiry_date=start + expiry_s,
                url=f"{qr_base}/qr/{code_id}" if code_id else "",
                echo=echo | {"requestedAt": start, "isAuthorization": is_authorization},
                is_authorization=is_authorization,
                authorization_expiry=authorization_expiry,
                cancel_requested_at=self.pre_cancelled.pop(mpid, None),
                kind=kind,
                user_authorization_id=user_authorization_id,
            )
            self.codes[mpid] = code
            if code_id:
                self.code_ids[code_id] = mpid
            self.creates_applied[mpid] = self.creates_applied.get(mpid, 0) + 1
            self._changed()
            return code_view(code)

    def code_by_id(self, code_id: str) -> Code | None:
        with self.lock:
            mpid = self.code_ids.get(code_id)
            return None if mpid is None else self.codes[mpid]

    def code_details(self, merchant_payment_id: str, now: int) -> dict[str, Any]:
        with self.lock:
            code = self.codes.get(merchant_payment_id)
            if code is None:
                raise ApiError(err.DYNAMIC_QR_PAYMENT_NOT_FOUND)
            return self._payment_view(code, now)

    def _payment_view(self, code: Code, now: int) -> dict[str, Any]:
        payment = self.payments.get(code.payment_id) if code.payment_id else None
        return payment_view(
            code, payment, now, settle_s=self.refund_settle_s, merchant_id=self.merchant_id
        )

    def payment_details(self, merchant_payment_id: str, now: int) -> dict[str, Any]:
        """GET /v2/payments/{id}: PayPay answers 404 for an order nobody has paid yet."""
        with self.lock:
            code = self.codes.get(merchant_payment_id)
            if code is None or code.payment_id is None:
                raise ApiError(err.RESOURCE_NOT_FOUND)
            return self._payment_view(code, now)

    def delete_code(self, code_id: str, now: int) -> None:
        with self.lock:
            code = self.code_by_id(code_id)
            if code is None:
                raise ApiError(err.DYNAMIC_QR_NOT_FOUND)
            if code.payment_id is not None:
                payment = self.payments[code.payment_id]
                # A FAILED payment charged nobody: deleting its code is harmless, so succeed
                # rather than answer ALREADY_PAID, which a kiosk reads as "the customer paid".
                if payment.status != "FAILED":
                    raise ApiError(err.DYNAMIC_QR_ALREADY_PAID)
                return
            if code.deleted_at is None:
                code.deleted_at = now
                self._changed()

    # ---- customer actions (pay page and control API) -------------------------------------
    def pay(self, code_id: str, now: int, *, decline: bool = False) -> Payment:
        """The customer pays (or their payment fails). Raises ApiError when not payable."""
        with self.lock:
            code = self.code_by_id(code_id)
            if code is None:
                raise ApiError(err.DYNAMIC_QR_NOT_FOUND)
            return self.pay_order(code, now, decline=decline)

    def pay_order(self, code: Code, now: int, *, decline: bool = False) -> Payment:
        with self.lock:
            state = code.state_at(now)
            if state != ACTIVE:
                spec = {DELETED: err.DYNAMIC_QR_NOT_FOUND, EXPIRED: err.ORDER_EXPIRED}.get(
                    state, err.DYNAMIC_QR_ALREADY_PAID
                )
                raise ApiError(spec, f"code is {state.lower()}")
            failed = decline or code.cancel_requested_at is not None
            status = (
                "FAILED" if failed else ("AUTHORIZED" if code.is_authorization else "COMPLETED")
            )
            payment = Payment(
                payment_id=self._new_payment_id(),
                merchant_payment_id=code.merchant_payment_id,
                amount=code.amount,
                status=status,
                accepted_at=now,
            )
            if code.is_authorization and not failed:
                payment.authorized_at = now
                payment.expires_at = code.authorization_expiry or now + DEFAULT_AUTHORIZATION_S
            if code.cancel_requested_at is not None and not decline:
                payment.canceled_at = now
            code.payment_id = payment.payment_id
            code.failed = failed
            self.payments[payment.payment_id] = payment
            self._changed()
            self.on_payment(code, payment)
            return payment

    def expire(self, code_id: str, now: int) -> None:
        with self.lock:
            code = self.code_by_id(code_id)
            if code is None:
                raise ApiError(err.DYNAMIC_QR_NOT_FOUND)
            if code.expiry_at > now:
                code.expiry_at = now
                self._changed()

    # ---- cancel, refund, capture, revert --------------------------------------------------
    def cancel(self, merchant_payment_id: str, now: int) -> None:
        """DELETE /v2/payments/{id}: always 202 unless past the cut-off of a real payment."""
        with self.lock:
            code = self.codes.get(merchant_payment_id)
            if code is None:
                # The create may still be in flight: remember, so its payment ends FAILED.
                self.pre_cancelled.setdefault(merchant_payment_id, now)
            elif code.payment_id is None:
                if code.cancel_requested_at is None:
                    code.cancel_requested_at = now
            else:
                payment = self.payments[code.payment_id]
                status = payment.status_at(now)
                if status in ("FAILED", "CANCELED"):
                    return
                if now > cancel_deadline(payment.accepted_at) or payment.refunds:
                    raise ApiError(err.ORDER_NOT_REVERSIBLE)
                payment.status = "CANCELED"
                payment.canceled_at = now
                self.on_payment(code, payment)
            self._changed()

    def refund(
        self,
        *,
        merchant_refund_id: str,
        payment_id: str,
        amount: int,
        requested_at: int | None,
        reason: str | None,
        now: int,
    ) -> dict[str, Any]:
        with self.lock:
            payment = self.payments.get(payment_id)
            if payment is None:
                raise ApiError(err.RESOURCE_NOT_FOUND)
            existing = self.refunds.get(merchant_refund_id)
            if existing is not None:
                # Same id, same refund: a retry after a lost answer must not refund twice.
                if existing.payment_id != payment_id or existing.amount != amount:
                    raise ApiError(err.INVALID_PARAMS, "merchantRefundId already used")
                return self._refund_view(existing, now, status="CREATED")
            status = payment.status_at(now)
            if status not in ("COMPLETED", "REFUNDED"):
                raise ApiError(err.UNACCEPTABLE_OP, f"payment is {status}")
            if now > payment.accepted_at + REFUND_WINDOW_S:
                raise ApiError(err.E(400, "REFUND_WINDOW_EXCEED", "00200017", "Too late"))
            if len(payment.refunds) >= MAX_REFUNDS:
                raise ApiError(err.REFUND_LIMIT_EXCEEDED)
            if amount > payment.amount - payment.refunded_yen():
                raise ApiError(err.INVALID_REFUND_AMOUNT)
            refund = Refund(
                merchant_refund_id=merchant_refund_id,
                payment_id=payment_id,
                amount=amount,
                requested_at=requested_at if requested_at is not None else now,
                accepted_at=now,
                reason=reason,
            )
            payment.refunds.append(refund)
            self.refunds[merchant_refund_id] = refund
            self._changed()
            return self._refund_view(refund, now, status="CREATED")

    def _refund_view(self, refund: Refund, now: int, status: str | None = None) -> dict[str, Any]:
        return refund_view(
            refund, now, settle_s=self.refund_settle_s, merchant_id=self.merchant_id, status=status
        )

    def refund_details(
        self, merchant_refund_id: str, payment_id: str | None, now: int
    ) -> dict[str, Any]:
        with self.lock:
            refund = self.refunds.get(merchant_refund_id)
            if refund is None or (payment_id is not None and payment_id != refund.payment_id):
                raise ApiError(err.NO_SUCH_REFUND_ORDER)
            return self._refund_view(refund, now)

    def _authorized(self, merchant_payment_id: str) -> tuple[Code, Payment]:
        code = self.codes.get(merchant_payment_id)
        if code is None or code.payment_id is None:
            raise ApiError(err.RESOURCE_NOT_FOUND)
        return code, self.payments[code.payment_id]

    def capture(
        self,
        *,
        merchant_payment_id: str,
        merchant_capture_id: str,
        amount: int,
        order_description: str,
        requested_at: int | None,
        now: int,
    ) -> tuple[dict[str, Any], bool]:
        """Returns (payment data, needs_user_confirmation)."""
        with self.lock:
            code, payment = self._authorized(merchant_payment_id)
            if any(c.merchant_capture_id == merchant_capture_id for c in payment.captures):
                if payment.status == "COMPLETED":
                    return self._payment_view(code, now), False
                raise ApiError(err.ALREADY_CAPTURED)
            status = payment.status_at(now)
            if status == "EXPIRED":
                raise ApiError(err.ORDER_EXPIRED)
            if status == "COMPLETED" and code.is_authorization:
                raise ApiError(err.ALREADY_CAPTURED)
            if status != "AUTHORIZED":
                raise ApiError(err.ORDER_NOT_CAPTURABLE, f"payment is {status}")
            confirm = amount > payment.amount
            payment.captures.append(
                Capture(
                    merchant_capture_id=merchant_capture_id,
                    amount=amount,
                    order_description=order_description,
                    requested_at=requested_at if requested_at is not None else now,
                    accepted_at=now,
                    status="USER_REQUESTED" if confirm else "COMPLETED",
                )
            )
            if not confirm:
                payment.status = "COMPLETED"
                payment.amount = amount
                self.on_payment(code, payment)
            self._changed()
            return self._payment_view(code, now), confirm

    def confirm_capture(self, merchant_payment_id: str, now: int) -> dict[str, Any]:
        """The customer accepts a capture above the authorized amount (in the app)."""
        with self.lock:
            code, payment = self._authorized(merchant_payment_id)
            waiting = [c for c in payment.captures if c.status == "USER_REQUESTED"]
            if not waiting or payment.status_at(now) != "AUTHORIZED":
                raise ApiError(err.ORDER_NOT_CAPTURABLE, "no capture waits for the customer")
            capture = waiting[-1]
            capture.status = "COMPLETED"
            payment.status = "COMPLETED"
            payment.amount = capture.amount
            self.on_payment(code, payment)
            self._changed()
            return self._payment_view(code, now)

    def revert(
        self,
        *,
        merchant_revert_id: str,
        payment_id: str,
        requested_at: int | None,
        reason: str | None,
        now: int,
    ) -> dict[str, Any]:
        with self.lock:
            payment = self.payments.get(payment_id)
            if payment is None:
                raise ApiError(err.RESOURCE_NOT_FOUND)
            code = self.codes[payment.merchant_payment_id]
            revert = payment.revert
            if revert is None or revert.merchant_revert_id != merchant_revert_id:
                if payment.status_at(now) != "AUTHORIZED":
                    raise ApiError(err.ORDER_NOT_CANCELABLE)
                revert = Revert(
                    merchant_revert_id=merchant_revert_id,
                    requested_at=requested_at if requested_at is not None else now,
                    accepted_at=now,
                    reason=reason,
                )
                payment.revert = revert
                payment.status = "CANCELED"
                payment.canceled_at = now
                self.on_payment(code, payment)
                self._changed()
            return {"status": "CANCELED", "paymentId": payment_id} | revert_view(revert)
