"""What a kiosk's call is, and the answer a refusal gets: pure, no database, no sockets.

Why: the scope rule is the relay's reason to exist, so it reads as a table a reviewer checks
against the issue: a kiosk creates, reads and deletes its own codes, reads and cancels its own
payments, and refunds (or captures, reverts) only its own sales; every other path is refused.
Ownership is the terminal prefix: a kiosk's merchantPaymentIds (and the refund, capture and
revert ids the engine derives from them) all start with "<terminal id>-".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote


class Refusal(Exception):
    """A call the relay will not forward: a PayPay-style envelope (status, code, message)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.key_id = self.kiosk = ""  # who asked, once known (for the log)

    def envelope(self) -> bytes:
        info = {"code": self.code, "message": self.message, "codeId": f"RELAY_{self.code}"}
        return json.dumps({"resultInfo": info, "data": None}).encode("utf-8")


def unauthorized(message: str) -> Refusal:
    return Refusal(401, "UNAUTHORIZED", message)


def out_of_scope(message: str) -> Refusal:
    return Refusal(403, "OP_OUT_OF_SCOPE", message)


def refund_limit(message: str) -> Refusal:
    return Refusal(400, "REFUND_LIMIT_EXCEEDED", message)


@dataclass(frozen=True)
class Call:
    """One kiosk call: its action, the id that proves ownership, and for money calls the
    payment and amount they touch."""

    action: str  # create_code, read_code, delete_code, read_payment, cancel, refund, ...
    owned_id: str = ""  # must start with the kiosk's prefix ("" for delete_code: by code id)
    code_id: str = ""
    payment_id: str = ""
    amount: int = 0
    read_timeout_s: float = 15.0


_ROUTES: tuple[tuple[str, re.Pattern[str], str, float], ...] = (
    ("POST", re.compile(r"^/v2/codes$"), "create_code", 30),
    ("GET", re.compile(r"^/v2/codes/payments/([^/]+)$"), "read_code", 15),
    ("DELETE", re.compile(r"^/v2/codes/([^/]+)$"), "delete_code", 15),
    ("GET", re.compile(r"^/v2/payments/([^/]+)$"), "read_payment", 15),
    ("DELETE", re.compile(r"^/v2/payments/([^/]+)$"), "cancel", 15),
    ("POST", re.compile(r"^/v2/refunds$"), "refund", 30),
    ("GET", re.compile(r"^/v2/refunds/([^/]+)$"), "read_refund", 15),
    ("POST", re.compile(r"^/v2/payments/capture$"), "capture", 30),
    ("POST", re.compile(r"^/v2/payments/preauthorize/revert$"), "revert", 30),
)


def classify(method: str, path: str, body: bytes) -> Call:
    """The call a request makes, or a Refusal (an endpoint kiosks have no use for)."""
    path = path.split("?", 1)[0]
    for route_method, pattern, action, timeout in _ROUTES:
        match = pattern.match(path)
        if route_method != method or match is None:
            continue
        if match.groups():
            ident = unquote(match[1])
            if action == "delete_code":
                return Call(action, code_id=ident, read_timeout_s=timeout)
            return Call(action, owned_id=ident, read_timeout_s=timeout)
        return _with_body(action, _json(body), timeout)
    raise out_of_scope(f"{method} {path} is not open to kiosks through the relay")


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise Refusal(400, "INVALID_REQUEST_PARAMS", "the body is not JSON") from None
    if not isinstance(value, dict):
        raise Refusal(400, "INVALID_REQUEST_PARAMS", "the body is not a JSON object")
    return value


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise Refusal(400, "MISSING_REQUEST_PARAMS", f"{name} is missing")
    return value


def _amount(body: dict[str, Any]) -> int:
    amount = body.get("amount")
    value = amount.get("amount") if isinstance(amount, dict) else None
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise Refusal(400, "INVALID_REQUEST_PARAMS", "amount.amount is not a positive integer")
    return value


def _with_body(action: str, body: dict[str, Any], timeout: float) -> Call:
    if action == "create_code":
        return Call(action, owned_id=_text(body, "merchantPaymentId"), read_timeout_s=timeout)
    if action == "refund":
        return Call(
            action,
            owned_id=_text(body, "merchantRefundId"),
            payment_id=_text(body, "paymentId"),
            amount=_amount(body),
            read_timeout_s=timeout,
        )
    if action == "capture":
        return Call(action, owned_id=_text(body, "merchantPaymentId"), read_timeout_s=timeout)
    # revert: its own revert id, and a payment this kiosk was seen to own
    return Call(
        action,
        owned_id=_text(body, "merchantRevertId"),
        payment_id=_text(body, "paymentId"),
        read_timeout_s=timeout,
    )


def owns(kiosk: str, ident: str) -> bool:
    """`ident` is one of this kiosk's ids: "<terminal id>-<14-digit JST stamp>-..." (as
    kiosk.engine.clock.make_id builds them), so kiosk "A" cannot claim kiosk "A-1"'s ids."""
    return re.match(re.escape(kiosk) + r"-\d{14}-", ident) is not None


def check_owned(call: Call, kiosk: str) -> None:
    """The id the call names belongs to this kiosk (its terminal prefix)."""
    if call.owned_id and not owns(kiosk, call.owned_id):
        raise out_of_scope(f"{call.owned_id} is not a {kiosk} id")
