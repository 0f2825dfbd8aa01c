"""Request-body checks that turn any bad input into a 400, never a 500.

Why: PayPay answers malformed requests with MISSING_REQUEST_PARAMS (a required field is absent)
or INVALID_REQUEST_PARAMS (present but of the wrong type or size). Each helper either returns
a value of the promised type or raises :class:`ApiError`; handlers never touch raw JSON.
"""

from __future__ import annotations

import json
from typing import Any

from kiosk.simulator.envelope import INVALID_REQUEST_PARAMS, MISSING_REQUEST_PARAMS, ApiError

MAX_ID = 64
MAX_TEXT = 255
MAX_AMOUNT_DIGITS = 11
MAX_ITEMS = 100

Body = dict[str, Any]


def parse_json_object(raw: bytes) -> Body:
    if not raw:
        raise ApiError(MISSING_REQUEST_PARAMS, "request body is required")
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ApiError(INVALID_REQUEST_PARAMS, "request body is not JSON") from None
    if not isinstance(value, dict):
        raise ApiError(INVALID_REQUEST_PARAMS, "request body must be a JSON object")
    return value


def _missing(body: Body, key: str) -> bool:
    return key not in body or body[key] is None


def req_str(body: Body, key: str, max_len: int = MAX_ID) -> str:
    if _missing(body, key):
        raise ApiError(MISSING_REQUEST_PARAMS, f"{key} is required")
    return _check_str(body[key], key, max_len)


def opt_str(body: Body, key: str, max_len: int = MAX_TEXT) -> str | None:
    if _missing(body, key):
        return None
    return _check_str(body[key], key, max_len)


def _check_str(value: object, key: str, max_len: int) -> str:
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise ApiError(INVALID_REQUEST_PARAMS, f"{key} must be a string of 1 to {max_len} chars")
    return value


def opt_int(body: Body, key: str) -> int | None:
    if _missing(body, key):
        return None
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 10**12:
        raise ApiError(INVALID_REQUEST_PARAMS, f"{key} must be a non-negative integer")
    return value


def opt_bool(body: Body, key: str) -> bool | None:
    if _missing(body, key):
        return None
    value = body[key]
    if not isinstance(value, bool):
        raise ApiError(INVALID_REQUEST_PARAMS, f"{key} must be a boolean")
    return value


def opt_object(body: Body, key: str) -> dict[str, Any] | None:
    if _missing(body, key):
        return None
    value = body[key]
    if not isinstance(value, dict):
        raise ApiError(INVALID_REQUEST_PARAMS, f"{key} must be an object")
    return value


def amount_of(value: object, key: str, *, allow_zero: bool = False) -> int:
    """A ``{"amount": int, "currency": "JPY"}`` object; returns the yen."""
    if value is None:
        raise ApiError(MISSING_REQUEST_PARAMS, f"{key} is required")
    if not isinstance(value, dict):
        raise ApiError(INVALID_REQUEST_PARAMS, f"{key} must be an object")
    if value.get("amount") is None or value.get("currency") is None:
        raise ApiError(MISSING_REQUEST_PARAMS, f"{key}.amount and {key}.currency are required")
    yen, currency = value["amount"], value["currency"]
    low = 0 if allow_zero else 1
    if isinstance(yen, bool) or not isinstance(yen, int) or not low <= yen < 10**MAX_AMOUNT_DIGITS:
        raise ApiError(INVALID_REQUEST_PARAMS, f"{key}.amount must be a positive integer")
    if currency != "JPY":
        raise ApiError(INVALID_REQUEST_PARAMS, f"{key}.currency must be JPY")
    return yen


def req_amount(body: Body, key: str = "amount") -> int:
    return amount_of(body.get(key), key)


def one_of(body: Body, key: str, allowed: tuple[str, ...], *, required: bool) -> str | None:
    if _missing(body, key):
        if required:
            raise ApiError(MISSING_REQUEST_PARAMS, f"{key} is required")
        return None
    value = body[key]
    if value not in allowed:
        raise ApiError(INVALID_REQUEST_PARAMS, f"{key} must be one of {', '.join(allowed)}")
    return str(value)


def order_items(body: Body) -> list[dict[str, Any]] | None:
    """Validate ``orderItems`` and return them with PayPay's echo spelling ``unit_price``."""
    if _missing(body, "orderItems"):
        return None
    items = body["orderItems"]
    if not isinstance(items, list) or len(items) > MAX_ITEMS:
        raise ApiError(INVALID_REQUEST_PARAMS, f"orderItems must be a list of <= {MAX_ITEMS}")
    echoed: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        key = f"orderItems[{index}]"
        if not isinstance(item, dict):
            raise ApiError(INVALID_REQUEST_PARAMS, f"{key} must be an object")
        name = req_str(item, "name", MAX_TEXT)
        quantity = item.get("quantity")
        if quantity is None:
            raise ApiError(MISSING_REQUEST_PARAMS, f"{key}.quantity is required")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity < 10**6:
            raise ApiError(INVALID_REQUEST_PARAMS, f"{key}.quantity must be a positive integer")
        price = amount_of(item.get("unitPrice"), f"{key}.unitPrice", allow_zero=True)
        out: dict[str, Any] = {"name": name, "quantity": quantity}
        for optional in ("category", "productId"):
            value = opt_str(item, optional)
            if value is not None:
                out[optional] = value
        out["unit_price"] = {"amount": price, "currency": "JPY"}
        echoed.append(out)
    return echoed
