"""Execute one sale command: the only place the engine touches PayPay or the vending hardware.

Why: the runner stays a scheduler and the machine stays pure; this module turns a command into
exactly one call and the call's answer (or exception) into exactly one event. It never
raises: any error, even a bug while reading an answer, becomes `CallFailed(UNKNOWN)`, which the
machine resolves by asking again, so an unexpected answer can never be taken for "not paid".
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from kiosk.domain import PaymentStatus, SaleSettings
from kiosk.hardware.vend import Vendor, VendRequest
from kiosk.opa import errors
from kiosk.sale.model import (
    PAID_STATUSES,
    CallCommand,
    CallFailed,
    CancelPayment,
    Capture,
    Captured,
    CreateQr,
    DeleteQr,
    Event,
    Failure,
    PaymentCancelled,
    PollStatus,
    QrCreated,
    QrDeleted,
    QueryRefund,
    Refund,
    RefundAccepted,
    Revert,
    Reverted,
    StatusPolled,
    Vend,
    VendFinished,
)

log = logging.getLogger(__name__)
Envelope = Mapping[str, Any]


class CodeApi(Protocol):
    def create_qr_code(self, data: object) -> Envelope: ...
    def get_payment_details(self, merchant_payment_id: str) -> Envelope: ...
    def delete_qr_code(self, code_id: str) -> Envelope: ...


class PaymentApi(Protocol):
    def cancel_payment(self, merchant_payment_id: str) -> Envelope: ...
    def refund_payment(self, data: object) -> Envelope: ...
    def refund_details(
        self, merchant_refund_id: str, payment_id: str | None = None
    ) -> Envelope: ...
    def capture_payment(self, data: object) -> Envelope: ...
    def revert_payment(self, data: object) -> Envelope: ...


class PayPayClient(Protocol):
    """The part of `kiosk.opa.Client` the engine uses (SDK names)."""

    @property
    def Code(self) -> CodeApi: ...

    @property
    def Payment(self) -> PaymentApi: ...


@dataclass(frozen=True)
class Outcome:
    event: Event
    error: Exception | None = None  # what the client raised, for the service-issue tracker


def failure_of(exc: Exception) -> Failure:
    """The client's error tree -> what the machine may do next. Unknown comes first."""
    if isinstance(exc, errors.OutcomeUnknown):
        return Failure.UNKNOWN
    table: tuple[tuple[type[Exception], Failure], ...] = (
        (errors.TryLater, Failure.TRY_LATER),
        (errors.AuthError, Failure.AUTH),
        (errors.NotFound, Failure.NOT_FOUND),
        (errors.AlreadyPaid, Failure.ALREADY_PAID),
        (errors.Duplicate, Failure.DUPLICATE),
        (errors.NotReversible, Failure.NOT_REVERSIBLE),
        (errors.OperationNotAllowed, Failure.NOT_ALLOWED),
        (errors.TransactionFailed, Failure.NOT_ALLOWED),
        (errors.Rejected, Failure.INVALID),
    )
    for cls, failure in table:
        if isinstance(exc, cls):
            if failure is Failure.NOT_ALLOWED and getattr(exc, "code", None) == "ALREADY_CAPTURED":
                return Failure.ALREADY_CAPTURED
            return failure
    return Failure.UNKNOWN


def execute(
    command: CallCommand, client: PayPayClient, vendor: Vendor, settings: SaleSettings, now: float
) -> Outcome:
    if isinstance(command, Vend):
        result = vendor.vend(
            VendRequest(command.merchant_payment_id, command.amount_yen, command.description)
        )
        return Outcome(VendFinished(result.ok, result.detail, result.amount_yen))
    try:
        return Outcome(_call(command, client, settings, now))
    except Exception as exc:  # every failure is an event; the machine decides what it means
        failure = failure_of(exc)
        if not isinstance(exc, errors.OpaError):
            log.exception("unexpected error call=%s", command.call.value)
        return Outcome(CallFailed(command.call, failure, _describe(exc)), exc)


def _describe(exc: Exception) -> str:
    if isinstance(exc, errors.OpaError):
        return f"{type(exc).__name__} {exc.code or exc.status or ''}".strip()
    return type(exc).__name__


def _amount(yen: int) -> dict[str, object]:
    return {"amount": yen, "currency": "JPY"}


def refund_request(
    merchant_refund_id: str, payment_id: str, amount_yen: int, now: float, reason: str
) -> dict[str, object]:
    """The body of `POST /v2/refunds`: the one builder, for sales and attendant refunds."""
    return {
        "merchantRefundId": merchant_refund_id,
        "paymentId": payment_id,
        "amount": _amount(amount_yen),
        "requestedAt": int(now),
        "reason": reason,
    }


def _data(envelope: Envelope) -> Mapping[str, Any]:
    data = envelope.get("data")
    return data if isinstance(data, Mapping) else {}


def _call(command: CallCommand, client: PayPayClient, settings: SaleSettings, now: float) -> Event:
    if isinstance(command, CreateQr):
        return _create(command, client, settings, now)
    if isinstance(command, PollStatus):
        data = _data(client.Code.get_payment_details(command.merchant_payment_id))
        accepted = data.get("acceptedAt") or None
        status = PaymentStatus(str(data["status"]))
        if status in PAID_STATUSES and not data.get("paymentId"):
            raise ValueError("paid without a paymentId")  # unreadable: ask again
        return StatusPolled(
            status,
            payment_id=str(data["paymentId"]) if data.get("paymentId") else None,
            paid_at=float(accepted) if accepted else None,
        )
    if isinstance(command, DeleteQr):
        client.Code.delete_qr_code(command.code_id)
        return QrDeleted()
    if isinstance(command, CancelPayment):
        client.Payment.cancel_payment(command.merchant_payment_id)
        return PaymentCancelled()
    return _money_back(command, client, now)


def _create(command: CreateQr, client: PayPayClient, settings: SaleSettings, now: float) -> Event:
    payload: dict[str, object] = {
        "merchantPaymentId": command.merchant_payment_id,
        "amount": _amount(command.amount_yen),
        "codeType": "ORDER_QR",
        "orderDescription": command.description,
        "isAuthorization": command.preauth,
        "requestedAt": int(now),
        "terminalId": settings.terminal_id,
    }
    if settings.store_id:
        payload["storeId"] = settings.store_id
    data = _data(client.Code.create_qr_code(payload))
    return QrCreated(str(data["codeId"]), str(data["url"]), float(data["expiryDate"]))


def _money_back(command: CallCommand, client: PayPayClient, now: float) -> Event:
    if isinstance(command, Refund):
        body = refund_request(
            command.merchant_refund_id, command.payment_id, command.amount_yen, now, command.reason
        )
        data = _data(client.Payment.refund_payment(body))
        return RefundAccepted(str(data.get("status", "CREATED")))
    if isinstance(command, QueryRefund):
        envelope = client.Payment.refund_details(command.merchant_refund_id, command.payment_id)
        return RefundAccepted(str(_data(envelope).get("status", "CREATED")))
    if isinstance(command, Capture):
        client.Payment.capture_payment(
            {
                "merchantPaymentId": command.merchant_payment_id,
                "merchantCaptureId": command.merchant_capture_id,
                "amount": _amount(command.amount_yen),
                "requestedAt": int(now),
                "orderDescription": command.description,
            }
        )
        return Captured()
    if isinstance(command, Revert):
        client.Payment.revert_payment(
            {
                "merchantRevertId": command.merchant_revert_id,
                "paymentId": command.payment_id,
                "requestedAt": int(now),
                "reason": command.reason,
            }
        )
        return Reverted()
    raise AssertionError(f"no call for {command!r}")
