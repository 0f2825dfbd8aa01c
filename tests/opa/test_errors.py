"""Every non-2xx answer raises the class the reference implies, with its fields, never a secret."""

from __future__ import annotations

import logging

import pytest

from kiosk import opa
from tests.opa.server import SECRET, OpaTestServer, Reply, envelope

QR = {"merchantPaymentId": "M1", "amount": {"amount": 1, "currency": "JPY"}, "codeType": "ORDER_QR"}

# (HTTP status, codeId, code, class): every row of the reference's tables (sections 5.1, 1.5).
TABLE = [
    (400, "08100006", "INVALID_REQUEST_PARAMS", opa.InvalidParams),
    (400, "08100024", "MISSING_REQUEST_PARAMS", opa.InvalidParams),
    (401, "08100016", "UNAUTHORIZED", opa.AuthError),
    (401, "08100023", "OP_OUT_OF_SCOPE", opa.AuthError),
    (404, "08100007", "OPA_CLIENT_NOT_FOUND", opa.AuthError),
    (429, "08100998", "RATE_LIMIT", opa.RateLimited),
    (500, "08100026", "SERVICE_ERROR", opa.ServerError),
    (500, "08101000", "INTERNAL_SERVER_ERROR", opa.ServerError),
    (503, "08100999", "MAINTENANCE_MODE", opa.Maintenance),
    (400, "01652073", "DUPLICATE_DYNAMIC_QR_REQUEST", opa.Duplicate),
    (400, "00400060", "PRE_AUTH_CAPTURE_UNSUPPORTED_MERCHANT", opa.InvalidParams),
    (400, "00400061", "PRE_AUTH_CAPTURE_INVALID_EXPIRY_DATE", opa.InvalidParams),
    (400, "01650000", "DYNAMIC_QR_BAD_REQUEST", opa.InvalidParams),
    (400, "01652075", "DYNAMIC_QR_PAYMENT_NOT_FOUND", opa.NotFound),
    (404, "01652075", "DYNAMIC_QR_PAYMENT_NOT_FOUND", opa.NotFound),
    (400, "01652074", "DYNAMIC_QR_ALREADY_PAID", opa.AlreadyPaid),
    (404, "01652072", "DYNAMIC_QR_NOT_FOUND", opa.NotFound),
    (400, "00200044", "ORDER_NOT_REVERSIBLE", opa.NotReversible),
    (500, "00200034", "INTERNAL_SERVER_ERROR", opa.ServerError),
    (400, "00200004", "INVALID_PARAMS", opa.InvalidParams),
    (400, "00200015", "INVALID_PARAMS", opa.InvalidParams),
    (400, "00200013", "UNACCEPTABLE_OP", opa.OperationNotAllowed),
    (400, "00200014", "UNACCEPTABLE_OP", opa.OperationNotAllowed),
    (400, "01103027", "CANCELED_USER", opa.OperationNotAllowed),
    (404, "00200001", "RESOURCE_NOT_FOUND", opa.NotFound),
    (500, "00200002", "TRANSACTION_FAILED", opa.TransactionFailed),
    (500, "00200003", "TRANSACTION_FAILED", opa.TransactionFailed),
    (500, "00800017", "TRANSACTION_FAILED", opa.TransactionFailed),
    (400, "", "REFUND_LIMIT_EXCEEDED", opa.OperationNotAllowed),
    (400, "", "REFUND_WINDOW_EXCEED", opa.OperationNotAllowed),
    (404, "00200018", "NO_SUCH_REFUND_ORDER", opa.NotFound),
    (400, "00400035", "UNACCEPTABLE_OP", opa.OperationNotAllowed),
    (400, "00200039", "ALREADY_CAPTURED", opa.OperationNotAllowed),
    (400, "00400062", "HIGHER_CAPTURE_NOT_PERMITTED", opa.OperationNotAllowed),
    (400, "00200043", "ORDER_EXPIRED", opa.OperationNotAllowed),
    (400, "00200035", "ORDER_NOT_CAPTURABLE", opa.OperationNotAllowed),
    (400, "00200038", "REAUTHORIZATION_IN_PROGRESS", opa.OperationNotAllowed),
    (400, "00400064", "TOO_CLOSE_TO_EXPIRY", opa.OperationNotAllowed),
    (400, "00200042", "ORDER_NOT_CANCELABLE", opa.NotReversible),
    (400, "08300005", "REQUEST_ORDER_NOT_FOUND", opa.NotFound),
    (400, "00200047", "DUPLICATE_REQUEST", opa.Duplicate),
    (400, "", "NO_SUFFICIENT_FUND", opa.OperationNotAllowed),
    # codes PayPay never documented: a 4xx status says "refused", a 5xx stays unknown; only a
    # known code proves "not found"
    (400, "00400071", "SOMETHING_NEW", opa.InvalidParams),
    (404, "", "SOMETHING_NEW", opa.Rejected),
    (410, "", "SOMETHING_NEW", opa.Rejected),
    (500, "", "SOMETHING_NEW", opa.ServerError),
    (502, "", "BAD_GATEWAY", opa.ServerError),
    (504, "", "GATEWAY_TIMEOUT", opa.ServerError),
    (503, "", "SERVICE_UNAVAILABLE", opa.ServerError),
]

UNKNOWN = {opa.ServerError, opa.Maintenance}


@pytest.mark.parametrize(("status", "code_id", "code", "kind"), TABLE)
def test_every_reference_code_maps_to_its_class(
    client: opa.Client,
    server: OpaTestServer,
    status: int,
    code_id: str,
    code: str,
    kind: type[opa.OpaError],
) -> None:
    server.queue(Reply(status, envelope(code, code_id, f"text for {code}")))
    with pytest.raises(opa.OpaError) as caught:
        client.Code.create_qr_code(QR)
    error = caught.value
    assert type(error) is kind
    assert (error.status, error.code, error.code_id) == (status, code, code_id or None)
    assert (error.message, error.api_name) == (f"text for {code}", "v2_createDynamicQRCode")
    assert isinstance(error, opa.OutcomeUnknown) == (kind in UNKNOWN)
    assert len(server.seen) == 1  # a POST is never sent twice


def test_the_tree_separates_unknown_try_later_and_rejected() -> None:
    assert issubclass(opa.RequestTimeout, opa.OutcomeUnknown)
    assert issubclass(opa.ConnectionLost, opa.OutcomeUnknown)
    assert issubclass(opa.UnreadableResponse, opa.OutcomeUnknown)
    assert issubclass(opa.Maintenance, opa.OutcomeUnknown)
    assert not issubclass(opa.Maintenance, opa.TryLater)  # one branch: unknown
    assert issubclass(opa.NotConnected, opa.TryLater)
    assert not issubclass(opa.NotConnected, opa.OutcomeUnknown)
    assert issubclass(opa.TransactionFailed, opa.Rejected)
    assert issubclass(opa.AlreadyPaid, opa.Rejected)


def test_a_gateway_html_502_is_an_unknown_outcome(
    client: opa.Client, server: OpaTestServer
) -> None:
    html = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    server.queue(Reply(502, html, content_type="text/html"))
    with pytest.raises(opa.UnreadableResponse) as caught:
        client.Code.create_qr_code(QR)
    assert caught.value.status == 502 and caught.value.code is None
    assert isinstance(caught.value, opa.OutcomeUnknown)


def test_a_non_json_4xx_is_an_unknown_outcome_not_not_found(
    client: opa.Client, server: OpaTestServer
) -> None:
    server.queue(Reply(404, "Not Found", content_type="text/plain"))
    with pytest.raises(opa.UnreadableResponse) as caught:
        client.Code.get_payment_details("M1")
    assert caught.value.status == 404


@pytest.mark.parametrize(
    "body", ["<html>captive portal</html>", b"", {"data": {"status": "COMPLETED"}}, [1, 2]]
)
def test_a_2xx_without_the_envelope_is_never_taken_as_success(
    client: opa.Client, server: OpaTestServer, body: object
) -> None:
    server.queue(Reply(200, body))
    with pytest.raises(opa.UnreadableResponse) as caught:
        client.Code.get_payment_details("M1")
    assert caught.value.status == 200


def test_errors_carry_no_secret_no_header_and_no_chained_request(
    client: opa.Client, server: OpaTestServer
) -> None:
    server.queue(Reply(401, envelope("UNAUTHORIZED", "08100016", "Unauthorized request")))
    with pytest.raises(opa.AuthError) as caught:
        client.Code.get_payment_details("M1")
    error = caught.value
    text = " ".join([str(error), repr(error), repr(vars(error)), repr(client)])
    assert SECRET not in text and "OPA-Auth" not in text and "Authorization" not in text
    assert error.__cause__ is None and error.__context__ is None
    assert error.resolve_url == (
        "https://developer.paypay.ne.jp/develop/resolve?api_name=v2_getQRPaymentDetails"
        "&code=UNAUTHORIZED&code_id=08100016"
    )


def test_logs_never_carry_the_secret_or_the_signature(
    client: opa.Client, server: OpaTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server.queue(Reply(503, envelope("MAINTENANCE_MODE", "08100999")))
    client.Code.get_payment_details("M1")
    server.queue(Reply(500, envelope("INTERNAL_SERVER_ERROR", "08101000")))
    with pytest.raises(opa.ServerError):
        client.Code.create_qr_code(QR | {"merchantPaymentId": "M2"})
    assert "opa retry api=v2_getQRPaymentDetails" in caplog.text
    assert SECRET not in caplog.text and "OPA-Auth" not in caplog.text
