"""The rest of the client's surface: direct payments, preauthorize, subscriptions, pending
request orders, account link, user authorizations, wallet balance, cashback.

Why here and plausible rather than complete: the kiosk never calls these, but the project's
client implements PayPay's whole surface, so each endpoint validates its body like the
kiosk's ones do (400, never 500) and keeps enough state that a create can be read back,
cancelled, refunded or reversed. Direct-debit orders are paid at once (the user linked their
account beforehand); a pending request order waits for the customer like a QR code does.
"""

from __future__ import annotations

from typing import Any

from kiosk.simulator import envelope as err
from kiosk.simulator import validate as v
from kiosk.simulator.envelope import ApiError
from kiosk.simulator.model import yen
from kiosk.simulator.routes import Call, Context, Reply, Route, _route, accepted, ok

USER_AUTH_ID = "userAuthorizationId"
DEFAULT_PENDING_S = 24 * 3600  # simulator choice for a request order without expiryDate


def _order_echo(body: v.Body) -> tuple[dict[str, Any], int]:
    echo: dict[str, Any] = {"merchantPaymentId": v.req_str(body, "merchantPaymentId")}
    amount = v.req_amount(body)
    echo["amount"] = yen(amount)
    if (text := v.opt_str(body, "orderDescription")) is not None:
        echo["orderDescription"] = text
    if (items := v.order_items(body)) is not None:
        echo["orderItems"] = items
    if (metadata := v.opt_object(body, "metadata")) is not None:
        echo["metadata"] = metadata
    for key in ("storeId", "terminalId", "storeInfo"):
        if (text := v.opt_str(body, key)) is not None:
            echo[key] = text
    return echo, amount


def _linked_user(ctx: Context, body: v.Body) -> str:
    user = v.req_str(body, USER_AUTH_ID)
    if user in ctx.ledger.extras["unlinked"]:
        raise ApiError(err.E(400, "USER_AUTHORIZATION_ID_NOT_FOUND", "08100026", "Not linked"))
    return user


def _direct(kind: str, authorize: bool) -> Any:
    def handler(ctx: Context, call: Call) -> Reply:
        body = v.parse_json_object(call.raw)
        echo, amount = _order_echo(body)
        user = _linked_user(ctx, body)
        echo[USER_AUTH_ID] = user
        ledger = ctx.ledger
        with ledger.lock:
            ledger.create_code(
                echo=echo,
                amount=amount,
                requested_at=v.opt_int(body, "requestedAt"),
                is_authorization=authorize,
                authorization_expiry=None,
                now=call.now,
                expiry_s=ctx.expiry_s,
                qr_base=ctx.qr_base,
                kind=kind,
                user_authorization_id=user,
            )
            code = ledger.codes[echo["merchantPaymentId"]]
            ledger.pay_order(code, call.now)
            data = ledger.payment_details(code.merchant_payment_id, call.now)
        return ok(data | {USER_AUTH_ID: user}, 201)

    return handler


def create_pending(ctx: Context, call: Call) -> Reply:
    body = v.parse_json_object(call.raw)
    echo, amount = _order_echo(body)
    user = _linked_user(ctx, body)
    requested_at = v.opt_int(body, "requestedAt")
    expiry = v.opt_int(body, "expiryDate")
    start = requested_at if requested_at is not None else call.now
    lifetime_s = (expiry - start) if expiry is not None else DEFAULT_PENDING_S
    if lifetime_s <= 0:
        raise ApiError(err.INVALID_REQUEST_PARAMS, "expiryDate must be after requestedAt")
    data = ctx.ledger.create_code(
        echo=echo | {USER_AUTH_ID: user},
        amount=amount,
        requested_at=requested_at,
        is_authorization=False,
        authorization_expiry=None,
        now=call.now,
        expiry_s=lifetime_s,
        qr_base=ctx.qr_base,
        kind="PENDING",
        user_authorization_id=user,
    )
    data.pop("deeplink", None)
    return ok(data | {"status": "CREATED"}, 201)


def _pending(ctx: Context, call: Call) -> Any:
    code = ctx.ledger.codes.get(call.params["id"])
    if code is None or code.kind != "PENDING":
        raise ApiError(err.REQUEST_ORDER_NOT_FOUND)
    return code


def get_pending(ctx: Context, call: Call) -> Reply:
    with ctx.ledger.lock:
        code = _pending(ctx, call)
        return ok(ctx.ledger.code_details(code.merchant_payment_id, call.now))


def cancel_pending(ctx: Context, call: Call) -> Reply:
    with ctx.ledger.lock:
        code = _pending(ctx, call)
        if code.payment_id is not None:
            raise ApiError(err.UNACCEPTABLE_OP, "request order already paid; refund it")
        ctx.ledger.delete_code(code.code_id, call.now)
    return ok(None)


def create_qr_session(ctx: Context, call: Call) -> Reply:
    body = v.parse_json_object(call.raw)
    scopes = body.get("scopes")
    if scopes is None:
        raise ApiError(err.MISSING_REQUEST_PARAMS, "scopes is required")
    if not isinstance(scopes, list) or not scopes or not all(isinstance(s, str) for s in scopes):
        raise ApiError(err.INVALID_REQUEST_PARAMS, "scopes must be a list of strings")
    for key in ("nonce", "referenceId"):
        v.req_str(body, key, v.MAX_TEXT)
    v.req_str(body, "redirectUrl", 2048)
    v.one_of(body, "redirectType", ("WEB_LINK", "APP_DEEP_LINK"), required=False)
    token = "".join(ctx.ledger.rng.choice("abcdef0123456789") for _ in range(24))
    with ctx.ledger.lock:
        ctx.ledger.extras["sessions"][token] = {"scopes": scopes, "createdAt": call.now}
        ctx.ledger.on_change()
    return ok({"linkQRCode": f"{ctx.qr_base}/link/{token}"}, 201)


def get_user_authorization(ctx: Context, call: Call) -> Reply:
    user = call.query.get(USER_AUTH_ID)
    if not user:
        raise ApiError(err.MISSING_REQUEST_PARAMS, "userAuthorizationId is required")
    unlinked = user in ctx.ledger.extras["unlinked"]
    return ok(
        {
            USER_AUTH_ID: user,
            "referenceIds": [],
            "status": "INACTIVE" if unlinked else "ACTIVE",
            "scopes": ["direct_debit", "cashback", "pending_payments", "continuous_payments"],
            "expireAt": call.now + 365 * 86_400,
            "issuedAt": call.now,
        }
    )


def unlink_user(ctx: Context, call: Call) -> Reply:
    with ctx.ledger.lock:
        ctx.ledger.extras["unlinked"][call.params["id"]] = call.now
        ctx.ledger.on_change()
    return ok(None)


def check_balance(ctx: Context, call: Call) -> Reply:
    user, amount = call.query.get(USER_AUTH_ID), call.query.get("amount", "")
    if not user or not amount:
        raise ApiError(err.MISSING_REQUEST_PARAMS, "userAuthorizationId and amount are required")
    if not amount.isdigit() or call.query.get("currency", "JPY") != "JPY":
        raise ApiError(err.INVALID_REQUEST_PARAMS, "amount must be a whole number of JPY")
    return ok({"hasEnoughBalance": True})


def give_cashback(ctx: Context, call: Call) -> Reply:
    body = v.parse_json_object(call.raw)
    cashback_id = v.req_str(body, "merchantCashbackId")
    record = {
        "cashbackStatus": "SUCCESS",
        "merchantCashbackId": cashback_id,
        USER_AUTH_ID: _linked_user(ctx, body),
        "amount": yen(v.req_amount(body)),
        "requestedAt": v.opt_int(body, "requestedAt") or call.now,
        "completedAt": call.now,
        "orderDescription": v.opt_str(body, "orderDescription") or "",
        "walletType": v.one_of(body, "walletType", ("PREPAID", "CASHBACK"), required=False)
        or "PREPAID",
    }
    with ctx.ledger.lock:
        existing = ctx.ledger.extras["cashbacks"].get(cashback_id)
        if existing is not None and existing != record | {"completedAt": existing["completedAt"]}:
            raise ApiError(err.DUPLICATE_REQUEST)
        if existing is None:
            ctx.ledger.extras["cashbacks"][cashback_id] = record
            ctx.ledger.on_change()
    return accepted()


def get_cashback(ctx: Context, call: Call) -> Reply:
    record = ctx.ledger.extras["cashbacks"].get(call.params["id"])
    if record is None:
        raise ApiError(err.RESOURCE_NOT_FOUND)
    return ok(dict(record))


def reverse_cashback(ctx: Context, call: Call) -> Reply:
    body = v.parse_json_object(call.raw)
    reversal_id = v.req_str(body, "merchantCashbackReversalId")
    cashback_id = v.req_str(body, "merchantCashbackId")
    amount = v.req_amount(body)
    reason = v.opt_str(body, "reason")
    with ctx.ledger.lock:
        cashback = ctx.ledger.extras["cashbacks"].get(cashback_id)
        if cashback is None:
            raise ApiError(err.RESOURCE_NOT_FOUND)
        reversed_yen = sum(
            r["amount"]["amount"]
            for r in ctx.ledger.extras["reversals"].values()
            if r["merchantCashbackId"] == cashback_id
        )
        key = f"{reversal_id}/{cashback_id}"
        if key in ctx.ledger.extras["reversals"]:
            return accepted()
        if amount > cashback["amount"]["amount"] - reversed_yen:
            raise ApiError(err.INVALID_PARAMS, "amount above what is left to reverse")
        ctx.ledger.extras["reversals"][key] = {
            "cashbackStatus": "SUCCESS",
            "merchantCashbackReversalId": reversal_id,
            "merchantCashbackId": cashback_id,
            "amount": yen(amount),
            "requestedAt": v.opt_int(body, "requestedAt") or call.now,
            "completedAt": call.now,
            "reason": reason or "",
        }
        ctx.ledger.on_change()
    return accepted()


def get_cashback_reversal(ctx: Context, call: Call) -> Reply:
    key = f"{call.params['id']}/{call.params['id2']}"
    record = ctx.ledger.extras["reversals"].get(key)
    if record is None:
        raise ApiError(err.RESOURCE_NOT_FOUND)
    return ok(dict(record))


EXTRA_ROUTES: list[Route] = [
    _route("POST", "/v2/payments", "create_payment", _direct("DIRECT", authorize=False)),
    _route("POST", "/v2/payments/preauthorize", "preauthorize", _direct("PREAUTH", authorize=True)),
    _route(
        "POST",
        "/v1/subscription/payments",
        "create_continuous_payment",
        _direct("CONTINUOUS", authorize=False),
    ),
    _route("POST", "/v1/requestOrder", "create_pending_payment", create_pending),
    _route("GET", "/v1/requestOrder/{id}", "get_pending_payment", get_pending),
    _route("DELETE", "/v1/requestOrder/{id}", "cancel_pending_payment", cancel_pending),
    _route("POST", "/v1/qr/sessions", "create_qr_session", create_qr_session),
    _route("GET", "/v2/user/authorizations", "get_user_authorization", get_user_authorization),
    _route("DELETE", "/v2/user/authorizations/{id}", "unlink_user", unlink_user),
    _route("GET", "/v2/wallet/check_balance", "check_balance", check_balance),
    _route("POST", "/v2/cashback", "give_cashback", give_cashback),
    _route("GET", "/v2/cashback/{id}", "get_cashback", get_cashback),
    _route("POST", "/v2/cashback_reversal", "reverse_cashback", reverse_cashback),
    _route(
        "GET", "/v2/cashback_reversal/{id}/{id2}", "get_cashback_reversal", get_cashback_reversal
    ),
]
