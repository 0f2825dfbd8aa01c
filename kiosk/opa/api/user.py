"""User authorisations: status and unlink."""

from __future__ import annotations

from kiosk.opa import endpoints, validation
from kiosk.opa.api.base import Envelope, Resource


class User(Resource):
    def get_authorization_status(self, user_authorization_id: str) -> Envelope:
        """``GET /v2/user/authorizations?userAuthorizationId=`` (the query is not signed)."""
        checked = validation.check_id("userAuthorizationId", user_authorization_id)
        return self._by_id(endpoints.USER_AUTH_STATUS, query={"userAuthorizationId": checked})

    def unlink_user_authorization(self, user_authorization_id: str) -> Envelope:
        return self._by_id(endpoints.UNLINK_USER, ("userAuthorizationId", user_authorization_id))

    unlink_user_athorization = unlink_user_authorization  # the seed SDK's public spelling
