"""Every call bounded, whatever the bytes (issue 12 items 1 and 4).

The documented deadline: a call, retries included, ends within ``RetryPolicy.max_total_s`` of
its start (connect, request, status line, headers and body all count). Each method is measured
against the wall clock while the hostile loopback server trickles its headers or its body a
byte a second, or never answers; the bound asserted is the deadline plus a generous margin for a
loaded machine (a correctness bound, not a performance figure). The bytes tests: JSON nested
200,000 deep, a 10 MB body, garbage, resets mid-body, Retry-After on 429/503: the client raises
only its own error tree, never RecursionError and never a success-looking value.
"""

from __future__ import annotations

import threading
import time
from email.utils import formatdate
from typing import Any

import pytest

from kiosk import opa
from tests.opa.calls import CALLS, IDS, Call
from tests.opa.conftest import EPOCH, FakeTime, make_client
from tests.opa.server import SUCCESS, OpaTestServer, Reply, envelope

CAP_S = 2.0  # the deadline the clients below are given (RetryPolicy.max_total_s)
MARGIN_S = 1.5  # scheduling slack on a shared 2-core machine; a broken bound overshoots by far
OK = {"resultInfo": SUCCESS, "data": {"status": "COMPLETED", "paymentId": "P1"}}

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
SLOW: dict[str, Reply] = {
    "headers trickled 1 byte/s": Reply(200, OK, trickle_headers_s=1.0),
    "body trickled 1 byte/s": Reply(200, OK, trickle_s=1.0),
    "headers then silence": Reply(raw=HEAD + b"Content-Length: 100\r\n\r\n{", hang=True),
    "no answer at all": Reply(hang=True),
}


def _run_all(server: OpaTestServer, fake_time: FakeTime) -> dict[str, tuple[float, object]]:
    """Every method at once (one client each, real clocks): name -> (seconds, what it gave)."""
    results: dict[str, tuple[float, object]] = {}

    def one(name: str, call: Call) -> None:
        client = opa.Client(
            auth=("test_key", "test_secret_not_for_production"),
            base_url=server.base_url,
            clock=fake_time.clock,  # the server checks signatures against its fake epoch
            retry=opa.RetryPolicy(max_total_s=CAP_S),
        )
        started = time.monotonic()
        outcome: object
        try:
            outcome = call(client)
        except Exception as exc:  # recorded and judged below
            outcome = exc
        results[name] = (time.monotonic() - started, outcome)
        client.close()

    threads = [threading.Thread(target=one, args=(name, call)) for name, _, call in CALLS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(CAP_S + 30)
    return results


@pytest.mark.parametrize("shape", list(SLOW), ids=list(SLOW))
def test_every_method_ends_by_its_deadline_whatever_the_server_trickles(
    server: OpaTestServer, fake_time: FakeTime, shape: str
) -> None:
    server.responder = lambda seen: SLOW[shape]
    results = _run_all(server, fake_time)
    assert sorted(results) == sorted(IDS)
    for name, (elapsed_s, outcome) in results.items():
        assert isinstance(outcome, opa.OpaError), f"{name} under {shape} gave {outcome!r}"
        assert isinstance(outcome, opa.RequestTimeout | opa.UnreadableResponse), (name, outcome)
        assert elapsed_s < CAP_S + MARGIN_S, f"{name} under {shape} took {elapsed_s:.2f} s"


def test_the_default_timeouts_are_clipped_to_the_deadline(
    server: OpaTestServer, fake_time: FakeTime
) -> None:
    """Default per-API timeouts (10 s connect, 15-30 s read) never outlast a shorter deadline."""
    server.queue(Reply(200, OK, trickle_headers_s=0.2))  # every byte well inside the timeout
    client = make_client(
        server, clock=fake_time.clock, retry=opa.RetryPolicy(max_total_s=1.0), jitter=lambda: 0
    )
    started = time.monotonic()
    with client, pytest.raises(opa.RequestTimeout, match="deadline"):
        client.Code.get_payment_details("M1")
    assert time.monotonic() - started < 1.0 + MARGIN_S


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


HOSTILE: dict[str, tuple[Reply, type[opa.OpaError]]] = {
    "json nested 200000 deep": (Reply(200, _nested(200_000)), opa.UnreadableResponse),
    "data nested 200000 deep": (
        Reply(200, b'{"resultInfo":{"code":"SUCCESS"},"data":' + _nested(200_000) + b"}"),
        opa.UnreadableResponse,
    ),
    "error nested 200000 deep": (Reply(404, _nested(200_000)), opa.UnreadableResponse),
    "10 MB body": (Reply(200, stream=(b"x" * 10_000, 1_000)), opa.UnreadableResponse),
    "10 MB success envelope": (
        Reply(200, {"resultInfo": SUCCESS, "data": "x" * 10_000_000}),
        opa.UnreadableResponse,
    ),
    "garbage bytes as body": (Reply(200, bytes(range(256)) * 4), opa.UnreadableResponse),
    "invalid utf-8 json": (
        Reply(200, b'{"resultInfo":{"code":"\xff\xfe"}}'),
        opa.UnreadableResponse,
    ),
    "garbage status line": (Reply(raw=b"\x00\xffNOT HTTP AT ALL\r\n\r\n"), opa.ConnectionLost),
    "status 999": (Reply(raw=b"HTTP/1.1 999 Nope\r\nContent-Length: 0\r\n\r\n"), opa.OpaError),
    "header line of 100 KB": (
        Reply(raw=b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n"),
        opa.ConnectionLost,
    ),
    "200 headers": (
        Reply(raw=b"HTTP/1.1 200 OK\r\n" + b"X-H: 1\r\n" * 200 + b"\r\n"),
        opa.ConnectionLost,
    ),
    "bad content-length": (
        Reply(raw=b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n{}"),
        opa.OpaError,
    ),
    "bad chunked encoding": (
        Reply(raw=b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n{}\r\n"),
        opa.OutcomeUnknown,
    ),
    "reset mid-body": (Reply(200, OK, reset_body=True), opa.ConnectionLost),
    "closed mid-body": (Reply(200, OK, cut_body=True), opa.ConnectionLost),
    "closed before a word": (Reply(drop=True), opa.ConnectionLost),
}


@pytest.mark.parametrize("shape", list(HOSTILE), ids=list(HOSTILE))
@pytest.mark.parametrize(("name", "api_name", "call"), CALLS, ids=IDS)
def test_hostile_bytes_raise_only_the_clients_own_errors(
    client: opa.Client,
    server: OpaTestServer,
    name: str,
    api_name: str,
    call: Call,
    shape: str,
) -> None:
    reply, kind = HOSTILE[shape]
    server.responder = lambda seen: reply
    outcome: Any
    try:
        outcome = call(client)
    except opa.OpaError as exc:
        outcome = exc
    assert isinstance(outcome, kind), f"{name} under {shape} gave {type(outcome).__name__}"
    assert not isinstance(outcome, opa.Rejected)  # none of these is PayPay refusing
    assert outcome.api_name == api_name


def test_a_success_nested_just_within_reach_is_still_read(
    client: opa.Client, server: OpaTestServer
) -> None:
    """The guard is against recursion, not against nesting: a deep but parseable answer works."""
    body = b'{"resultInfo":{"code":"SUCCESS"},"data":' + _nested(500) + b"}"
    server.queue(Reply(200, body))
    data = client.Code.get_payment_details("M1")["data"]
    assert isinstance(data, list) and len(data) == 1


RATE = envelope("RATE_LIMIT", "08100998", "Too many requests")
MAINT = envelope("MAINTENANCE_MODE", "08100999", "down")


@pytest.mark.parametrize(
    ("status", "body", "retry_after", "sleeps", "seen"),
    [
        (429, RATE, "3", [3.0], 2),
        (503, MAINT, "3", [3.0], 2),
        (429, RATE, formatdate(EPOCH + 4, usegmt=True), [4.0], 2),  # an HTTP date
        (503, MAINT, formatdate(EPOCH - 60, usegmt=True), [0.375], 2),  # in the past: backoff
        (429, RATE, "999999999999999999999", [], 1),  # past the deadline: give up at once
        (503, MAINT, "86400", [], 1),
        (429, RATE, "soon", [0.375], 2),  # garbage: the usual backoff
        (429, RATE, "-5", [0.375], 2),
        (429, RATE, "1e9", [0.375], 2),  # not delay-seconds (digits only)
        (503, "<html>down</html>", "2", [2.0], 2),  # a proxy's 503 page: retried, honoured
    ],
)
def test_retry_after_on_429_and_503(
    server: OpaTestServer,
    fake_time: FakeTime,
    status: int,
    body: object,
    retry_after: str,
    sleeps: list[float],
    seen: int,
) -> None:
    server.queue(Reply(status, body, headers={"Retry-After": retry_after}))
    with make_client(server, fake_time) as client:
        try:
            answer: object = client.Code.get_payment_details("M1")
        except opa.OpaError as exc:
            answer = exc
    assert fake_time.sleeps == sleeps and len(server.seen) == seen
    if seen == 2:
        assert isinstance(answer, dict) and answer["resultInfo"]["code"] == "SUCCESS"
    else:
        assert isinstance(answer, opa.RateLimited | opa.Maintenance)


def test_a_long_retry_after_ends_the_call_at_once_on_the_wall_clock(
    server: OpaTestServer, fake_time: FakeTime
) -> None:
    server.responder = lambda seen: Reply(429, RATE, headers={"Retry-After": "30"})
    client = opa.Client(
        auth=("test_key", "test_secret_not_for_production"),
        base_url=server.base_url,
        clock=fake_time.clock,
        retry=opa.RetryPolicy(max_total_s=CAP_S),
    )
    started = time.monotonic()
    with client, pytest.raises(opa.RateLimited):
        client.Code.delete_qr_code("04-x")
    assert time.monotonic() - started < CAP_S and len(server.seen) == 1
