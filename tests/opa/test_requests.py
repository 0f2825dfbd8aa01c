"""What goes on the wire: paths, methods, signed headers, the exact body bytes, no mutation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kiosk import opa
from kiosk.opa import signing
from tests.opa.conftest import EPOCH, FakeTime, make_client
from tests.opa.server import KEY, OpaTestServer

QR_REQUEST: dict[str, Any] = {
    "merchantPaymentId": "KIOSK-0001",
    "amount": {"amount": 500, "currency": "JPY"},
    "codeType": "ORDER_QR",
    "orderDescription": "Coffee",
    "isAuthorization": False,
}


def test_create_qr_code_sends_compact_json_signed_over_the_exact_bytes(
    client: opa.Client, server: OpaTestServer
) -> None:
    original = json.loads(json.dumps(QR_REQUEST))
    response = client.Code.create_qr_code(QR_REQUEST)
    assert response["resultInfo"]["code"] == "SUCCESS"
    (seen,) = server.seen
    assert seen.auth_error is None
    assert (seen.method, seen.path) == ("POST", "/v2/codes")
    # reference vector B1: the same body, bytes for bytes, and the same signature
    assert seen.body == (
        '{"merchantPaymentId":"KIOSK-0001","amount":{"amount":500,"currency":"JPY"},'
        '"codeType":"ORDER_QR","orderDescription":"Coffee","isAuthorization":false,'
        '"requestedAt":1700000000}'
    )
    assert seen.headers["content-type"] == "application/json;charset=UTF-8"
    fields = signing.parse_auth_header(seen.headers["authorization"])
    assert (fields.api_key, fields.nonce, fields.epoch) == (KEY, "n0000001", EPOCH)
    assert fields.body_hash == signing.body_hash("application/json;charset=UTF-8", seen.body)
    assert original == QR_REQUEST  # the caller's dict is untouched: requestedAt went on a copy
    assert "x-assume-merchant" not in seen.headers


def test_requested_at_given_by_the_caller_is_kept(
    client: opa.Client, server: OpaTestServer
) -> None:
    client.Code.create_qr_code({**QR_REQUEST, "requestedAt": 1699999999})
    assert json.loads(server.seen[0].body)["requestedAt"] == 1699999999


@pytest.mark.parametrize(
    ("call", "method", "path", "query"),
    [
        (
            lambda c: c.Code.get_payment_details("KIOSK-0001"),
            "GET",
            "/v2/codes/payments/KIOSK-0001",
            "",
        ),
        (
            lambda c: c.Code.delete_qr_code("04-abcdEFGH12345678"),
            "DELETE",
            "/v2/codes/04-abcdEFGH12345678",
            "",
        ),
        (lambda c: c.Payment.get_payment_details("M1"), "GET", "/v2/payments/M1", ""),
        (lambda c: c.Payment.cancel_payment("M1"), "DELETE", "/v2/payments/M1", ""),
        (lambda c: c.Payment.refund_details("R1"), "GET", "/v2/refunds/R1", ""),
        (lambda c: c.Payment.refund_status("R1"), "GET", "/v2/refunds/R1", ""),
        (lambda c: c.Payment.refund_details("R1", "P9"), "GET", "/v2/refunds/R1", "paymentId=P9"),
        (lambda c: c.Pending.get_payment_details("M2"), "GET", "/v1/requestOrder/M2", ""),
        (lambda c: c.Pending.cancel_payment("M2"), "DELETE", "/v1/requestOrder/M2", ""),
        (lambda c: c.Pending.refund_details("R2", "P2"), "GET", "/v2/refunds/R2", "paymentId=P2"),
        (
            lambda c: c.User.get_authorization_status("U1"),
            "GET",
            "/v2/user/authorizations",
            "userAuthorizationId=U1",
        ),
        (
            lambda c: c.User.unlink_user_authorization("U1"),
            "DELETE",
            "/v2/user/authorizations/U1",
            "",
        ),
        (
            lambda c: c.User.unlink_user_athorization("U1"),
            "DELETE",
            "/v2/user/authorizations/U1",
            "",
        ),
        (lambda c: c.Cashback.check_cashback_detail("C1"), "GET", "/v2/cashback/C1", ""),
        (lambda c: c.Cashback.check_give_cashback("C1"), "GET", "/v2/cashback/C1", ""),
        (
            lambda c: c.Cashback.check_cashback_reversal_detail("V1", "C1"),
            "GET",
            "/v2/cashback_reversal/V1/C1",
            "",
        ),
        (
            lambda c: c.Cashback.check_reversal_cashback("V1", "C1"),
            "GET",
            "/v2/cashback_reversal/V1/C1",
            "",
        ),
    ],
)
def test_calls_without_body_are_signed_empty_and_carry_no_content_type(
    client: opa.Client, server: OpaTestServer, call: Any, method: str, path: str, query: str
) -> None:
    response = call(client)
    assert response["data"] == {"method": method, "path": path, "query": query, "body": None}
    (seen,) = server.seen
    assert seen.auth_error is None and seen.body == ""
    assert seen.headers["authorization"].endswith(":empty")
    assert "content-type" not in seen.headers


AMOUNT = {"amount": 100, "currency": "JPY"}
POSTS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "Payment.refund_payment",
        "/v2/refunds",
        {"merchantRefundId": "R1", "paymentId": "P1", "amount": AMOUNT},
    ),
    (
        "Payment.capture_payment",
        "/v2/payments/capture",
        {
            "merchantPaymentId": "M1",
            "merchantCaptureId": "K1",
            "amount": AMOUNT,
            "orderDescription": "d",
        },
    ),
    (
        "Payment.revert_payment",
        "/v2/payments/preauthorize/revert",
        {"merchantRevertId": "V1", "paymentId": "P1"},
    ),
    (
        "Payment.create",
        "/v2/payments",
        {"merchantPaymentId": "M1", "userAuthorizationId": "U1", "amount": AMOUNT},
    ),
    (
        "Payment.create_continuous_payment",
        "/v1/subscription/payments",
        {"merchantPaymentId": "M1", "userAuthorizationId": "U1", "amount": AMOUNT},
    ),
    (
        "Preauth.pre_authorize_create",
        "/v2/payments/preauthorize",
        {"merchantPaymentId": "M1", "userAuthorizationId": "U1", "amount": AMOUNT},
    ),
    (
        "Pending.create_pending_payment",
        "/v1/requestOrder",
        {"merchantPaymentId": "M1", "userAuthorizationId": "U1", "amount": AMOUNT},
    ),
    (
        "Pending.refund_payment",
        "/v2/refunds",
        {"merchantRefundId": "R1", "paymentId": "P1", "amount": AMOUNT},
    ),
    (
        "Account.create_qr_session",
        "/v1/qr/sessions",
        {
            "scopes": ["direct_debit"],
            "nonce": "x",
            "redirectUrl": "https://e.example",
            "referenceId": "r",
        },
    ),
    (
        "Cashback.give_cashback",
        "/v2/cashback",
        {"merchantCashbackId": "C1", "userAuthorizationId": "U1", "amount": AMOUNT},
    ),
    (
        "Cashback.reverse_cashback",
        "/v2/cashback_reversal",
        {"merchantCashbackReversalId": "V1", "merchantCashbackId": "C1", "amount": AMOUNT},
    ),
]


@pytest.mark.parametrize(("name", "path", "data"), POSTS)
def test_every_post_sends_the_body_it_was_given(
    client: opa.Client, server: OpaTestServer, name: str, path: str, data: dict[str, Any]
) -> None:
    resource, method = name.split(".")
    response = getattr(getattr(client, resource), method)(data)
    assert response["data"]["path"] == path
    sent = response["data"]["body"]
    expected = dict(data)
    if name != "Account.create_qr_session":
        expected["requestedAt"] = EPOCH
    assert sent == expected
    assert server.seen[0].auth_error is None


def test_create_payment_can_agree_to_similar_transactions(
    client: opa.Client, server: OpaTestServer
) -> None:
    data = {"merchantPaymentId": "M1", "userAuthorizationId": "U1", "amount": AMOUNT}
    client.Payment.create(data, agree_similar_transaction=True)
    assert server.seen[0].query == "agreeSimilarTransaction=true"
    assert server.seen[0].auth_error is None  # the query string is not signed


def test_assume_merchant_header_is_sent_once_set(client: opa.Client, server: OpaTestServer) -> None:
    client.set_assume_merchant("MERCHANT-1")
    client.Code.get_payment_details("KIOSK-0001")
    assert server.seen[0].headers["x-assume-merchant"] == "MERCHANT-1"
    with pytest.raises(ValueError, match="merchant"):
        client.set_assume_merchant("M\r\nX-Evil: 1")
    client.set_assume_merchant("")
    client.Code.get_payment_details("KIOSK-0001")
    assert "x-assume-merchant" not in server.seen[1].headers


def test_ids_are_percent_quoted_in_the_path_and_the_signature_still_holds(
    client: opa.Client, server: OpaTestServer
) -> None:
    client.Code.get_payment_details("a/b c")
    assert server.seen[0].path == "/v2/codes/payments/a%2Fb%20c"
    assert server.seen[0].auth_error is None


def test_a_wrong_secret_is_refused_like_paypay_does(
    server: OpaTestServer, fake_time: FakeTime
) -> None:
    bad = opa.Client(auth=(KEY, "wrong"), base_url=server.base_url, clock=fake_time.clock)
    with bad, pytest.raises(opa.AuthError) as caught:
        bad.Code.get_payment_details("KIOSK-0001")
    assert (caught.value.status, caught.value.code, caught.value.code_id) == (
        401,
        "UNAUTHORIZED",
        "08100016",
    )
    assert "wrong" not in repr(caught.value) and "wrong" not in str(vars(caught.value))


def test_a_clock_more_than_two_minutes_off_is_refused(
    server: OpaTestServer, fake_time: FakeTime
) -> None:
    skewed = FakeTime(epoch=fake_time.epoch - 121)
    with make_client(server, skewed) as client, pytest.raises(opa.AuthError):
        client.Code.get_payment_details("KIOSK-0001")
