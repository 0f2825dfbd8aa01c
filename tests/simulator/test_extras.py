"""The non-kiosk surface: plausible state, validation, never a 5xx."""

from __future__ import annotations

from kiosk.simulator import SimulatorControl
from tests.simulator.signed import Signed

YEN = {"amount": 800, "currency": "JPY"}


def code(response: object) -> str:
    return str(response.json()["resultInfo"]["code"])  # type: ignore[attr-defined]


def test_direct_payment_is_completed_refundable_and_cancellable(
    api: Signed, ctl: SimulatorControl
) -> None:
    body = {"merchantPaymentId": "D-1", "userAuthorizationId": "U-1", "amount": YEN}
    created = api.request("POST", "/v2/payments?agreeSimilarTransaction=true", body)
    assert created.status_code == 201
    data = created.json()["data"]
    assert data["status"] == "COMPLETED" and len(data["paymentId"]) == 20
    assert api.request("GET", "/v2/payments/D-1").json()["data"]["status"] == "COMPLETED"
    assert code(api.request("POST", "/v2/payments", body)) == "DUPLICATE_REQUEST"
    refund = {"merchantRefundId": "DR-1", "paymentId": data["paymentId"], "amount": YEN}
    assert api.request("POST", "/v2/refunds", refund).status_code == 201
    payments = ctl.ledger()["payments"]
    assert payments[0]["status"] == "REFUNDED"
    assert ctl.ledger()["codes"][0]["kind"] == "DIRECT" and not ctl.ledger()["codes"][0]["payable"]


def test_preauthorize_and_continuous(api: Signed) -> None:
    pre = {"merchantPaymentId": "D-2", "userAuthorizationId": "U-1", "amount": YEN}
    assert api.request("POST", "/v2/payments/preauthorize", pre).json()["data"]["status"] == (
        "AUTHORIZED"
    )
    sub = {"merchantPaymentId": "D-3", "userAuthorizationId": "U-1", "amount": YEN}
    assert api.request("POST", "/v1/subscription/payments", sub).status_code == 201
    missing = api.request("POST", "/v2/payments", {"merchantPaymentId": "D-4", "amount": YEN})
    assert missing.status_code == 400 and code(missing) == "MISSING_REQUEST_PARAMS"


def test_pending_request_order_waits_for_the_customer(api: Signed, ctl: SimulatorControl) -> None:
    body = {"merchantPaymentId": "PO-1", "userAuthorizationId": "U-2", "amount": YEN}
    created = api.request("POST", "/v1/requestOrder", body)
    assert created.status_code == 201 and created.json()["data"]["status"] == "CREATED"
    assert api.request("GET", "/v1/requestOrder/PO-1").json()["data"]["status"] == "CREATED"
    ctl.pay_by_merchant_payment_id("PO-1")
    assert api.request("GET", "/v1/requestOrder/PO-1").json()["data"]["status"] == "COMPLETED"
    assert api.request("DELETE", "/v1/requestOrder/PO-1").status_code == 400
    api.request("POST", "/v1/requestOrder", body | {"merchantPaymentId": "PO-2"})
    assert api.request("DELETE", "/v1/requestOrder/PO-2").status_code == 200
    unknown = api.request("GET", "/v1/requestOrder/PO-9")
    assert unknown.status_code == 400 and code(unknown) == "REQUEST_ORDER_NOT_FOUND"


def test_account_link_session_user_status_and_unlink(api: Signed) -> None:
    session = {
        "scopes": ["direct_debit"],
        "nonce": "abc",
        "redirectUrl": "https://example.com/cb",
        "referenceId": "ref-1",
        "redirectType": "WEB_LINK",
    }
    created = api.request("POST", "/v1/qr/sessions", session)
    assert created.status_code == 201 and "/link/" in created.json()["data"]["linkQRCode"]
    assert api.request("POST", "/v1/qr/sessions", {"nonce": "x"}).status_code == 400
    status = api.request("GET", "/v2/user/authorizations?userAuthorizationId=U-3")
    assert status.json()["data"]["status"] == "ACTIVE"
    assert api.request("DELETE", "/v2/user/authorizations/U-3").status_code == 200
    status = api.request("GET", "/v2/user/authorizations?userAuthorizationId=U-3")
    assert status.json()["data"]["status"] == "INACTIVE"
    refused = api.request(
        "POST",
        "/v2/payments",
        {"merchantPaymentId": "D-5", "userAuthorizationId": "U-3", "amount": YEN},
    )
    assert refused.status_code == 400
    assert api.request("GET", "/v2/user/authorizations").status_code == 400


def test_wallet_balance(api: Signed) -> None:
    ok = api.request("GET", "/v2/wallet/check_balance?userAuthorizationId=U&amount=10&currency=JPY")
    assert ok.json()["data"] == {"hasEnoughBalance": True}
    assert api.request("GET", "/v2/wallet/check_balance?amount=x").status_code == 400


def test_cashback_give_read_reverse(api: Signed, ctl: SimulatorControl) -> None:
    give = {"merchantCashbackId": "CB-1", "userAuthorizationId": "U-4", "amount": YEN}
    given = api.request("POST", "/v2/cashback", give)
    assert given.status_code == 202 and code(given) == "REQUEST_ACCEPTED"
    assert api.request("POST", "/v2/cashback", give).status_code == 202  # idempotent retry
    detail = api.request("GET", "/v2/cashback/CB-1").json()["data"]
    assert detail["cashbackStatus"] == "SUCCESS" and detail["amount"] == YEN
    reverse = {
        "merchantCashbackReversalId": "RV-1",
        "merchantCashbackId": "CB-1",
        "amount": {"amount": 300, "currency": "JPY"},
    }
    assert api.request("POST", "/v2/cashback_reversal", reverse).status_code == 202
    too_much = reverse | {"merchantCashbackReversalId": "RV-2", "amount": YEN}
    assert api.request("POST", "/v2/cashback_reversal", too_much).status_code == 400
    got = api.request("GET", "/v2/cashback_reversal/RV-1/CB-1").json()["data"]
    assert got["amount"]["amount"] == 300
    assert api.request("GET", "/v2/cashback/CB-9").status_code == 404
    assert len(ctl.ledger()["cashbacks"]) == 1 and len(ctl.ledger()["cashback_reversals"]) == 1
