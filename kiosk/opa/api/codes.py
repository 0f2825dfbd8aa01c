"""Dynamic QR codes: the kiosk's own flow (create, poll, delete)."""

from __future__ import annotations

from kiosk.opa import endpoints, validation
from kiosk.opa.api.base import Envelope, Resource

CREATE_RULE = validation.Rule(ids=("merchantPaymentId",), required=("codeType",), order_items=True)


class Code(Resource):
    def create_qr_code(self, data: object) -> Envelope:
        """``POST /v2/codes`` (201): the ``data.url`` is what the kiosk shows as a QR."""
        return self._post(endpoints.CREATE_QR_CODE, data, CREATE_RULE)

    def get_payment_details(self, merchant_payment_id: str) -> Envelope:
        """``GET /v2/codes/payments/{id}``: the status to poll (``CREATED`` until paid)."""
        return self._by_id(endpoints.GET_QR_PAYMENT, ("merchantPaymentId", merchant_payment_id))

    def delete_qr_code(self, code_id: str) -> Envelope:
        """``DELETE /v2/codes/{codeId}``; AlreadyPaid means the customer paid."""
        return self._by_id(endpoints.DELETE_QR_CODE, ("codeId", code_id))
