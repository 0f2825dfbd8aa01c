"""Every way a PayPay OPA call can fail, as one tree rooted at :class:`OpaError`.

Why: the official SDK returns error payloads as if they were data, so callers guess. Here a
2xx returns the envelope and anything else raises, and the class alone tells the caller what
it may do next. The one question that matters for money is "did PayPay apply my request?":

    OpaError                       status, code, code_id, message, api_name, body, headers
    ├── OutcomeUnknown             PayPay may or may not have applied it: query or cancel
    │   ├── RequestTimeout         no complete answer within the timeout or the deadline
    │   ├── ConnectionLost         the connection broke after the request was sent
    │   ├── ServerError            500 INTERNAL_SERVER_ERROR / SERVICE_ERROR, 502, 504
    │   ├── UnreadableResponse     not PayPay's JSON envelope (any status), or unreadable data
    │   └── Maintenance            503 MAINTENANCE_MODE: the reference counts a 503 as unknown
    ├── TryLater                   nothing was applied; come back after a pause
    │   ├── RateLimited            429 RATE_LIMIT
    │   └── NotConnected           could not connect at all; the request never left
    └── Rejected                   a definite answer: PayPay did not do it
        ├── AuthError              401 UNAUTHORIZED / OP_OUT_OF_SCOPE, 404 OPA_CLIENT_NOT_FOUND
        ├── InvalidParams          400 INVALID_REQUEST_PARAMS / MISSING_REQUEST_PARAMS /
        │                          INVALID_PARAMS / *_BAD_REQUEST
        ├── NotFound               DYNAMIC_QR_NOT_FOUND, DYNAMIC_QR_PAYMENT_NOT_FOUND,
        │                          RESOURCE_NOT_FOUND, NO_SUCH_REFUND_ORDER, ...
        ├── Duplicate              DUPLICATE_DYNAMIC_QR_REQUEST, DUPLICATE_REQUEST
        ├── AlreadyPaid            DYNAMIC_QR_ALREADY_PAID: the customer paid; not a failure
        ├── NotReversible          ORDER_NOT_REVERSIBLE, ORDER_NOT_CANCELABLE
        ├── OperationNotAllowed    UNACCEPTABLE_OP, ALREADY_CAPTURED, ORDER_EXPIRED, REFUND_*...
        └── TransactionFailed      500 TRANSACTION_FAILED: definite, start a new transaction

Each class sits in exactly one branch (a test checks it), so no isinstance order decides
behaviour. ``classify(status, code)`` is the one table from an answer to a class. Messages,
bodies and headers never contain the API key, the secret or the Authorization header (the
client scrubs what a server echoes back).
"""

from __future__ import annotations

from collections.abc import Mapping

RESOLVE_URL = "https://developer.paypay.ne.jp/develop/resolve"


class OpaError(Exception):
    """Base of every client error. ``status`` is the HTTP status, or None without an answer;
    ``body`` (at most 2 KiB) and ``headers`` are what came back, when something did."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        code_id: str | None = None,
        api_name: str | None = None,
        body: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.code_id = code_id
        self.message = message
        self.api_name = api_name
        self.body = body  # the start of the answer's body, for the logs of a human
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts = [self.message or "PayPay call failed"]
        if self.api_name:
            parts.append(f"api={self.api_name}")
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.code:
            parts.append(f"code={self.code}")
        if self.code_id:
            parts.append(f"code_id={self.code_id}")
        return " ".join(parts)

    @property
    def resolve_url(self) -> str | None:
        """PayPay's help page for this error, when PayPay gave a code."""
        if not (self.api_name and self.code and self.code_id):
            return None
        return f"{RESOLVE_URL}?api_name={self.api_name}&code={self.code}&code_id={self.code_id}"


class OutcomeUnknown(OpaError):
    """PayPay may have applied the request. Never show as failure: query or cancel."""


class TryLater(OpaError):
    """PayPay refused to work right now; nothing was applied."""


class Rejected(OpaError):
    """A definite answer: the request was not applied."""


class RequestTimeout(OutcomeUnknown):
    pass


class ConnectionLost(OutcomeUnknown):
    pass


class ServerError(OutcomeUnknown):
    pass


class UnreadableResponse(OutcomeUnknown):
    pass


class Maintenance(OutcomeUnknown):
    """503 MAINTENANCE_MODE. Unknown (reference 5.2), though a GET or DELETE is retried."""


class RateLimited(TryLater):
    pass


class NotConnected(TryLater):
    pass


class AuthError(Rejected):
    pass


class InvalidParams(Rejected):
    pass


class NotFound(Rejected):
    pass


class Duplicate(Rejected):
    pass


class AlreadyPaid(Rejected):
    pass


class NotReversible(Rejected):
    pass


class OperationNotAllowed(Rejected):
    pass


class TransactionFailed(Rejected):
    pass


# resultInfo.code -> class. Looked up first; the HTTP status decides when the code is unknown.
_BY_CODE: dict[str, type[OpaError]] = {
    "UNAUTHORIZED": AuthError,
    "OP_OUT_OF_SCOPE": AuthError,
    "OPA_CLIENT_NOT_FOUND": AuthError,
    "INVALID_REQUEST_PARAMS": InvalidParams,
    "MISSING_REQUEST_PARAMS": InvalidParams,
    "INVALID_PARAMS": InvalidParams,
    "DYNAMIC_QR_BAD_REQUEST": InvalidParams,
    "PRE_AUTH_CAPTURE_UNSUPPORTED_MERCHANT": InvalidParams,
    "PRE_AUTH_CAPTURE_INVALID_EXPIRY_DATE": InvalidParams,
    "RATE_LIMIT": RateLimited,
    "MAINTENANCE_MODE": Maintenance,
    "INTERNAL_SERVER_ERROR": ServerError,
    "SERVICE_ERROR": ServerError,
    "TRANSACTION_FAILED": TransactionFailed,
    "DUPLICATE_DYNAMIC_QR_REQUEST": Duplicate,
    "DUPLICATE_REQUEST": Duplicate,  # the simulator's direct/cashback duplicate (not in the ref)
    "DYNAMIC_QR_ALREADY_PAID": AlreadyPaid,
    "DYNAMIC_QR_NOT_FOUND": NotFound,
    "DYNAMIC_QR_PAYMENT_NOT_FOUND": NotFound,
    "RESOURCE_NOT_FOUND": NotFound,
    "NO_SUCH_REFUND_ORDER": NotFound,
    "REQUEST_ORDER_NOT_FOUND": NotFound,
    "ORDER_NOT_REVERSIBLE": NotReversible,
    "ORDER_NOT_CANCELABLE": NotReversible,
    "UNACCEPTABLE_OP": OperationNotAllowed,
    "CANCELED_USER": OperationNotAllowed,
    "ALREADY_CAPTURED": OperationNotAllowed,
    "HIGHER_CAPTURE_NOT_PERMITTED": OperationNotAllowed,
    "ORDER_EXPIRED": OperationNotAllowed,
    "ORDER_NOT_CAPTURABLE": OperationNotAllowed,
    "REAUTHORIZATION_IN_PROGRESS": OperationNotAllowed,
    "TOO_CLOSE_TO_EXPIRY": OperationNotAllowed,
    "REFUND_LIMIT_EXCEEDED": OperationNotAllowed,
    "REFUND_WINDOW_EXCEED": OperationNotAllowed,
    "NO_SUFFICIENT_FUND": OperationNotAllowed,
}

# HTTP status -> class, for a 4xx envelope whose code is not in the table. PayPay answered, so
# it is a refusal, but only a known code proves more (NotFound proves nothing without one).
_BY_STATUS: dict[int, type[OpaError]] = {
    400: InvalidParams,
    401: AuthError,
    403: AuthError,
    409: Duplicate,
    429: RateLimited,
}
_SUCCESS = frozenset({"SUCCESS", "REQUEST_ACCEPTED", "USER_CONFIRMATION_REQUIRED"})


def classify(status: int, code: str | None) -> type[OpaError]:
    """The class for an answer carrying PayPay's envelope that is not a success.

    The code decides, whatever the status (a 200 carrying INVALID_PARAMS is InvalidParams); a
    5xx never maps to a definite rejection unless PayPay said TRANSACTION_FAILED; an unknown
    code is judged by a 4xx status, and is an unknown outcome with any other status (a 5xx, or a
    2xx or 3xx with a code that is not a success code). A success code on a non-2xx status
    contradicts itself: unknown too.
    """
    by_code = _BY_CODE.get(code or "")
    if by_code is not None:
        if status >= 500 and not issubclass(by_code, (OutcomeUnknown, TransactionFailed)):
            return ServerError
        return by_code
    if status >= 500:
        return ServerError
    if 400 <= status < 500 and code not in _SUCCESS:
        return _BY_STATUS.get(status, Rejected)
    return UnreadableResponse
