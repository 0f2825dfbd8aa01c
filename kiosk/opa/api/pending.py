"""Pending payments (request orders pushed to a linked user's app)."""

from __future__ import annotations

from kiosk.opa import endpoints
from kiosk.opa.api.base import Envelope, Resource
from kiosk.opa.api.payments import REFUND_RULE, USER_PAYMENT_RULE, refund_query


class Pending(Resource):
    def create_pending_payment(self, data: object) -> Envelope:
        return self._post(endpoints.CREATE_PENDING, data, USER_PAYMENT_RULE)

    def get_payment_details(self, merchant_payment_id: str) -> Envelope:
        return self._by_id(endpoints.GET_PENDING, ("merchantPaymentId", merchant_payment_id))

    def cancel_payment(self, merchant_payment_id: str) -> Envelope:
        return self._by_id(endpoints.CANCEL_PENDING, ("merchantPaymentId", merchant_payment_id))

    def refund_payment(self, data: object) -> Envelope:
        return self._post(endpoints.REFUND_PAYMENT, data, REFUND_RULE)

    def refund_details(self, merchant_refund_id: str, payment_id: str | None = None) -> Envelope:
        """``GET /v2/refunds/{id}`` (the seed SDK wrongly asked the request-order URL)."""
        return self._by_id(
            endpoints.GET_REFUND,
            ("merchantRefundId", merchant_refund_id),
            query=refund_query(payment_id),
        )
