"""Cashback: give, reverse, and look both up."""

from __future__ import annotations

from kiosk.opa import endpoints, validation
from kiosk.opa.api.base import Envelope, Resource

GIVE_RULE = validation.Rule(ids=("merchantCashbackId", "userAuthorizationId"))
REVERSE_RULE = validation.Rule(ids=("merchantCashbackReversalId", "merchantCashbackId"))


class Cashback(Resource):
    def give_cashback(self, data: object) -> Envelope:
        return self._post(endpoints.GIVE_CASHBACK, data, GIVE_RULE)

    def check_cashback_detail(self, merchant_cashback_id: str) -> Envelope:
        return self._by_id(endpoints.GET_CASHBACK, ("merchantCashbackId", merchant_cashback_id))

    check_give_cashback = check_cashback_detail  # the seed README's name

    def reverse_cashback(self, data: object) -> Envelope:
        return self._post(endpoints.REVERSE_CASHBACK, data, REVERSE_RULE)

    def check_cashback_reversal_detail(
        self, merchant_cashback_reversal_id: str, merchant_cashback_id: str
    ) -> Envelope:
        return self._by_id(
            endpoints.GET_CASHBACK_REVERSAL,
            ("merchantCashbackReversalId", merchant_cashback_reversal_id),
            ("merchantCashbackId", merchant_cashback_id),
        )

    check_reversal_cashback = check_cashback_reversal_detail  # the seed README's name
