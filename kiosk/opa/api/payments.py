"""Payments: details, cancel, refunds, preauth capture/revert, direct-debit and continuous."""

from __future__ import annotations

from kiosk.opa import endpoints, validation
from kiosk.opa.api.base import Envelope, Resource

REFUND_RULE = validation.Rule(ids=("merchantRefundId", "paymentId"))
CAPTURE_RULE = validation.Rule(
    ids=("merchantPaymentId", "merchantCaptureId"), required_text=("orderDescription",)
)
REVERT_RULE = validation.Rule(ids=("merchantRevertId", "paymentId"), amount=False)
USER_PAYMENT_RULE = validation.Rule(ids=("merchantPaymentId", "userAuthorizationId"))


def refund_query(payment_id: str | None) -> dict[str, str] | None:
    """``?paymentId=`` (required of merchants onboarded since 2025-07; not signed)."""
    if payment_id is None:
        return None
    return {"paymentId": validation.check_id("paymentId", payment_id)}


class Refunds(Resource):
    """``POST /v2/refunds`` and ``GET /v2/refunds/{id}``: one endpoint pair, reached from
    ``Payment`` and ``Pending`` alike (the seed SDK wrongly sent Pending's lookup to the
    request-order URL)."""

    def refund_payment(self, data: object) -> Envelope:
        return self._post(endpoints.REFUND_PAYMENT, data, REFUND_RULE)

    def refund_details(self, merchant_refund_id: str, payment_id: str | None = None) -> Envelope:
        return self._by_id(
            endpoints.GET_REFUND,
            ("merchantRefundId", merchant_refund_id),
            query=refund_query(payment_id),
        )


class Payment(Refunds):
    def get_payment_details(self, merchant_payment_id: str) -> Envelope:
        """``GET /v2/payments/{id}``; for a QR order use ``Code.get_payment_details``."""
        return self._by_id(endpoints.GET_PAYMENT, ("merchantPaymentId", merchant_payment_id))

    def cancel_payment(self, merchant_payment_id: str) -> Envelope:
        """``DELETE /v2/payments/{id}`` (202): reverse a payment of unknown outcome."""
        return self._by_id(endpoints.CANCEL_PAYMENT, ("merchantPaymentId", merchant_payment_id))

    refund_status = Refunds.refund_details  # the seed README's name for it

    def capture_payment(self, data: object) -> Envelope:
        return self._post(endpoints.CAPTURE_PAYMENT, data, CAPTURE_RULE)

    def revert_payment(self, data: object) -> Envelope:
        return self._post(endpoints.REVERT_PAYMENT, data, REVERT_RULE)

    def create(self, data: object, agree_similar_transaction: bool | None = None) -> Envelope:
        """``POST /v2/payments`` (direct debit), optionally ``?agreeSimilarTransaction=``."""
        query = None
        if agree_similar_transaction is not None:
            if not isinstance(agree_similar_transaction, bool):
                raise TypeError("agree_similar_transaction must be a bool")
            query = {"agreeSimilarTransaction": str(agree_similar_transaction).lower()}
        return self._post(endpoints.CREATE_PAYMENT, data, USER_PAYMENT_RULE, query=query)

    def create_continuous_payment(self, data: object) -> Envelope:
        return self._post(endpoints.CREATE_CONTINUOUS_PAYMENT, data, USER_PAYMENT_RULE)
