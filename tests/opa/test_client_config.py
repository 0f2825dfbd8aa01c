"""Constructor strictness, environments, validation before sending, JWTs, the version."""

from __future__ import annotations

import base64
import json
import re
import socket
from pathlib import Path
from typing import Any

import jwt
import pytest

from kiosk import opa
from tests.opa.conftest import EPOCH, FakeTime
from tests.opa.server import KEY, SECRET, OpaTestServer

QR: dict[str, Any] = {
    "merchantPaymentId": "M1",
    "amount": {"amount": 500, "currency": "JPY"},
    "codeType": "ORDER_QR",
}
JWT_SECRET = base64.b64encode(bytes(range(32))).decode()


@pytest.mark.parametrize("name", ["production_mode", "perf_mode"])
@pytest.mark.parametrize("value", ["true", "False", 1, 0, None])
def test_mode_flags_must_be_real_bools(name: str, value: object) -> None:
    with pytest.raises(TypeError, match=name):
        opa.Client(auth=("k", "s"), **{name: value})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "environment", "base_url"),
    [
        ({}, opa.Environment.SANDBOX, "https://stg-api.sandbox.paypay.ne.jp"),
        ({"production_mode": True}, opa.Environment.PRODUCTION, "https://api.paypay.ne.jp"),
        ({"perf_mode": True}, opa.Environment.PERF, "https://perf-api.paypay.ne.jp"),
        ({"base_url": "http://127.0.0.1:9/"}, opa.Environment.SANDBOX, "http://127.0.0.1:9"),
    ],
)
def test_environment_and_base_url(
    kwargs: dict[str, Any], environment: opa.Environment, base_url: str
) -> None:
    client = opa.Client(auth=("k", "s"), **kwargs)
    assert (client.environment, client.base_url) == (environment, base_url)


def test_contradictory_or_malformed_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="both"):
        opa.Client(auth=("k", "s"), production_mode=True, perf_mode=True)
    with pytest.raises(TypeError, match="auth"):
        opa.Client(auth="k:s")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="auth"):
        opa.Client(auth=("k", ""))
    with pytest.raises(ValueError, match="base_url"):
        opa.Client(auth=("k", "s"), base_url="ftp://x")
    with pytest.raises(TypeError, match="timeout"):
        opa.Client(auth=("k", "s"), timeout="30")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"timeout\[1\]"):
        opa.Client(auth=("k", "s"), timeout=(1, 0))
    with pytest.raises(ValueError, match="max_attempts"):
        opa.RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="max_total_s"):
        opa.RetryPolicy(max_total_s=0)


def test_repr_never_shows_the_secret() -> None:
    client = opa.Client(auth=("the_key", "the_secret_value"))
    assert "the_secret_value" not in repr(client) and "the_secret_value" not in repr(vars(client))


def test_get_version() -> None:
    version = opa.Client(auth=("k", "s")).get_version()
    assert version and version[0].isdigit()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"merchantPaymentId": None}, "merchantPaymentId"),
        ({"merchantPaymentId": "x" * 65}, "merchantPaymentId"),
        ({"merchantPaymentId": 12}, "merchantPaymentId"),
        ({"codeType": None}, "codeType"),
        ({"amount": None}, "amount"),
        ({"amount": {"amount": 0, "currency": "JPY"}}, "amount.amount"),
        ({"amount": {"amount": -5, "currency": "JPY"}}, "amount.amount"),
        ({"amount": {"amount": 1.5, "currency": "JPY"}}, "amount.amount"),
        ({"amount": {"amount": "500", "currency": "JPY"}}, "amount.amount"),
        ({"amount": {"amount": True, "currency": "JPY"}}, "amount.amount"),
        ({"amount": {"amount": 500, "currency": "USD"}}, "amount.currency"),
        ({"amount": {"currency": "JPY"}}, "amount.amount"),
        ({"orderDescription": "d" * 256}, "orderDescription"),
        ({"isAuthorization": "false"}, "isAuthorization"),
        ({"requestedAt": "now"}, "requestedAt"),
        (
            {"orderItems": [{"quantity": 1, "unitPrice": {"amount": 1, "currency": "JPY"}}]},
            "orderItems[0].name",
        ),
        (
            {
                "orderItems": [
                    {"name": "a", "quantity": 0, "unitPrice": {"amount": 1, "currency": "JPY"}}
                ]
            },
            "orderItems[0].quantity",
        ),
        ({"orderItems": [{"name": "a", "quantity": 1}]}, "orderItems[0].unitPrice"),
    ],
)
def test_invalid_requests_fail_before_sending_naming_the_field(
    client: opa.Client, server: OpaTestServer, change: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValueError, match=field.replace("[", r"\[").replace("]", r"\]")):
        client.Code.create_qr_code({**QR, **change})
    assert server.seen == []


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.Code.get_payment_details(""),
        lambda c: c.Code.delete_qr_code(None),
        lambda c: c.Payment.cancel_payment("x" * 65),
        lambda c: c.Payment.refund_details("R1", payment_id=""),
        lambda c: c.Payment.refund_payment({"merchantRefundId": "R1", "amount": 1}),
        lambda c: c.Payment.capture_payment(
            {"merchantPaymentId": "M", "merchantCaptureId": "C", "amount": 1}
        ),
        lambda c: c.Account.create_qr_session({"scopes": ["direct_debit"]}),
        lambda c: c.Code.create_qr_code(None),
        lambda c: c.Code.create_qr_code({**QR, "metadata": {"x": float("nan")}}),
    ],
)
def test_missing_or_bad_ids_and_fields_raise_value_error(
    client: opa.Client, server: OpaTestServer, call: Any
) -> None:
    with pytest.raises(ValueError):
        call(client)
    assert server.seen == []


def test_seed_readme_leniency_bare_int_and_integral_float_amounts(
    client: opa.Client, server: OpaTestServer
) -> None:
    refund = {"merchantRefundId": "R1", "paymentId": "P1", "amount": 1, "reason": "r"}
    client.Payment.refund_payment(refund)
    assert json.loads(server.seen[0].body)["amount"] == {"amount": 1, "currency": "JPY"}
    assert refund["amount"] == 1  # the caller's dict is untouched
    client.Code.create_qr_code({**QR, "amount": {"amount": 26.00, "currency": "JPY"}})
    assert '"amount":{"amount":26,"currency":"JPY"}' in server.seen[1].body


def test_jwt_round_trip_with_pyjwt_2(fake_time: FakeTime) -> None:
    client = opa.Client(auth=("client_id", "s"), clock=fake_time.clock, nonce_factory=lambda: "n1")
    token = client.encode_jwt(
        JWT_SECRET, redirectUrl="https://example.com", deviceId="dev", phoneNumber=90999999999
    )
    claims = jwt.decode(
        token, base64.b64decode(JWT_SECRET), algorithms=["HS256"], options={"verify_exp": False}
    )
    assert claims == {
        "iss": "merchant",
        "exp": EPOCH + 300,
        "scope": "direct_debit",
        "nonce": "n1",
        "redirectUrl": "https://example.com",
        "referenceId": "n1",
        "deviceId": "dev",
        "phoneNumber": "90999999999",
    }


def test_decode_jwt_returns_the_authorization_and_raises_on_a_bad_token() -> None:
    client = opa.Client(auth=("client_id", "s"))
    key = base64.b64decode(JWT_SECRET)
    token = jwt.encode(
        {"userAuthorizationId": "UA1", "referenceId": "ref", "aud": "client_id"},
        key,
        algorithm="HS256",
    )
    assert client.decode_jwt(JWT_SECRET, token) == ("UA1", "ref")
    no_aud = jwt.encode({"userAuthorizationId": "UA2", "referenceId": "r2"}, key, algorithm="HS256")
    assert client.decode_jwt(JWT_SECRET, no_aud) == ("UA2", "r2")
    other = base64.b64encode(bytes(range(1, 33))).decode()
    with pytest.raises(jwt.InvalidSignatureError):
        client.decode_jwt(other, token)
    with pytest.raises(jwt.InvalidAudienceError):
        client.decode_jwt(JWT_SECRET, token, audience="someone_else")
    with pytest.raises(ValueError, match="base64"):
        client.decode_jwt("not base64!", token)


def test_an_explicit_proxy_is_used_and_an_unreachable_one_means_not_connected() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_proxy = f"http://127.0.0.1:{probe.getsockname()[1]}"
    retry = opa.RetryPolicy(max_attempts=1)
    proxied = opa.Client(
        auth=("k", "s"), base_url="http://192.0.2.1", proxies={"http": dead_proxy}, retry=retry
    )
    with proxied, pytest.raises(opa.NotConnected):
        proxied.Code.get_payment_details("M1")


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_the_proxy_for_the_base_urls_scheme_carries_every_call_with_its_credentials() -> None:
    target = _closed_port_url()  # nothing listens there: only the proxy can answer
    with OpaTestServer() as proxy:
        proxies = {
            "https": "http://127.0.0.1:1",
            "http": proxy.base_url.replace("http://", "http://kiosk:p%40ss@"),
        }
        with opa.Client(auth=(KEY, SECRET), base_url=target, proxies=proxies) as client:
            answer = client.Code.get_payment_details("M1")
        assert answer["data"]["path"] == "/v2/codes/payments/M1"
        seen = proxy.seen[0]
        assert seen.auth_error is None  # signed over the path, not the absolute URL
        credentials = base64.b64encode(b"kiosk:p@ss").decode()
        assert seen.headers["proxy-authorization"] == f"Basic {credentials}"


def test_a_proxy_for_another_scheme_is_not_used() -> None:
    retry = opa.RetryPolicy(max_attempts=1)
    with OpaTestServer() as proxy:
        proxies = {"https": proxy.base_url}
        with (
            opa.Client(
                auth=(KEY, SECRET), base_url=_closed_port_url(), proxies=proxies, retry=retry
            ) as client,
            pytest.raises(opa.NotConnected),
        ):
            client.Code.get_payment_details("M1")
        assert proxy.seen == []


def test_a_header_http_refuses_is_not_sent_and_not_echoed() -> None:
    with OpaTestServer() as server:
        bad_nonce = opa.Client(
            auth=(KEY, SECRET), base_url=server.base_url, nonce_factory=lambda: "n\r\nX-Evil: 1"
        )
        with bad_nonce, pytest.raises(opa.NotConnected) as caught:
            bad_nonce.Code.create_qr_code(QR)
        assert KEY not in str(caught.value) and "Evil" not in str(caught.value)
        assert caught.value.__context__ is None
        assert server.seen == []


def test_the_client_package_sends_through_urllib3_not_requests() -> None:
    # requests' per-call overhead (1-2 ms) was a third of the tap-to-QR budget
    package = Path(opa.__file__).parent
    importers = [
        str(path.relative_to(package))
        for path in sorted(package.rglob("*.py"))
        if re.search(r"^\s*(import|from)\s+requests\b", path.read_text(), re.MULTILINE)
    ]
    assert importers == []
