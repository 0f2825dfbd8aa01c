"""Every PayPay OPA endpoint the client calls, as one table of data.

Why a table: the API name (PayPay's resolve link), the method, the path and the read timeout
of each call live in one place, so a reviewer checks them against the reference (sections 3
and 5.3) line by line, and the transport never guesses. Paths carry their own version.

Invariants: timeouts are the reference's per-API read timeouts in seconds; only GET and DELETE
are ever retried (``retry_safe``); ids are filled into ``{}`` placeholders percent-quoted; a 2xx
means success only when its ``resultInfo.code`` is one of the call's ``success_codes`` (SUCCESS,
REQUEST_ACCEPTED, and a call's own documented ones, e.g. capture's USER_CONFIRMATION_REQUIRED).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

Method = Literal["GET", "POST", "DELETE"]
SUCCESS_CODES = frozenset({"SUCCESS", "REQUEST_ACCEPTED"})


@dataclass(frozen=True)
class Endpoint:
    api_name: str
    method: Method
    path: str
    read_timeout_s: float
    success_codes: frozenset[str] = SUCCESS_CODES

    @property
    def retry_safe(self) -> bool:
        """GET and DELETE may be repeated; a POST is never sent twice."""
        return self.method in ("GET", "DELETE")

    def path_for(self, *ids: str) -> str:
        """The path with each ``{}`` replaced by a percent-quoted id (what is sent and signed)."""
        if self.path.count("{}") != len(ids):
            raise ValueError(f"{self.api_name} takes {self.path.count('{}')} ids, got {len(ids)}")
        return self.path.format(*(quote(i, safe="") for i in ids))


# Dynamic QR (the kiosk's flow).
CREATE_QR_CODE = Endpoint("v2_createDynamicQRCode", "POST", "/v2/codes", 30)
GET_QR_PAYMENT = Endpoint("v2_getQRPaymentDetails", "GET", "/v2/codes/payments/{}", 15)
DELETE_QR_CODE = Endpoint("v2_deleteDynamicQRCode", "DELETE", "/v2/codes/{}", 15)

# Payments, refunds, preauth capture and revert.
GET_PAYMENT = Endpoint("v2_getPaymentDetail", "GET", "/v2/payments/{}", 15)
CANCEL_PAYMENT = Endpoint("v2_cancelPayment", "DELETE", "/v2/payments/{}", 15)
REFUND_PAYMENT = Endpoint("v2_createRefundPayment", "POST", "/v2/refunds", 30)
GET_REFUND = Endpoint("v2_getRefundDetails", "GET", "/v2/refunds/{}", 15)
# 202 USER_CONFIRMATION_REQUIRED: accepted, the customer must confirm a higher amount in the app.
CAPTURE_PAYMENT = Endpoint(
    "v2_captureAuthorizedOrder",
    "POST",
    "/v2/payments/capture",
    30,
    SUCCESS_CODES | {"USER_CONFIRMATION_REQUIRED"},
)
REVERT_PAYMENT = Endpoint(
    "v2_revertAuthorizedOrder", "POST", "/v2/payments/preauthorize/revert", 30
)
CREATE_PAYMENT = Endpoint("v2_createPayment", "POST", "/v2/payments", 30)
CREATE_CONTINUOUS_PAYMENT = Endpoint(
    "v1_createSubscriptionPayment", "POST", "/v1/subscription/payments", 30
)
PREAUTHORIZE = Endpoint("v2_createOrderAndAuthorize", "POST", "/v2/payments/preauthorize", 30)

# Pending payments (request orders).
CREATE_PENDING = Endpoint("v1_createRequestOrder", "POST", "/v1/requestOrder", 30)
GET_PENDING = Endpoint("v1_getRequestOrder", "GET", "/v1/requestOrder/{}", 15)
CANCEL_PENDING = Endpoint("v1_cancelRequestOrder", "DELETE", "/v1/requestOrder/{}", 15)

# Account link and user authorizations.
CREATE_QR_SESSION = Endpoint("v1_qrSession", "POST", "/v1/qr/sessions", 10)
USER_AUTH_STATUS = Endpoint("v2_userAuthStatus", "GET", "/v2/user/authorizations", 15)
UNLINK_USER = Endpoint("v2_unlinkUser", "DELETE", "/v2/user/authorizations/{}", 15)

# Cashback.
GIVE_CASHBACK = Endpoint("v2_createCashBackRequest", "POST", "/v2/cashback", 30)
GET_CASHBACK = Endpoint("v2_getCashbackDetails", "GET", "/v2/cashback/{}", 15)
REVERSE_CASHBACK = Endpoint("v2_createReverseCashBackRequest", "POST", "/v2/cashback_reversal", 30)
GET_CASHBACK_REVERSAL = Endpoint(
    "v2_getReversedCashBackDetails", "GET", "/v2/cashback_reversal/{}/{}", 15
)

ALL: tuple[Endpoint, ...] = tuple(v for v in list(globals().values()) if isinstance(v, Endpoint))
