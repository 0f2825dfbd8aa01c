"""Direct-debit preauthorisation (capture and revert live on ``Payment``)."""

from __future__ import annotations

from kiosk.opa import endpoints
from kiosk.opa.api.base import Envelope, Resource
from kiosk.opa.api.payments import USER_PAYMENT_RULE


class Preauth(Resource):
    def pre_authorize_create(self, data: object) -> Envelope:
        return self._post(endpoints.PREAUTHORIZE, data, USER_PAYMENT_RULE)
