"""The simulator's records: codes, payments, refunds, captures, reverts; their JSON views.

Why separate from the operations: these are plain data with derived views (what PayPay would
answer at time ``now``) and a lossless round trip to JSON for ``--state``. Derived facts
(a refund settling, a preauthorization expiring, a code expiring) are computed from ``now``
on read, so reading never mutates and a poll never has to write the state file.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from typing import Any
from urllib.parse import quote

from kiosk.domain import JST

CANCEL_CUTOFF = clock_time(0, 14, 59)

# Code lifecycle, as the ledger reports it (PayPay itself keeps the payment status CREATED).
ACTIVE, DELETED, EXPIRED, PAID, FAILED = "ACTIVE", "DELETED", "EXPIRED", "PAID", "FAILED"


def yen(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "JPY"}


def cancel_deadline(accepted_at: int) -> int:
    """Last epoch second a payment can be cancelled: 00:14:59 JST the day after payment."""
    day: date = datetime.fromtimestamp(accepted_at, JST).date() + timedelta(days=1)
    return int(datetime.combine(day, CANCEL_CUTOFF, JST).timestamp())


@dataclass
class Refund:
    merchant_refund_id: str
    payment_id: str
    amount: int
    requested_at: int
    accepted_at: int
    reason: str | None = None


@dataclass
class Capture:
    merchant_capture_id: str
    amount: int
    order_description: str
    requested_at: int
    accepted_at: int
    status: str  # USER_REQUESTED | COMPLETED


@dataclass
class Revert:
    merchant_revert_id: str
    requested_at: int
    accepted_at: int
    reason: str | None = None


@dataclass
class Payment:
    payment_id: str
    merchant_payment_id: str
    amount: int
    status: str  # stored: COMPLETED | AUTHORIZED | FAILED | CANCELED
    accepted_at: int
    authorized_at: int | None = None
    expires_at: int | None = None
    canceled_at: int | None = None
    refunds: list[Refund] = field(default_factory=list)
    captures: list[Capture] = field(default_factory=list)
    revert: Revert | None = None

    def refunded_yen(self) -> int:
        return sum(r.amount for r in self.refunds)

    def status_at(self, now: int) -> str:
        if self.status == "AUTHORIZED" and self.expires_at is not None and now >= self.expires_at:
            return "EXPIRED"
        if self.status == "COMPLETED" and self.refunds and self.refunded_yen() >= self.amount:
            return "REFUNDED"
        return self.status

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Payment:
        raw = dict(raw)
        raw["refunds"] = [Refund(**r) for r in raw.get("refunds", [])]
        raw["captures"] = [Capture(**c) for c in raw.get("captures", [])]
        raw["revert"] = Revert(**raw["revert"]) if raw.get("revert") else None
        return cls(**raw)


@dataclass
class Code:
    code_id: str
    merchant_payment_id: str
    amount: int
    requested_at: int
    created_at: int
    expiry_at: int  # on the simulator's payment clock (wall + control offset)
    url: str
    echo: dict[str, Any]  # the create request as PayPay echoes it (orderItems with unit_price)
    is_authorization: bool = False
    authorization_expiry: int | None = None
    deleted_at: int | None = None
    cancel_requested_at: int | None = None
    payment_id: str | None = None
    failed: bool = False  # its payment failed (declined, or a cancel came first)
    expiry_date: int = 0  # as answered to the client: requestedAt + expiry_s, client's clock
    kind: str = "QR"  # QR | PENDING (request order) | DIRECT | CONTINUOUS | PREAUTH (no code)
    user_authorization_id: str | None = None

    def state_at(self, now: int) -> str:
        if self.payment_id is not None:
            return FAILED if self.failed else PAID
        if self.deleted_at is not None:
            return DELETED
        return EXPIRED if now >= self.expiry_at else ACTIVE

    def payable_at(self, now: int) -> bool:
        """A customer could still be charged and keep the charge."""
        return self.state_at(now) == ACTIVE and self.cancel_requested_at is None

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Code:
        return cls(**raw)


def code_view(code: Code) -> dict[str, Any]:
    """``data`` of a create-code answer: the code, then the request as PayPay echoes it."""
    return {
        "codeId": code.code_id,
        "url": code.url,
        "deeplink": "paypay://payment?link_key=" + quote(code.url, safe=""),
        "expiryDate": code.expiry_date,
    } | code.echo


def to_json(record: object) -> dict[str, Any]:
    assert dataclasses.is_dataclass(record) and not isinstance(record, type)
    return dataclasses.asdict(record)


def refund_view(
    refund: Refund, now: int, *, settle_s: int, merchant_id: str, status: str | None = None
) -> dict[str, Any]:
    settled = now >= refund.accepted_at + settle_s
    view: dict[str, Any] = {
        "status": status or ("REFUNDED" if settled else "CREATED"),
        "acceptedAt": refund.accepted_at,
        "merchantRefundId": refund.merchant_refund_id,
        "paymentId": refund.payment_id,
        "amount": yen(refund.amount),
        "requestedAt": refund.requested_at,
    }
    if refund.reason is not None:
        view["reason"] = refund.reason
    view["assumeMerchant"] = merchant_id
    return view


def _order_echo(code: Code) -> dict[str, Any]:
    """Echo fields of a payment-details answer: orderItems spell ``unitPrice`` here."""
    out: dict[str, Any] = {}
    for key in ("storeId", "terminalId", "orderDescription", "metadata"):
        if key in code.echo:
            out[key] = code.echo[key]
    if "orderItems" in code.echo:
        out["orderItems"] = [
            {("unitPrice" if k == "unit_price" else k): v for k, v in item.items()}
            for item in code.echo["orderItems"]
        ]
    return out


def payment_view(
    code: Code, payment: Payment | None, now: int, *, settle_s: int, merchant_id: str
) -> dict[str, Any]:
    """``data`` of GET /v2/codes/payments/{id} (and of GET /v2/payments/{id} when paid)."""
    if payment is None:
        unpaid: dict[str, Any] = {
            "merchantPaymentId": code.merchant_payment_id,
            "status": "CREATED",
            "acceptedAt": 0,
            "amount": yen(code.amount),
            "requestedAt": code.requested_at,
        }
        return unpaid | _order_echo(code)
    view: dict[str, Any] = {
        "paymentId": payment.payment_id,
        "status": payment.status_at(now),
        "acceptedAt": payment.accepted_at,
        "refunds": {
            "data": [
                refund_view(r, now, settle_s=settle_s, merchant_id=merchant_id)
                for r in payment.refunds
            ]
        },
        "merchantPaymentId": code.merchant_payment_id,
        "amount": yen(payment.amount),
        "requestedAt": code.requested_at,
    }
    if code.is_authorization:
        view["authorizedAt"] = payment.authorized_at
        view["expiresAt"] = payment.expires_at
        view["captures"] = {"data": [capture_view(c, payment) for c in payment.captures]}
        if payment.revert is not None:
            view["revert"] = revert_view(payment.revert)
    if payment.canceled_at is not None:
        view["canceledAt"] = payment.canceled_at
    return view | _order_echo(code)


def capture_view(capture: Capture, payment: Payment) -> dict[str, Any]:
    return {
        "acceptedAt": capture.accepted_at,
        "merchantCaptureId": capture.merchant_capture_id,
        "amount": yen(capture.amount),
        "orderDescription": capture.order_description,
        "requestedAt": capture.requested_at,
        "expiresAt": payment.expires_at,
        "status": capture.status,
    }


def revert_view(revert: Revert) -> dict[str, Any]:
    view: dict[str, Any] = {
        "acceptedAt": revert.accepted_at,
        "merchantRevertId": revert.merchant_revert_id,
        "requestedAt": revert.requested_at,
    }
    if revert.reason is not None:
        view["reason"] = revert.reason
    return view
