"""Pending payments (request orders pushed to a linked user's app)."""

from __future__ import annotations

from kiosk.opa import endpoints
from kiosk.opa.api.base import Envelope
from kiosk.opa.api.payments import USER_PAYMENT_RULE, Refunds


class Pending(Refunds):
    """Also `refund_payment` / `refund_details`, from `Refunds`."""

    def create_pending_payment(self, data: object) -> Envelope:
        return self._post(endpoints.CREATE_PENDING, data, USER_PAYMENT_RULE)

    def get_payment_details(self, merchant_payment_id: str) -> Envelope:
        return self._by_id(endpoints.GET_PENDING, ("merchantPaymentId", merchant_payment_id))

    def cancel_payment(self, merchant_payment_id: str) -> Envelope:
        return self._by_id(endpoints.CANCEL_PENDING, ("merchantPaymentId", merchant_payment_id))
