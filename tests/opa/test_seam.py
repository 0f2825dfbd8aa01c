"""The transport seam (issue 10): signing, the retry policy and the HTTP transport are separate
pieces; a scripted transport plugs in without a socket; answers are typed once; errors carry
what came back (status, code, body, headers), never a secret; one branch per error class."""

from __future__ import annotations

import inspect
import socket
from typing import Any

import pytest

from kiosk import opa
from kiosk.domain import PaymentStatus
from kiosk.opa import errors, models, signing
from kiosk.opa.http_transport import HttpAnswer, NoAnswer
from kiosk.opa.retry import RetryPolicy
from tests.opa.conftest import EPOCH, FakeTime, nonces
from tests.opa.scripted import ScriptedTransport, answer, success
from tests.opa.server import KEY, SECRET, OpaTestServer, Reply

QR = {"merchantPaymentId": "M1", "amount": {"amount": 1, "currency": "JPY"}, "codeType": "ORDER_QR"}
CREATED = {"codeId": "04-abc", "url": "https://qr.example/04-abc", "expiryDate": EPOCH + 300}


def scripted(fake_time: FakeTime, *steps: Any) -> tuple[opa.Client, ScriptedTransport]:
    http = ScriptedTransport(*steps)
    client = opa.Client(
        auth=(KEY, SECRET),
        base_url="https://api.example",
        http=http,
        nonce_factory=nonces(),
        clock=fake_time.clock,
        monotonic=fake_time.monotonic,
        sleep=fake_time.sleep,
        jitter=lambda: 0.5,
    )
    return client, http


@pytest.fixture
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a network connection fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a socket was used")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_a_scripted_transport_plugs_in_without_a_socket(
    fake_time: FakeTime, no_sockets: None
) -> None:
    client, http = scripted(fake_time, success(CREATED, 201))
    with client:
        envelope = client.Code.create_qr_code(QR)
    assert envelope["data"]["codeId"] == "04-abc"
    ((request, limits),) = http.sent
    assert http.closed
    assert (request.method, request.url) == ("POST", "https://api.example/v2/codes")
    assert (limits.connect_s, limits.read_s, limits.budget_s) == (10.0, 30.0, 60.0)
    signing.verify(  # the real signer signed the exact bytes handed to the transport
        header=request.headers["Authorization"],
        secret_for_key={KEY: SECRET},
        method="POST",
        path="/v2/codes",
        content_type_header=request.headers["Content-Type"],
        body=(request.body or b"").decode(),
        now_epoch=EPOCH,
    )
    assert "Authorization" not in repr(request) and SECRET not in repr(request)


def test_the_retry_policy_runs_on_the_scripted_transport(
    fake_time: FakeTime, no_sockets: None
) -> None:
    lost = NoAnswer(errors.ConnectionLost, "connection lost after the request was sent")
    client, http = scripted(fake_time, lost, success({"status": "CREATED"}))
    assert client.typed.get_qr_payment_details("M1").status == "CREATED"
    assert len(http.sent) == 2 and fake_time.sleeps == [0.375]
    client, http = scripted(fake_time, lost)
    with pytest.raises(opa.ConnectionLost) as caught:
        client.Code.create_qr_code(QR)  # a POST is sent once
    assert len(http.sent) == 1 and caught.value.api_name == "v2_createDynamicQRCode"


@pytest.mark.parametrize(
    ("retry_safe", "error", "attempt", "retry_after_s", "time_left_s", "pause_s"),
    [
        (True, errors.NotConnected("n"), 1, None, 60.0, 0.375),
        (True, errors.ConnectionLost("c"), 2, None, 60.0, 0.75),
        (True, errors.RateLimited("r", status=429), 1, 5.0, 60.0, 5.0),
        (True, errors.Maintenance("m", status=503), 1, None, 60.0, 0.375),
        (True, errors.UnreadableResponse("proxy 503", status=503), 1, None, 60.0, 0.375),
        (True, errors.RateLimited("r", status=429), 1, 70.0, 60.0, None),  # past the deadline
        (True, errors.NotConnected("n"), 3, None, 60.0, None),  # attempts used up
        (True, errors.RequestTimeout("t"), 1, None, 60.0, None),  # PayPay may be working on it
        (True, errors.ServerError("s", status=500), 1, None, 60.0, None),
        (True, errors.NotFound("nf", status=404), 1, None, 60.0, None),
        (False, errors.NotConnected("n"), 1, None, 60.0, None),  # a POST: never again
    ],
)
def test_the_retry_policy_is_a_pure_rule(
    retry_safe: bool,
    error: errors.OpaError,
    attempt: int,
    retry_after_s: float | None,
    time_left_s: float,
    pause_s: float | None,
) -> None:
    got = RetryPolicy().pause_s(
        retry_safe=retry_safe,
        error=error,
        attempt=attempt,
        jitter=0.5,
        retry_after_s=retry_after_s,
        time_left_s=time_left_s,
    )
    assert got == pause_s


def test_typed_answers_for_every_kiosk_call(fake_time: FakeTime, no_sockets: None) -> None:
    paid = {
        "status": "COMPLETED",
        "paymentId": "P1",
        "acceptedAt": EPOCH + 5,
        "merchantPaymentId": "M1",
        "amount": {"amount": 1, "currency": "JPY"},
    }
    client, _ = scripted(
        fake_time,
        success(CREATED, 201),
        success(paid),
        success(None),
        success(None, 202, "REQUEST_ACCEPTED"),
        success({"status": "CREATED", "merchantRefundId": "R1", "paymentId": "P1"}, 201),
        success({"status": "REFUNDED"}),
        success(None, 202, "USER_CONFIRMATION_REQUIRED"),
        success({"status": "CANCELED"}),
    )
    typed = client.typed
    assert typed.create_qr_code(QR) == models.QrCode(
        "04-abc", "https://qr.example/04-abc", float(EPOCH + 300)
    )
    details = typed.get_qr_payment_details("M1")
    assert details == models.PaymentDetails("COMPLETED", "P1", EPOCH + 5.0, "M1", 1, "JPY")
    assert details.payment_status is PaymentStatus.COMPLETED
    assert typed.delete_qr_code("04-abc") == models.Accepted("SUCCESS")
    assert typed.cancel_payment("M1") == models.Accepted("REQUEST_ACCEPTED")
    refund = {"merchantRefundId": "R1", "paymentId": "P1", "amount": 1}
    assert typed.refund_payment(refund) == models.RefundDetails("CREATED", "R1", "P1")
    assert typed.refund_details("R1", "P1").status == "REFUNDED"
    capture = {"merchantPaymentId": "M1", "merchantCaptureId": "K1", "amount": 1}
    assert typed.capture_payment(capture | {"orderDescription": "d"}).confirmation_required
    assert typed.revert_payment({"merchantRevertId": "V1", "paymentId": "P1"}).status == (
        "CANCELED"
    )


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (None, "data is not an object"),
        ([], "data is not an object"),
        ({"url": "u", "expiryDate": 1}, "data.codeId"),
        ({"codeId": "c", "url": 5, "expiryDate": 1}, "data.url"),
        ({"codeId": "c", "url": "u", "expiryDate": "soon"}, "data.expiryDate"),
        ({"codeId": "c", "url": "u", "expiryDate": True}, "data.expiryDate"),
        ({"codeId": "c", "url": "u", "expiryDate": -1}, "data.expiryDate"),
    ],
)
def test_a_qr_answer_missing_what_the_kiosk_needs_is_unreadable(
    fake_time: FakeTime, data: Any, why: str
) -> None:
    client, _ = scripted(fake_time, success(data, 201))
    with pytest.raises(opa.UnreadableResponse, match=why) as caught:
        client.typed.create_qr_code(QR)
    assert caught.value.api_name == "v2_createDynamicQRCode"


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ({}, "data.status"),
        ({"status": ""}, "data.status"),
        ({"status": 3}, "data.status"),
        ({"status": "COMPLETED", "paymentId": 7}, "data.paymentId"),
        ({"status": "COMPLETED", "acceptedAt": "yesterday"}, "data.acceptedAt"),
        ({"status": "COMPLETED", "amount": {"amount": "1", "currency": "JPY"}}, "data.amount"),
        ({"status": "COMPLETED", "amount": 1}, "data.amount"),
    ],
)
def test_a_status_answer_that_cannot_be_read_is_unreadable(
    fake_time: FakeTime, data: Any, why: str
) -> None:
    client, _ = scripted(fake_time, success(data))
    with pytest.raises(opa.UnreadableResponse, match=why):
        client.typed.get_qr_payment_details("M1")


def test_a_status_paypay_added_later_is_kept_as_sent(fake_time: FakeTime) -> None:
    client, _ = scripted(fake_time, success({"status": "PARTIALLY_CAPTURED", "acceptedAt": 0}))
    details = client.typed.get_qr_payment_details("M1")
    assert (details.status, details.payment_status, details.accepted_at) == (
        "PARTIALLY_CAPTURED",
        None,
        None,
    )


def test_errors_carry_status_code_body_and_headers(fake_time: FakeTime) -> None:
    body = {"resultInfo": {"code": "DYNAMIC_QR_NOT_FOUND", "codeId": "01652072"}, "data": None}
    client, _ = scripted(fake_time, answer(404, body, {"X-Trace": "abc"}))
    with pytest.raises(opa.NotFound) as caught:
        client.Code.delete_qr_code("04-x")
    error = caught.value
    assert (error.status, error.code, error.code_id) == (404, "DYNAMIC_QR_NOT_FOUND", "01652072")
    assert error.body is not None and '"DYNAMIC_QR_NOT_FOUND"' in error.body
    assert error.headers["x-trace"] == "abc" and error.headers["content-type"] == (
        "application/json"
    )
    assert "abc" not in str(error)  # the one-line message stays short


def test_an_error_keeps_at_most_2_kib_of_the_body(fake_time: FakeTime) -> None:
    client, _ = scripted(fake_time, HttpAnswer(502, {"Content-Type": "text/html"}, b"x" * 100_000))
    with pytest.raises(opa.UnreadableResponse) as caught:
        client.Code.create_qr_code(QR)
    assert caught.value.body == "x" * 2048


def test_secrets_a_server_echoes_back_never_reach_an_error(
    client: opa.Client, server: OpaTestServer
) -> None:
    """A hostile server (or a debugging proxy) reflecting our request into its answer."""
    import base64

    def reflect(seen: Any) -> Reply:
        auth = seen.headers["authorization"]
        b64 = base64.b64encode(SECRET.encode()).decode()
        page = f"<pre>you sent {auth} key={KEY} secret={SECRET} b64={b64}</pre>"
        return Reply(400, page, "text/html", headers={"X-Echo": auth, "X-Secret": SECRET})

    server.responder = reflect
    with pytest.raises(opa.UnreadableResponse) as caught:
        client.Code.create_qr_code(QR)
    error = caught.value
    text = " ".join([str(error), repr(vars(error)), error.body or "", repr(error.headers)])
    assert KEY not in text and SECRET not in text
    assert base64.b64encode(SECRET.encode()).decode().rstrip("=") not in text
    assert "[redacted]" in (error.body or "") and error.headers["x-secret"] == "[redacted]"


def test_no_error_class_belongs_to_two_branches() -> None:
    branches = (errors.OutcomeUnknown, errors.TryLater, errors.Rejected)
    classes = [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.OpaError) and cls not in (errors.OpaError, *branches)
    ]
    assert len(classes) == 15
    for cls in classes:
        assert sum(issubclass(cls, branch) for branch in branches) == 1, cls.__name__
    assert not issubclass(errors.Maintenance, errors.TryLater)


def test_the_signer_keeps_its_secret(fake_time: FakeTime) -> None:
    signer = signing.Signer(KEY, SECRET, nonce=lambda: "n1", clock=fake_time.clock)
    assert SECRET not in repr(signer) and KEY not in repr(signer)
    header = signer.authorization("GET", "/v2/codes/payments/M1", "application/json", None)
    assert header == signing.auth_header(
        api_key=KEY,
        api_secret=SECRET,
        method="GET",
        path="/v2/codes/payments/M1",
        nonce="n1",
        epoch=EPOCH,
    )
    assert signer.redact(f"a {SECRET} b {KEY} c") == "a [redacted] b [redacted] c"
