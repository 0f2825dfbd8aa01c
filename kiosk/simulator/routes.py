"""The kiosk's PayPay endpoints: path table, request validation, ledger calls.

Why a table: one row per endpoint gives its method, path pattern, the short name that faults
and docs use, and the handler, so routing and fault names can never disagree. Handlers
validate every field (a 400, never a 500) and then make exactly one ledger call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kiosk.simulator import envelope as err
from kiosk.simulator import validate as v
from kiosk.simulator.envelope import success_body
from kiosk.simulator.ledger import Ledger


@dataclass(frozen=True)
class Context:
    ledger: Ledger
    expiry_s: int
    qr_base: str


@dataclass(frozen=True)
class Call:
    params: dict[str, str]
    query: dict[str, str]
    raw: bytes
    now: int


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]


Handler = Callable[[Context, Call], Reply]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    endpoint: str
    handler: Handler


def ok(data: Any, status: int = 200) -> Reply:
    return Reply(status, success_body(data))


def accepted(data: Any = None) -> Reply:
    return Reply(202, success_body(data, accepted=True))


def create_code(ctx: Context, call: Call) -> Reply:
    body = v.parse_json_object(call.raw)
    echo: dict[str, Any] = {"merchantPaymentId": v.req_str(body, "merchantPaymentId")}
    amount = v.req_amount(body)
    echo["amount"] = {"amount": amount, "currency": "JPY"}
    for key in ("orderDescription",):
        if (text := v.opt_str(body, key)) is not None:
            echo[key] = text
    if (items := v.order_items(body)) is not None:
        echo["orderItems"] = items
    if (metadata := v.opt_object(body, "metadata")) is not None:
        echo["metadata"] = metadata
    echo["codeType"] = v.one_of(body, "codeType", ("ORDER_QR",), required=True)
    for key in ("storeInfo", "storeId", "terminalId"):
        if (text := v.opt_str(body, key)) is not None:
            echo[key] = text
    requested_at = v.opt_int(body, "requestedAt")
    if (url := v.opt_str(body, "redirectUrl", 2048)) is not None:
        echo["redirectUrl"] = url
    redirect = v.one_of(body, "redirectType", ("WEB_LINK", "APP_DEEP_LINK"), required=False)
    if redirect is not None:
        echo["redirectType"] = redirect
    if (agent := v.opt_str(body, "userAgent", 2048)) is not None:
        echo["userAgent"] = agent
    is_authorization = bool(v.opt_bool(body, "isAuthorization"))
    authorization_expiry = v.opt_int(body, "authorizationExpiry") if is_authorization else None
    if authorization_expiry is not None:
        echo["authorizationExpiry"] = authorization_expiry
    data = ctx.ledger.create_code(
        echo=echo,
        amount=amount,
        requested_at=requested_at,
        is_authorization=is_authorization,
        authorization_expiry=authorization_expiry,
        now=call.now,
        expiry_s=ctx.expiry_s,
        qr_base=ctx.qr_base,
    )
    return ok(data, 201)


def merchant_payment_id_of(raw: bytes) -> str | None:
    """The merchantPaymentId of a create body, if it has one (to count create attempts)."""
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if isinstance(body, dict) and isinstance(body.get("merchantPaymentId"), str):
        return str(body["merchantPaymentId"])
    return None


def get_code_payment(ctx: Context, call: Call) -> Reply:
    return ok(ctx.ledger.code_details(call.params["id"], call.now))


def delete_code(ctx: Context, call: Call) -> Reply:
    ctx.ledger.delete_code(call.params["id"], call.now)
    return ok(None)


def get_payment(ctx: Context, call: Call) -> Reply:
    return ok(ctx.ledger.payment_details(call.params["id"], call.now))


def cancel_payment(ctx: Context, call: Call) -> Reply:
    ctx.ledger.cancel(call.params["id"], call.now)
    return accepted()


def refund(ctx: Context, call: Call) -> Reply:
    body = v.parse_json_object(call.raw)
    data = ctx.ledger.refund(
        merchant_refund_id=v.req_str(body, "merchantRefundId"),
        payment_id=v.req_str(body, "paymentId"),
        amount=v.req_amount(body),
        requested_at=v.opt_int(body, "requestedAt"),
        reason=v.opt_str(body, "reason"),
        now=call.now,
    )
    return ok(data, 201)


def get_refund(ctx: Context, call: Call) -> Reply:
    payment_id = call.query.get("paymentId") or None
    return ok(ctx.ledger.refund_details(call.params["id"], payment_id, call.now))


USER_CONFIRMATION_REQUIRED = {
    "code": "USER_CONFIRMATION_REQUIRED",
    "message": "User confirmation required",
    "codeId": "08300103",
}


def capture(ctx: Context, call: Call) -> Reply:
    body = v.parse_json_object(call.raw)
    data, confirm = ctx.ledger.capture(
        merchant_payment_id=v.req_str(body, "merchantPaymentId"),
        merchant_capture_id=v.req_str(body, "merchantCaptureId"),
        amount=v.req_amount(body),
        order_description=v.req_str(body, "orderDescription", v.MAX_TEXT),
        requested_at=v.opt_int(body, "requestedAt"),
        now=call.now,
    )
    if confirm:
        return Reply(202, {"resultInfo": dict(USER_CONFIRMATION_REQUIRED), "data": data})
    return ok(data)


def revert(ctx: Context, call: Call) -> Reply:
    body = v.parse_json_object(call.raw)
    data = ctx.ledger.revert(
        merchant_revert_id=v.req_str(body, "merchantRevertId"),
        payment_id=v.req_str(body, "paymentId"),
        requested_at=v.opt_int(body, "requestedAt"),
        reason=v.opt_str(body, "reason"),
        now=call.now,
    )
    return ok(data)


def _route(method: str, pattern: str, endpoint: str, handler: Handler) -> Route:
    regex = "^" + pattern.replace("{id}", "(?P<id>[^/]+)").replace("{id2}", "(?P<id2>[^/]+)") + "$"
    return Route(method, re.compile(regex), endpoint, handler)


ROUTES: list[Route] = [
    _route("POST", "/v2/codes", "create_code", create_code),
    _route("GET", "/v2/codes/payments/{id}", "get_code_payment", get_code_payment),
    _route("DELETE", "/v2/codes/{id}", "delete_code", delete_code),
    _route("POST", "/v2/payments/capture", "capture", capture),
    _route("POST", "/v2/payments/preauthorize/revert", "revert", revert),
    _route("GET", "/v2/payments/{id}", "get_payment", get_payment),
    _route("DELETE", "/v2/payments/{id}", "cancel_payment", cancel_payment),
    _route("POST", "/v2/refunds/?", "refund", refund),
    _route("GET", "/v2/refunds/{id}", "get_refund", get_refund),
]


def find(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]]:
    """The route for a request; ApiError 404 (unknown path) or 405 (known path, other method)."""
    from urllib.parse import unquote

    path_known = False
    for route in routes:
        match = route.pattern.match(path)
        if match is None:
            continue
        path_known = True
        if route.method == method:
            return route, {k: unquote(val) for k, val in match.groupdict().items()}
    raise err.ApiError(err.METHOD_NOT_ALLOWED if path_known else err.NOT_FOUND_PATH)
