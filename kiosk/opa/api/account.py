"""Account linking: the QR session a user scans to authorise the merchant."""

from __future__ import annotations

from kiosk.opa import endpoints, validation
from kiosk.opa.api.base import Envelope, Resource

SESSION_RULE = validation.Rule(
    required=("scopes", "nonce", "redirectUrl", "referenceId"), amount=False, requested_at=False
)


class Account(Resource):
    def create_qr_session(self, data: object) -> Envelope:
        return self._post(endpoints.CREATE_QR_SESSION, data, SESSION_RULE)
