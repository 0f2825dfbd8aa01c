"""The kiosk's PayPay calls with typed answers: ``client.typed``.

Why beside the SDK surface: ``client.Code.create_qr_code(...)`` must keep returning the
envelope dict merchants know from the official SDK, while the engine must never read a raw
envelope. These methods send exactly the same requests through the same resources (same
validation, signing, deadline and retry rules) and parse each success envelope once into a
model from ``models``; an answer the model cannot read raises UnreadableResponse.
"""

from __future__ import annotations

from kiosk.opa import endpoints, models
from kiosk.opa.api.codes import Code
from kiosk.opa.api.payments import Payment


class TypedCalls:
    def __init__(self, code: Code, payment: Payment) -> None:
        self._code = code
        self._payment = payment

    def create_qr_code(self, data: object) -> models.QrCode:
        envelope = self._code.create_qr_code(data)
        return models.QrCode.parse(envelope, endpoints.CREATE_QR_CODE.api_name)

    def get_qr_payment_details(self, merchant_payment_id: str) -> models.PaymentDetails:
        envelope = self._code.get_payment_details(merchant_payment_id)
        return models.PaymentDetails.parse(envelope, endpoints.GET_QR_PAYMENT.api_name)

    def delete_qr_code(self, code_id: str) -> models.Accepted:
        envelope = self._code.delete_qr_code(code_id)
        return models.Accepted.parse(envelope, endpoints.DELETE_QR_CODE.api_name)

    def cancel_payment(self, merchant_payment_id: str) -> models.Accepted:
        envelope = self._payment.cancel_payment(merchant_payment_id)
        return models.Accepted.parse(envelope, endpoints.CANCEL_PAYMENT.api_name)

    def refund_payment(self, data: object) -> models.RefundDetails:
        envelope = self._payment.refund_payment(data)
        return models.RefundDetails.parse(envelope, endpoints.REFUND_PAYMENT.api_name)

    def refund_details(
        self, merchant_refund_id: str, payment_id: str | None = None
    ) -> models.RefundDetails:
        envelope = self._payment.refund_details(merchant_refund_id, payment_id)
        return models.RefundDetails.parse(envelope, endpoints.GET_REFUND.api_name)

    def capture_payment(self, data: object) -> models.CaptureResult:
        envelope = self._payment.capture_payment(data)
        return models.CaptureResult.parse(envelope, endpoints.CAPTURE_PAYMENT.api_name)

    def revert_payment(self, data: object) -> models.RevertResult:
        envelope = self._payment.revert_payment(data)
        return models.RevertResult.parse(envelope, endpoints.REVERT_PAYMENT.api_name)
