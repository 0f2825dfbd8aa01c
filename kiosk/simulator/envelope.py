"""PayPay's JSON envelope and the error catalogue the simulator answers with.

Why one table: every handler raises :class:`ApiError` with a catalogue entry, so statuses,
codes and codeIds come from one place and match the reference (section 5.1). Where the
reference does not know a status or codeId, the entry says "simulator choice".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

SUCCESS_CODE_ID = "08100001"


@dataclass(frozen=True)
class ErrorSpec:
    status: int
    code: str
    code_id: str
    message: str


class ApiError(Exception):
    """An answer other than success; ``message`` never holds secrets."""

    def __init__(self, spec: ErrorSpec, detail: str | None = None) -> None:
        self.spec = spec
        self.detail = detail
        super().__init__(f"{spec.code}: {detail or spec.message}")

    def body(self) -> dict[str, Any]:
        message = self.spec.message if not self.detail else f"{self.spec.message}: {self.detail}"
        return error_body(self.spec.code, message, self.spec.code_id)


def E(status: int, code: str, code_id: str, message: str) -> ErrorSpec:
    return ErrorSpec(status, code, code_id, message)


INVALID_REQUEST_PARAMS = E(400, "INVALID_REQUEST_PARAMS", "08100006", "Invalid request params")
MISSING_REQUEST_PARAMS = E(400, "MISSING_REQUEST_PARAMS", "08100024", "Missing request params")
UNAUTHORIZED = E(401, "UNAUTHORIZED", "08100016", "Unauthorized request")
NOT_FOUND_PATH = E(404, "NOT_FOUND", "08100007", "No such API")  # simulator choice
METHOD_NOT_ALLOWED = E(405, "METHOD_NOT_ALLOWED", "08100006", "Method not allowed")  # choice
BODY_TOO_LARGE = E(413, "INVALID_REQUEST_PARAMS", "08100006", "Request body too large")
LENGTH_REQUIRED = E(411, "INVALID_REQUEST_PARAMS", "08100006", "Content-Length required")
RATE_LIMIT = E(429, "RATE_LIMIT", "08100998", "Too many requests")
INTERNAL_SERVER_ERROR = E(
    500, "INTERNAL_SERVER_ERROR", "08101000", "Something went wrong on PayPay service side"
)
MAINTENANCE_MODE = E(
    503, "MAINTENANCE_MODE", "08100999", "Sorry, we are down for scheduled maintenance"
)
DUPLICATE_DYNAMIC_QR_REQUEST = E(
    400, "DUPLICATE_DYNAMIC_QR_REQUEST", "01652073", "Duplicate Dynamic QR request error"
)
PRE_AUTH_CAPTURE_INVALID_EXPIRY_DATE = E(
    400, "PRE_AUTH_CAPTURE_INVALID_EXPIRY_DATE", "00400061", "Invalid authorization expiry"
)
DYNAMIC_QR_PAYMENT_NOT_FOUND = E(
    400, "DYNAMIC_QR_PAYMENT_NOT_FOUND", "01652075", "Dynamic QR payment not found"
)
DYNAMIC_QR_ALREADY_PAID = E(400, "DYNAMIC_QR_ALREADY_PAID", "01652074", "Dynamic QR already paid")
DYNAMIC_QR_NOT_FOUND = E(404, "DYNAMIC_QR_NOT_FOUND", "01652072", "Dynamic QR not found")
ORDER_NOT_REVERSIBLE = E(400, "ORDER_NOT_REVERSIBLE", "00200044", "Order cannot be reversed")
RESOURCE_NOT_FOUND = E(404, "RESOURCE_NOT_FOUND", "00200001", "Order not found")
INVALID_REFUND_AMOUNT = E(400, "INVALID_PARAMS", "00200015", "Invalid refund amount")
INVALID_PARAMS = E(400, "INVALID_PARAMS", "00200004", "Invalid parameters")
UNACCEPTABLE_OP = E(400, "UNACCEPTABLE_OP", "00200013", "Order cannot be refunded")
# HTTP status and codeId unknown (reference section 5.1): a definite 400 is the safer choice.
REFUND_LIMIT_EXCEEDED = E(400, "REFUND_LIMIT_EXCEEDED", "00200016", "Refund limit exceeded")
NO_SUCH_REFUND_ORDER = E(404, "NO_SUCH_REFUND_ORDER", "00200018", "Refund not found")
ALREADY_CAPTURED = E(400, "ALREADY_CAPTURED", "00200039", "Cannot capture already captured")
ORDER_NOT_CAPTURABLE = E(400, "ORDER_NOT_CAPTURABLE", "00200035", "Order not capturable")
ORDER_EXPIRED = E(400, "ORDER_EXPIRED", "00200043", "Order expired")
ORDER_NOT_CANCELABLE = E(400, "ORDER_NOT_CANCELABLE", "00200042", "Order not cancelable")
REQUEST_ORDER_NOT_FOUND = E(400, "REQUEST_ORDER_NOT_FOUND", "08300005", "Request order not found")
DUPLICATE_REQUEST = E(400, "DUPLICATE_REQUEST", "00200047", "Duplicate request")  # choice

# Fault-injection shortcuts: resultInfo code -> spec, so a fault can name just a code.
BY_CODE: dict[str, ErrorSpec] = {
    s.code: s
    for s in (
        INVALID_REQUEST_PARAMS,
        MISSING_REQUEST_PARAMS,
        UNAUTHORIZED,
        RATE_LIMIT,
        INTERNAL_SERVER_ERROR,
        MAINTENANCE_MODE,
        E(500, "SERVICE_ERROR", "08100026", ""),
        E(500, "TRANSACTION_FAILED", "00200002", "Transaction failed"),
    )
}
DEFAULT_CODE_FOR_STATUS: dict[int, str] = {
    400: "INVALID_REQUEST_PARAMS",
    401: "UNAUTHORIZED",
    429: "RATE_LIMIT",
    500: "INTERNAL_SERVER_ERROR",
    502: "INTERNAL_SERVER_ERROR",
    503: "MAINTENANCE_MODE",
    504: "INTERNAL_SERVER_ERROR",
}


def success_body(data: Any, *, accepted: bool = False) -> dict[str, Any]:
    code, message = ("REQUEST_ACCEPTED", "Request accepted") if accepted else ("SUCCESS", "Success")
    return {
        "resultInfo": {"code": code, "message": message, "codeId": SUCCESS_CODE_ID},
        "data": data,
    }


def error_body(code: str, message: str, code_id: str) -> dict[str, Any]:
    return {"resultInfo": {"code": code, "message": message, "codeId": code_id}, "data": None}


def dumps(body: object) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
