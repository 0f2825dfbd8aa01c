"""Checks a request before anything is sent, and builds the copy that is sent.

Why: PayPay answers a malformed request with a 400 after a network round trip, and the seed SDK
raises KeyError or sends nonsense. Here every rule from the reference (ids <= 64 characters,
descriptions <= 255, JPY amounts positive integers, required fields per API) fails fast with a
ValueError that names the field, and the caller's dict is never touched: ``prepare`` returns a
new top-level dict with ``requestedAt`` filled in when missing.

Leniency kept for the seed README's examples: an amount given as a bare integer (``"amount": 1``)
becomes ``{"amount": 1, "currency": "JPY"}``, and an integral float (``26.00``) becomes an int.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_ID_CHARS = 64
MAX_TEXT_CHARS = 255
MAX_AMOUNT_YEN = 10**11 - 1  # "integer <= 11 characters"
TEXT_FIELDS = ("orderDescription", "reason", "storeInfo", "storeId", "terminalId")


@dataclass(frozen=True)
class Rule:
    """What one POST body must contain."""

    ids: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    amount: bool = True
    required_text: tuple[str, ...] = ()
    order_items: bool = False
    requested_at: bool = True


def check_id(field: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{field} is required: a non-empty string of at most {MAX_ID_CHARS}")
    if len(value) > MAX_ID_CHARS:
        raise ValueError(f"{field} is {len(value)} characters long; at most {MAX_ID_CHARS}")
    if any(ord(ch) < 0x20 or ch == "\x7f" for ch in value):
        raise ValueError(f"{field} contains a control character")
    return value


def check_text(field: str, value: object, *, required: bool = False) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str) or (required and not value):
        raise ValueError(f"{field} must be a string of at most {MAX_TEXT_CHARS} characters")
    if len(value) > MAX_TEXT_CHARS:
        raise ValueError(f"{field} is {len(value)} characters long; at most {MAX_TEXT_CHARS}")


def yen(field: str, value: object, *, allow_zero: bool = False) -> int:
    """A JPY amount as an int; integral floats are accepted, bools and fractions are not."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{field} must be a whole number of yen, got {type(value).__name__}")
    lowest = 0 if allow_zero else 1
    if not lowest <= value <= MAX_AMOUNT_YEN:
        raise ValueError(f"{field} must be between {lowest} and {MAX_AMOUNT_YEN} yen, got {value}")
    return value


def money(field: str, value: object, *, allow_zero: bool = False) -> dict[str, Any]:
    """A money object ``{"amount": int, "currency": "JPY"}`` (a new dict, never the input)."""
    if value is None:
        raise ValueError(f"{field} is required: {{'amount': <yen>, 'currency': 'JPY'}}")
    if not isinstance(value, Mapping):
        return {"amount": yen(field, value, allow_zero=allow_zero), "currency": "JPY"}
    if "amount" not in value:
        raise ValueError(f"{field}.amount is required")
    currency = value.get("currency", None)
    if currency != "JPY":
        raise ValueError(f"{field}.currency must be 'JPY', got {currency!r}")
    result = dict(value)
    result["amount"] = yen(f"{field}.amount", value["amount"], allow_zero=allow_zero)
    return result


def _check_items(items: object) -> list[dict[str, Any]]:
    if not isinstance(items, list):
        raise ValueError("orderItems must be a list")
    checked: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        where = f"orderItems[{index}]"
        if not isinstance(item, Mapping):
            raise ValueError(f"{where} must be an object")
        check_text(f"{where}.name", item.get("name"), required=True)
        quantity = item.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise ValueError(f"{where}.quantity must be a positive integer")
        copy = dict(item)
        copy["unitPrice"] = money(f"{where}.unitPrice", item.get("unitPrice"), allow_zero=True)
        checked.append(copy)
    return checked


def prepare(data: object, rule: Rule, *, now_epoch: int) -> dict[str, Any]:
    """Validate ``data`` against ``rule``; return the body to send (a copy)."""
    if not isinstance(data, Mapping):
        raise ValueError(f"the request body must be a dict, got {type(data).__name__}")
    body: dict[str, Any] = dict(data)
    for field in rule.ids:
        check_id(field, body.get(field))
    for field in rule.required:
        if body.get(field) in (None, "", [], {}):
            raise ValueError(f"{field} is required")
    for field in rule.required_text:
        check_text(field, body.get(field), required=True)
    for field in TEXT_FIELDS:
        if field not in rule.required_text:
            check_text(field, body.get(field))
    if rule.amount or "amount" in body:
        body["amount"] = money("amount", body.get("amount"))
    if rule.order_items and body.get("orderItems") is not None:
        body["orderItems"] = _check_items(body["orderItems"])
    if "isAuthorization" in body and not isinstance(body["isAuthorization"], bool):
        raise ValueError("isAuthorization must be a bool")
    requested_at = body.get("requestedAt")
    if requested_at is None:
        if rule.requested_at:
            body["requestedAt"] = now_epoch
    elif isinstance(requested_at, bool) or not isinstance(requested_at, int) or requested_at < 0:
        raise ValueError("requestedAt must be epoch seconds (a non-negative int)")
    return body
