"""Execute one sale command: the only place the engine touches PayPay or the vending hardware.

Why: the runner stays a scheduler and the machine stays pure; this module turns a command into
exactly one call and the call's answer (or exception) into exactly one event. It never
raises: any error, even a bug while reading an answer, becomes `CallFailed(UNKNOWN)`, which the
machine resolves by asking again, so an unexpected answer can never be taken for "not paid".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from kiosk.domain import SaleSettings
from kiosk.hardware.vend import Vendor, VendRequest
from kiosk.opa import errors, models
from kiosk.sale.model import (
    PAID_STATUSES,
    Call,
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


class PayPayCalls(Protocol):
    """The calls the engine makes, with typed answers (``kiosk.opa.Client.typed``)."""

    def create_qr_code(self, data: object) -> models.QrCode: ...
    def get_qr_payment_details(self, merchant_payment_id: str) -> models.PaymentDetails: ...
    def delete_qr_code(self, code_id: str) -> models.Accepted: ...
    def cancel_payment(self, merchant_payment_id: str) -> models.Accepted: ...
    def refund_payment(self, data: object) -> models.RefundDetails: ...
    def refund_details(
        self, merchant_refund_id: str, payment_id: str | None = None
    ) -> models.RefundDetails: ...
    def capture_payment(self, data: object) -> models.CaptureResult: ...
    def revert_payment(self, data: object) -> models.RevertResult: ...


class PayPayClient(Protocol):
    """The part of `kiosk.opa.Client` the engine uses: its typed calls, never raw envelopes."""

    @property
    def typed(self) -> PayPayCalls: ...


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
        request = VendRequest(command.merchant_payment_id, command.amount_yen, command.description)
        try:
            result = vendor.vend(request)
        except Exception as exc:  # an adapter that broke its promise: a failed vend, not a crash
            log.exception("vend adapter raised mpid=%s", command.merchant_payment_id)
            return Outcome(VendFinished(False, f"vend adapter error: {type(exc).__name__}"))
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


def _call(command: CallCommand, client: PayPayClient, settings: SaleSettings, now: float) -> Event:
    if isinstance(command, CreateQr):
        return _create(command, client, settings, now)
    if isinstance(command, PollStatus):
        return _polled(client.typed.get_qr_payment_details(command.merchant_payment_id))
    if isinstance(command, DeleteQr):
        client.typed.delete_qr_code(command.code_id)
        return QrDeleted()
    if isinstance(command, CancelPayment):
        client.typed.cancel_payment(command.merchant_payment_id)
        return PaymentCancelled()
    return _money_back(command, client, now)


def _polled(details: models.PaymentDetails) -> Event:
    """A status answer as the machine's event; the machine checks it is about this sale
    (merchantPaymentId, amount, currency, paymentId). A status PayPay may add later is an
    anomaly (held for a person), never retried forever."""
    status = details.payment_status
    if status is None:
        detail = f"unknown payment status {details.status[:40]!r}"
        return CallFailed(Call.POLL, Failure.ANOMALY, detail)
    if status in PAID_STATUSES and not details.payment_id:
        raise ValueError("paid without a paymentId")  # unreadable: ask again
    return StatusPolled(
        status,
        payment_id=details.payment_id,
        paid_at=details.accepted_at,
        merchant_payment_id=details.merchant_payment_id,
        amount_yen=details.amount_yen,
        currency=details.currency,
    )


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
    qr = client.typed.create_qr_code(payload)
    return QrCreated(qr.code_id, qr.url, qr.expiry_epoch)


def _money_back(command: CallCommand, client: PayPayClient, now: float) -> Event:
    if isinstance(command, Refund):
        body = refund_request(
            command.merchant_refund_id, command.payment_id, command.amount_yen, now, command.reason
        )
        refund = client.typed.refund_payment(body)
        return RefundAccepted(refund.status or "CREATED")
    if isinstance(command, QueryRefund):
        refund = client.typed.refund_details(command.merchant_refund_id, command.payment_id)
        return RefundAccepted(refund.status or "CREATED")
    if isinstance(command, Capture):
        client.typed.capture_payment(
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
        client.typed.revert_payment(
            {
                "merchantRevertId": command.merchant_revert_id,
                "paymentId": command.payment_id,
                "requestedAt": int(now),
                "reason": command.reason,
            }
        )
        return Reverted()
    raise AssertionError(f"no call for {command!r}")
