"""HTTP behaviour: keep-alive, Date, limits, unknown paths, malformed input never a 5xx."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from email.utils import parsedate_to_datetime
from urllib.parse import quote, urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.simulator import Simulator, SimulatorConfig, SimulatorControl, start_simulator
from tests.simulator.conftest import KEY, MERCHANT, SECRET, START, FakeWall
from tests.simulator.signed import Signed


def test_keep_alive_date_header_and_no_nagle(api: Signed, sim: Simulator) -> None:
    host, port = sim.base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    for _ in range(3):
        connection.request("GET", "/nope")
        response = connection.getresponse()
        assert response.status == 404
        assert json.loads(response.read())["resultInfo"]["code"] == "NOT_FOUND"
        assert parsedate_to_datetime(response.headers["Date"]).timestamp() == START
        assert response.headers["Connection"] is None  # kept open
    first_socket = connection.sock
    connection.request("GET", "/nope")
    connection.getresponse().read()
    assert connection.sock is first_socket
    server_sockets = list(sim._server.open_sockets)
    assert server_sockets
    assert all(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for s in server_sockets)
    connection.close()


def test_oversized_body_is_refused(sim: Simulator, api: Signed) -> None:
    big = json.dumps({"merchantPaymentId": "x", "pad": "a" * 70_000})
    response = api.request("POST", "/v2/codes", raw=big)
    assert response.status_code == 413
    assert response.json()["resultInfo"]["code"] == "INVALID_REQUEST_PARAMS"


def test_chunked_body_is_refused(sim: Simulator) -> None:
    host, port = sim.base_url.removeprefix("http://").split(":")
    # Headers only: the server refuses on them and closes, so a body still being sent would race
    # the close (a broken pipe on a loaded machine).
    head = b"POST /v2/codes HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        raw.sendall(head)
        assert raw.recv(64).startswith(b"HTTP/1.1 411 ")


def test_wrong_method_and_unknown_paths(api: Signed) -> None:
    assert api.request("PUT", "/v2/codes").status_code == 405
    assert api.request("GET", "/v3/whatever").status_code == 404
    assert api.request("GET", "/_sim/nothing").status_code == 404
    assert api.request("GET", "/qr/04-doesnotexist").status_code == 404


def test_unknown_http_method_is_not_a_5xx(sim: Simulator) -> None:
    host, port = sim.base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    connection.request("BREW", "/v2/codes")
    assert connection.getresponse().status == 405
    connection.close()


def test_raw_garbage_request_line(sim: Simulator) -> None:
    host, port = sim.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        raw.sendall(b"\x00\xff garbage\r\n\r\n")
        answer = raw.recv(4096)
    assert answer.startswith(b"HTTP/1.1 400") or answer.startswith(b"HTTP/1.0 400")


def test_control_api_is_off_unless_enabled(wall: FakeWall) -> None:
    sim = start_simulator(SimulatorConfig(api_key=KEY, api_secret=SECRET, wall=wall))
    try:
        control = SimulatorControl(sim.base_url)
        response = control.session.get(sim.base_url + "/_sim/ledger", timeout=5)
        assert response.status_code == 404
        control.close()
    finally:
        sim.stop()


VALIDATION_CASES = [
    ("", "MISSING_REQUEST_PARAMS"),
    ("not json", "INVALID_REQUEST_PARAMS"),
    ("[]", "INVALID_REQUEST_PARAMS"),
    ('{"amount":{"amount":1,"currency":"JPY"},"codeType":"ORDER_QR"}', "MISSING_REQUEST_PARAMS"),
    (
        '{"merchantPaymentId":"v","amount":{"amount":"1","currency":"JPY"},"codeType":"ORDER_QR"}',
        "INVALID_REQUEST_PARAMS",
    ),
    (
        '{"merchantPaymentId":"v","amount":{"amount":1,"currency":"USD"},"codeType":"ORDER_QR"}',
        "INVALID_REQUEST_PARAMS",
    ),
    (
        '{"merchantPaymentId":"v","amount":{"amount":0,"currency":"JPY"},"codeType":"ORDER_QR"}',
        "INVALID_REQUEST_PARAMS",
    ),
    (
        '{"merchantPaymentId":"v","amount":{"amount":true,"currency":"JPY"},"codeType":"ORDER_QR"}',
        "INVALID_REQUEST_PARAMS",
    ),
    ('{"merchantPaymentId":"v","amount":{"amount":1,"currency":"JPY"}}', "MISSING_REQUEST_PARAMS"),
    (
        '{"merchantPaymentId":"' + "x" * 65 + '","amount":{"amount":1,"currency":"JPY"},'
        '"codeType":"ORDER_QR"}',
        "INVALID_REQUEST_PARAMS",
    ),
    (
        '{"merchantPaymentId":"v","amount":{"amount":1,"currency":"JPY"},"codeType":"ORDER_QR",'
        '"orderItems":[{"name":"a"}]}',
        "MISSING_REQUEST_PARAMS",
    ),
    (
        '{"merchantPaymentId":"v","amount":{"amount":1,"currency":"JPY"},"codeType":"ORDER_QR",'
        '"isAuthorization":"yes"}',
        "INVALID_REQUEST_PARAMS",
    ),
    (
        '{"merchantPaymentId":"v","amount":{"amount":1,"currency":"JPY"},"codeType":"ORDER_QR",'
        '"orderDescription":"' + "d" * 256 + '"}',
        "INVALID_REQUEST_PARAMS",
    ),
]


def test_create_validation_answers_400(api: Signed, ctl: SimulatorControl) -> None:
    for raw, expected in VALIDATION_CASES:
        response = api.request("POST", "/v2/codes", raw=raw)
        assert response.status_code == 400, raw
        assert response.json()["resultInfo"]["code"] == expected, raw
    assert ctl.ledger()["codes"] == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(
    [
        "merchantPaymentId",
        "amount",
        "codeType",
        "orderItems",
        "paymentId",
        "merchantRefundId",
        "merchantCaptureId",
        "merchantRevertId",
        "orderDescription",
        "requestedAt",
        "reason",
        "isAuthorization",
        "authorizationExpiry",
        "metadata",
        "currency",
    ]
)
bodies = (
    st.dictionaries(field_names, json_values, max_size=8).map(json.dumps)
    | json_values.map(json.dumps)
    | st.text(max_size=60)
)
paths = st.sampled_from(
    [
        "/v2/codes",
        "/v2/refunds",
        "/v2/refunds/",
        "/v2/payments/capture",
        "/v2/payments/preauthorize/revert",
        "/v2/payments",
        "/v2/payments/preauthorize",
        "/v1/requestOrder",
        "/v1/subscription/payments",
        "/v1/qr/sessions",
        "/v2/cashback",
        "/v2/cashback_reversal",
    ]
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=paths, body=bodies)
def test_random_bodies_never_yield_a_5xx(api: Signed, path: str, body: str) -> None:
    if not body:
        body = " "
    response = api.request("POST", path, raw=body)
    assert response.status_code < 500, (path, body, response.text)
    assert "resultInfo" in response.json()


def test_concurrent_kiosks_pay_each_code_once(sim: Simulator, wall: FakeWall) -> None:
    errors: list[BaseException] = []

    def kiosk(index: int) -> None:
        try:
            client = Signed(sim.base_url, KEY, SECRET, MERCHANT, epoch=wall)
            with SimulatorControl(sim.base_url) as control:
                for n in range(5):
                    mpid = f"T{index}-{n}"
                    code_id = client.create(mpid).json()["data"]["codeId"]
                    control.pay(code_id)
                    assert client.details(mpid).json()["data"]["status"] == "COMPLETED"
        except BaseException as error:  # collected and re-raised in the main thread
            errors.append(error)

    threads = [threading.Thread(target=kiosk, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    ledger = sim.snapshot()
    assert len(ledger["codes"]) == 40 and len(ledger["payments"]) == 40
    assert len({p["payment_id"] for p in ledger["payments"]}) == 40


def test_double_pay_race_pays_once(api: Signed, sim: Simulator) -> None:
    code_id = api.create("RACE").json()["data"]["codeId"]
    results: list[int] = []

    def customer() -> None:
        with SimulatorControl(sim.base_url) as control:
            response = control.session.post(f"{sim.base_url}/_sim/codes/{code_id}/pay", timeout=5)
        results.append(response.status_code)

    threads = [threading.Thread(target=customer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200] + [400] * 5
    assert len(sim.snapshot()["payments"]) == 1


segments = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/?#"),
    min_size=0,
    max_size=20,
).map(lambda s: quote(s, safe=""))


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.sampled_from(["GET", "DELETE", "POST", "PUT", "PATCH"]),
    prefix=st.sampled_from(
        [
            "/v2/codes/",
            "/v2/codes/payments/",
            "/v2/payments/",
            "/v2/refunds/",
            "/v1/requestOrder/",
            "/v2/cashback/",
            "/v2/cashback_reversal/",
            "/v2/user/authorizations/",
            "/qr/",
            "/_sim/codes/",
            "/_sim/payments/",
            "/",
        ]
    ),
    ids=st.lists(segments, min_size=1, max_size=3),
    query=st.dictionaries(
        st.sampled_from(["paymentId", "assumeMerchant", "userAuthorizationId", "amount", "x"]),
        st.text(max_size=10),
        max_size=3,
    ),
)
def test_random_paths_and_queries_never_yield_a_5xx(
    api: Signed, method: str, prefix: str, ids: list[str], query: dict[str, str]
) -> None:
    path = prefix + "/".join(ids)
    if query:
        path += "?" + urlencode(query)
    response = api.request(method, path, raw="{}" if method in ("POST", "PUT") else None)
    assert response.status_code < 500, (method, path, response.text)


control_paths = st.sampled_from(
    [
        "/_sim/faults",
        "/_sim/clock",
        "/_sim/codes/04-x/pay",
        "/_sim/payments/x/pay",
        "/_sim/payments/x/confirm_capture",
        "/_sim/ledger",
    ]
)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=control_paths, body=bodies | st.just('{"advance_s": 1' + "0" * 400 + "}"))
def test_random_control_bodies_never_yield_a_5xx(
    ctl: SimulatorControl, path: str, body: str
) -> None:
    response = ctl.session.post(ctl.base_url + path, data=body.encode(), timeout=5)
    assert response.status_code < 500, (path, body, response.text)
    ctl.clear_faults()
