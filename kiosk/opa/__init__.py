"""Our client for the PayPay Open Payment API: the official Python SDK's surface, done right.

from kiosk import opa as paypayopa
client = paypayopa.Client(auth=(API_KEY, API_SECRET), production_mode=False)
client.Code.create_qr_code({...})
"""

from kiosk.opa.client import Client, Environment
from kiosk.opa.errors import (
    AlreadyPaid,
    AuthError,
    ConnectionLost,
    Duplicate,
    InvalidParams,
    Maintenance,
    NotConnected,
    NotFound,
    NotReversible,
    OpaError,
    OperationNotAllowed,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    RequestTimeout,
    ServerError,
    TransactionFailed,
    TryLater,
    UnreadableResponse,
    classify,
)
from kiosk.opa.http_transport import HttpAnswer, HttpRequest, HttpTransport, Limits, NoAnswer
from kiosk.opa.retry import RetryPolicy
from kiosk.opa.transport import ResponseInfo
from kiosk.opa.typed import TypedCalls

__all__ = [
    "AlreadyPaid",
    "AuthError",
    "Client",
    "ConnectionLost",
    "Duplicate",
    "Environment",
    "HttpAnswer",
    "HttpRequest",
    "HttpTransport",
    "InvalidParams",
    "Limits",
    "Maintenance",
    "NoAnswer",
    "NotConnected",
    "NotFound",
    "NotReversible",
    "OpaError",
    "OperationNotAllowed",
    "OutcomeUnknown",
    "RateLimited",
    "Rejected",
    "RequestTimeout",
    "ResponseInfo",
    "RetryPolicy",
    "ServerError",
    "TransactionFailed",
    "TryLater",
    "TypedCalls",
    "UnreadableResponse",
    "classify",
]
