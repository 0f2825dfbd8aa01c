"""Only PayPay's JSON envelope proves anything (issue 11 item 2, issue 12 item 2).

Against the hostile loopback server, every SDK method: an answer without the envelope (an HTML
404 from a proxy, an empty 400, JSON served as text/html, a redirect) is an unknown outcome,
never NotFound or a rejection; and a 2xx whose resultInfo.code is an error code is that error,
never success.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk import opa
from kiosk.domain import SaleSettings
from kiosk.engine.effects import execute
from kiosk.hardware.vend import NoVendor
from kiosk.opa import answers, endpoints, errors
from kiosk.sale.model import CallFailed, DeleteQr, Failure
from tests.opa.calls import CALLS, IDS, Call
from tests.opa.server import OpaTestServer, Reply, envelope
from tests.opa.test_errors import TABLE

SUCCESS_CODES = {"SUCCESS", "REQUEST_ACCEPTED", "USER_CONFIRMATION_REQUIRED"}

NOT_FOUND = envelope("DYNAMIC_QR_NOT_FOUND", "01652072", "Dynamic QR not found")

# Answers that look like an error from somewhere, but carry no PayPay envelope.
NO_ENVELOPE: dict[str, Reply] = {
    "html 404 from a proxy": Reply(404, "<html><h1>404 Not Found</h1></html>", "text/html"),
    "empty 404": Reply(404, b"", None),
    "empty 400": Reply(400, b""),
    "plain-text 401": Reply(401, "Unauthorized", "text/plain"),
    "html 409": Reply(409, "<p>conflict</p>", "text/html"),
    "html 429": Reply(429, "<p>slow down</p>", "text/html"),
    "html 500": Reply(500, "<h1>Internal Server Error</h1>", "text/html"),
    "empty 503": Reply(503, b"", None),
    "envelope served as text/html": Reply(404, NOT_FOUND, "text/html"),
    "envelope without content type": Reply(404, NOT_FOUND, None),
    "json array": Reply(404, [NOT_FOUND], "application/json"),
    "json without resultInfo": Reply(404, {"code": "DYNAMIC_QR_NOT_FOUND"}),
    "resultInfo.code not a string": Reply(404, {"resultInfo": {"code": 404}}),
    "garbage bytes": Reply(400, b"\xff\xfe\x00garbage\x80", "application/json"),
    "redirect": Reply(302, b"", None, headers={"Location": "http://127.0.0.1:1/login"}),
}


@pytest.mark.parametrize("shape", list(NO_ENVELOPE), ids=list(NO_ENVELOPE))
@pytest.mark.parametrize(("name", "api_name", "call"), CALLS, ids=IDS)
def test_an_answer_without_the_envelope_is_an_unknown_outcome(
    client: opa.Client,
    server: OpaTestServer,
    name: str,
    api_name: str,
    call: Call,
    shape: str,
) -> None:
    reply = NO_ENVELOPE[shape]
    server.responder = lambda seen: reply  # every attempt, retries included, gets it
    with pytest.raises(opa.OpaError) as caught:
        call(client)
    error = caught.value
    assert type(error) is opa.UnreadableResponse, f"{name}: {shape} gave {error!r}"
    assert isinstance(error, opa.OutcomeUnknown) and not isinstance(error, opa.Rejected)
    assert error.status == reply.status and error.code is None and error.api_name == api_name


# (status, code, class) of PayPay's error codes sent with a 2xx status.
ERROR_CODES_ON_2XX = [
    (200, "INTERNAL_SERVER_ERROR", opa.ServerError),
    (200, "SERVICE_ERROR", opa.ServerError),
    (200, "INVALID_PARAMS", opa.InvalidParams),
    (201, "INVALID_REQUEST_PARAMS", opa.InvalidParams),
    (202, "MAINTENANCE_MODE", opa.Maintenance),
    (200, "RATE_LIMIT", opa.RateLimited),
    (200, "UNAUTHORIZED", opa.AuthError),
    (200, "DYNAMIC_QR_NOT_FOUND", opa.NotFound),
    (200, "DYNAMIC_QR_ALREADY_PAID", opa.AlreadyPaid),
    (202, "ORDER_NOT_REVERSIBLE", opa.NotReversible),
    (200, "UNACCEPTABLE_OP", opa.OperationNotAllowed),
    (200, "TRANSACTION_FAILED", opa.TransactionFailed),
    (200, "DUPLICATE_DYNAMIC_QR_REQUEST", opa.Duplicate),
    (200, "SOMETHING_NEW", opa.UnreadableResponse),  # an unknown code on a 2xx: unknown
    (200, "FAILURE", opa.UnreadableResponse),
    (200, "success", opa.UnreadableResponse),  # codes are exact
]


@pytest.mark.parametrize(("status", "code", "kind"), ERROR_CODES_ON_2XX)
@pytest.mark.parametrize(("name", "api_name", "call"), CALLS, ids=IDS)
def test_a_2xx_carrying_an_error_code_is_that_error(
    client: opa.Client,
    server: OpaTestServer,
    name: str,
    api_name: str,
    call: Call,
    status: int,
    code: str,
    kind: type[opa.OpaError],
) -> None:
    server.responder = lambda seen: Reply(status, envelope(code, "00000000", "said so"))
    with pytest.raises(opa.OpaError) as caught:
        call(client)
    assert type(caught.value) is kind
    assert (caught.value.status, caught.value.code) == (status, code)


@pytest.mark.parametrize("code", ["SUCCESS", "REQUEST_ACCEPTED"])
@pytest.mark.parametrize(("name", "api_name", "call"), CALLS, ids=IDS)
def test_the_success_codes_are_success_on_every_call(
    client: opa.Client, server: OpaTestServer, name: str, api_name: str, call: Call, code: str
) -> None:
    server.responder = lambda seen: Reply(200, envelope(code, "08100001", "ok", {"a": 1}))
    assert call(client)["data"] == {"a": 1}


def test_user_confirmation_required_is_success_for_capture_only(
    client: opa.Client, server: OpaTestServer
) -> None:
    confirm = Reply(202, envelope("USER_CONFIRMATION_REQUIRED", "08300103", "confirm"))
    by_name = {name: call for name, _, call in CALLS}
    server.queue(confirm, confirm)
    answer: Any = by_name["Payment.capture_payment"](client)
    assert answer["resultInfo"]["code"] == "USER_CONFIRMATION_REQUIRED"
    with pytest.raises(opa.UnreadableResponse):
        by_name["Code.create_qr_code"](client)


@pytest.mark.parametrize("status", [300, 304, 404, 500])
def test_a_success_code_on_a_non_2xx_status_is_unknown(
    client: opa.Client, server: OpaTestServer, status: int
) -> None:
    server.responder = lambda seen: Reply(status, envelope("SUCCESS", "08100001", "ok"))
    with pytest.raises(opa.OpaError) as caught:
        client.Code.delete_qr_code("04-x")
    assert isinstance(caught.value, opa.OutcomeUnknown)


def test_paypays_own_not_found_is_still_proof(client: opa.Client, server: OpaTestServer) -> None:
    server.queue(Reply(404, NOT_FOUND))
    with pytest.raises(opa.NotFound):
        client.Code.delete_qr_code("04-x")


@pytest.mark.parametrize(
    ("reply", "failure"),
    [
        (NO_ENVELOPE["html 404 from a proxy"], Failure.UNKNOWN),
        (NO_ENVELOPE["envelope served as text/html"], Failure.UNKNOWN),
        (Reply(200, envelope("INTERNAL_SERVER_ERROR", "08101000")), Failure.UNKNOWN),
        (Reply(404, NOT_FOUND), Failure.NOT_FOUND),
    ],
    ids=["html 404", "envelope as html", "200 carrying 500's code", "paypay's 404"],
)
def test_the_engine_takes_a_proxys_404_on_delete_as_unknown_not_gone(
    client: opa.Client, server: OpaTestServer, reply: Reply, failure: Failure
) -> None:
    """The delete step: only PayPay's DYNAMIC_QR_NOT_FOUND tells the engine the code is gone."""
    server.responder = lambda seen: reply
    outcome = execute(DeleteQr("04-x"), client, NoVendor(), SaleSettings(terminal_id="T1"), 0.0)
    assert isinstance(outcome.event, CallFailed) and outcome.event.failure is failure


REFERENCE_CODES = sorted({code for _, _, code, _ in TABLE if code in errors._BY_CODE})


@pytest.mark.parametrize("code", REFERENCE_CODES)
@pytest.mark.parametrize("status", [200, 201, 202])
def test_every_reference_error_code_on_a_2xx_raises_never_returns(
    client: opa.Client, server: OpaTestServer, code: str, status: int
) -> None:
    server.responder = lambda seen: Reply(status, envelope(code, "00000000", "said so"))
    for call in (CALLS[0][2], CALLS[4][2]):  # create (POST) and cancel (DELETE, retried)
        with pytest.raises(opa.OpaError) as caught:
            call(client)
        assert type(caught.value) is errors.classify(status, code) and caught.value.code == code


ENDPOINTS = {endpoint.api_name: endpoint for endpoint in endpoints.ALL}
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(
    status=st.integers(100, 599),
    content_type=st.sampled_from(
        [
            None,
            "application/json",
            "application/json;charset=UTF-8",
            "text/html",
            "APPLICATION/JSON",
        ]
    ),
    body=st.one_of(
        st.binary(max_size=200),
        JSONISH.map(lambda value: json.dumps(value).encode()),
        st.builds(
            lambda code, data: json.dumps({"resultInfo": {"code": code}, "data": data}).encode(),
            st.sampled_from(["SUCCESS", "REQUEST_ACCEPTED", "USER_CONFIRMATION_REQUIRED"])
            | st.sampled_from(sorted(errors._BY_CODE))
            | st.text(max_size=12),
            JSONISH,
        ),
    ),
    api_name=st.sampled_from(sorted(ENDPOINTS)),
)
def test_whatever_the_bytes_success_only_when_paypay_said_so(
    status: int, content_type: str | None, body: bytes, api_name: str
) -> None:
    """The judgement alone, over generated answers: an envelope comes back only for a 2xx
    with a JSON content type and one of the call's success codes; everything else is an
    OpaError, and nothing else is ever raised."""
    endpoint = ENDPOINTS[api_name]
    headers = {} if content_type is None else {"content-type": content_type}
    outcome = answers.interpret(status, headers, body, endpoint)
    found = answers.envelope_of(headers, body)
    said_success = (
        not isinstance(found, str) and 200 <= status < 300 and found[2] in endpoint.success_codes
    )
    if said_success:
        assert isinstance(outcome, dict) and outcome["resultInfo"]["code"] in SUCCESS_CODES
    else:
        assert isinstance(outcome, answers.Failure)
        assert isinstance(outcome.error, errors.OpaError) and outcome.error.status == status
        if isinstance(found, str):
            assert type(outcome.error) is opa.UnreadableResponse
