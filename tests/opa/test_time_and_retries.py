"""Bounded time, the retry rules, connection reuse, the Date header, thread safety."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from kiosk import opa
from tests.opa.conftest import EPOCH, FakeTime, make_client
from tests.opa.server import SECRET, OpaTestServer, Reply, envelope

QR = {"merchantPaymentId": "M1", "amount": {"amount": 1, "currency": "JPY"}, "codeType": "ORDER_QR"}
RATE = Reply(429, envelope("RATE_LIMIT", "08100998", "Too many requests"))
MAINT = Reply(503, envelope("MAINTENANCE_MODE", "08100999", "down"))
# jitter 0.5 and the default policy (base 0.5 s, equal jitter): 0.375 s, then 0.75 s
BACKOFF = [0.375, 0.75]


def _real_time_client(server: OpaTestServer, fake_time: FakeTime, timeout: float) -> opa.Client:
    """Real monotonic clock and sleep; the epoch stays the server's (fake) one."""
    return opa.Client(
        auth=("test_key", SECRET), base_url=server.base_url, timeout=timeout, clock=fake_time.clock
    )


def test_a_server_that_never_answers_fails_within_the_timeout_plus_a_second(
    server: OpaTestServer, fake_time: FakeTime
) -> None:
    server.queue(Reply(hang=True))
    with _real_time_client(server, fake_time, 1.0) as client:
        started = time.monotonic()
        with pytest.raises(opa.RequestTimeout) as caught:
            client.Code.create_qr_code(QR)
        elapsed_s = time.monotonic() - started
    assert elapsed_s < 1.0 + 1.0  # the bound the issue asks for, generous on purpose
    assert caught.value.status is None and caught.value.api_name == "v2_createDynamicQRCode"
    assert len(server.seen) == 1


def test_a_get_that_times_out_is_not_retried(server: OpaTestServer, fake_time: FakeTime) -> None:
    server.queue(Reply(hang=True))
    with _real_time_client(server, fake_time, 0.3) as client, pytest.raises(opa.RequestTimeout):
        client.Code.get_payment_details("M1")
    assert len(server.seen) == 1


def test_a_server_trickling_its_answer_is_cut_off_at_the_overall_cap(
    server: OpaTestServer, fake_time: FakeTime
) -> None:
    server.queue(Reply(200, {"resultInfo": {"code": "SUCCESS"}, "data": "x" * 40}, trickle_s=0.1))
    capped = opa.Client(
        auth=("test_key", SECRET),
        base_url=server.base_url,
        timeout=0.5,  # every byte arrives well within the read timeout
        clock=fake_time.clock,
        retry=opa.RetryPolicy(max_total_s=1.0),
    )
    started = time.monotonic()
    with capped, pytest.raises(opa.RequestTimeout, match="deadline"):
        capped.Code.get_payment_details("M1")
    assert time.monotonic() - started < 1.0 + 0.5 + 1.0  # cap + one read timeout, generously


def test_an_oversized_answer_is_unreadable(client: opa.Client, server: OpaTestServer) -> None:
    server.queue(Reply(200, {"resultInfo": {"code": "SUCCESS"}, "data": "x" * (1 << 20)}))
    with pytest.raises(opa.UnreadableResponse) as caught:
        client.Code.get_payment_details("M1")
    assert caught.value.status == 200


def test_per_api_timeouts_follow_the_reference() -> None:
    client = opa.Client(auth=("k", "s"))
    assert client.timeouts_for("v2_createDynamicQRCode") == (10.0, 30.0)
    assert client.timeouts_for("v2_createRefundPayment") == (10.0, 30.0)
    assert client.timeouts_for("v2_captureAuthorizedOrder") == (10.0, 30.0)
    assert client.timeouts_for("v2_revertAuthorizedOrder") == (10.0, 30.0)
    assert client.timeouts_for("v2_getQRPaymentDetails") == (10.0, 15.0)
    assert client.timeouts_for("v2_deleteDynamicQRCode") == (10.0, 15.0)
    assert client.timeouts_for("v2_cancelPayment") == (10.0, 15.0)
    assert client.timeouts_for("v2_getRefundDetails") == (10.0, 15.0)
    assert client.timeouts_for("v1_qrSession") == (10.0, 10.0)
    overridden = opa.Client(auth=("k", "s"), timeout=(2, 5))
    assert overridden.timeouts_for("v2_createDynamicQRCode") == (2.0, 5.0)
    assert opa.Client(auth=("k", "s"), timeout=3).timeouts_for("v2_cancelPayment") == (3.0, 3.0)


def test_a_post_whose_connection_drops_after_sending_is_unknown_and_not_resent(
    client: opa.Client, server: OpaTestServer, fake_time: FakeTime
) -> None:
    server.queue(Reply(drop=True))
    with pytest.raises(opa.ConnectionLost) as caught:
        client.Code.create_qr_code(QR)
    assert isinstance(caught.value, opa.OutcomeUnknown)
    # no chained requests exception (it would hold the request and its Authorization header)
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert len(server.seen) == 1 and fake_time.sleeps == []


def test_a_get_whose_connection_drops_is_retried(
    client: opa.Client, server: OpaTestServer, fake_time: FakeTime
) -> None:
    server.queue(Reply(drop=True))
    response = client.Code.get_payment_details("M1")
    assert response["resultInfo"]["code"] == "SUCCESS"
    assert len(server.seen) == 2 and fake_time.sleeps == BACKOFF[:1]


def test_an_answer_cut_off_mid_body_is_unknown_and_its_connection_is_not_reused(
    client: opa.Client, server: OpaTestServer, fake_time: FakeTime
) -> None:
    # the status line came back, so the request arrived: never "not connected", even for a POST
    server.queue(Reply(201, cut_body=True), Reply(200, cut_body=True))
    with pytest.raises(opa.OutcomeUnknown) as caught:
        client.Code.create_qr_code(QR)
    assert not isinstance(caught.value, opa.NotConnected)
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    response = client.Code.get_payment_details("M1")  # cut once, then retried on a new connection
    assert response["resultInfo"]["code"] == "SUCCESS"
    assert len(server.seen) == 3 and fake_time.sleeps == BACKOFF[:1]
    assert server.connections == 3


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_nothing_listening_is_not_connected_and_gets_retried_for_a_get(
    fake_time: FakeTime,
) -> None:
    with opa.Client(
        auth=("k", "s"),
        base_url=_closed_port_url(),
        clock=fake_time.clock,
        monotonic=fake_time.monotonic,
        sleep=fake_time.sleep,
        jitter=lambda: 0.5,
    ) as client:
        with pytest.raises(opa.NotConnected) as caught:
            client.Code.get_payment_details("M1")
        assert fake_time.sleeps == BACKOFF
        assert isinstance(caught.value, opa.TryLater)
        with pytest.raises(opa.NotConnected):
            client.Code.create_qr_code(QR)
        assert fake_time.sleeps == BACKOFF  # a POST is never repeated


def test_rate_limited_gets_back_off_then_succeed(
    client: opa.Client, server: OpaTestServer, fake_time: FakeTime
) -> None:
    server.queue(RATE, RATE)
    assert client.Payment.cancel_payment("M1")["resultInfo"]["code"] == "SUCCESS"
    assert len(server.seen) == 3 and fake_time.sleeps == BACKOFF


def test_retry_after_is_honoured(
    client: opa.Client, server: OpaTestServer, fake_time: FakeTime
) -> None:
    server.queue(Reply(429, RATE.body, headers={"Retry-After": "2"}))
    client.Code.get_payment_details("M1")
    assert fake_time.sleeps == [2.0]


@pytest.mark.parametrize("reply", [RATE, MAINT], ids=["429", "503"])
def test_a_post_is_never_retried_on_429_or_503(
    client: opa.Client, server: OpaTestServer, fake_time: FakeTime, reply: Reply
) -> None:
    server.queue(reply)
    with pytest.raises((opa.TryLater, opa.Maintenance)):
        client.Code.create_qr_code(QR)
    assert len(server.seen) == 1 and fake_time.sleeps == []


def test_503_on_a_delete_is_retried_until_attempts_run_out(
    client: opa.Client, server: OpaTestServer, fake_time: FakeTime
) -> None:
    server.queue(MAINT, MAINT, MAINT, MAINT)
    with pytest.raises(opa.Maintenance):
        client.Code.delete_qr_code("04-abc")
    assert len(server.seen) == 3 and fake_time.sleeps == BACKOFF


def test_500_on_a_get_is_not_retried(
    client: opa.Client, server: OpaTestServer, fake_time: FakeTime
) -> None:
    server.queue(Reply(500, envelope("INTERNAL_SERVER_ERROR", "08101000")))
    with pytest.raises(opa.ServerError):
        client.Code.get_payment_details("M1")
    assert len(server.seen) == 1


def test_the_overall_cap_stops_retries(server: OpaTestServer, fake_time: FakeTime) -> None:
    policy = opa.RetryPolicy(max_total_s=3.0)
    server.queue(Reply(429, RATE.body, headers={"Retry-After": "5"}))
    with make_client(server, fake_time, retry=policy) as client, pytest.raises(opa.RateLimited):
        client.Code.get_payment_details("M1")
    assert len(server.seen) == 1 and fake_time.sleeps == []


def test_jitter_comes_from_the_injected_source() -> None:
    policy = opa.RetryPolicy(backoff_base_s=1.0, backoff_max_s=3.0)
    assert [policy.delay_s(i, 0.0) for i in range(4)] == [0.5, 1.0, 1.5, 1.5]
    assert [policy.delay_s(i, 0.999) for i in range(3)] == pytest.approx([0.9995, 1.999, 2.9985])


def test_one_kept_alive_connection_serves_many_calls(
    client: opa.Client, server: OpaTestServer
) -> None:
    for index in range(20):
        client.Code.get_payment_details(f"M{index}")
        client.Code.create_qr_code({**QR, "merchantPaymentId": f"M{index}"})
    assert len(server.seen) == 40
    assert server.connections == 1


def test_every_answer_is_reported_with_its_date_header(
    server: OpaTestServer, fake_time: FakeTime
) -> None:
    seen: list[opa.ResponseInfo] = []
    date = "Tue, 14 Nov 2023 22:13:20 GMT"  # = epoch 1700000000
    server.queue(Reply(201, date=date), Reply(hang=True))
    with make_client(server, fake_time, on_response=seen.append, timeout=0.3) as client:
        client.Code.create_qr_code(QR)
        with pytest.raises(opa.RequestTimeout):
            client.Code.create_qr_code(QR)  # no answer, nothing to report
    assert seen == [
        opa.ResponseInfo("v2_createDynamicQRCode", "POST", "/v2/codes", 201, 1.7e9, EPOCH, 0.0)
    ]


def test_error_answers_are_reported_too_and_a_broken_observer_changes_nothing(
    server: OpaTestServer, fake_time: FakeTime
) -> None:
    seen: list[opa.ResponseInfo] = []

    def observer(info: opa.ResponseInfo) -> None:
        seen.append(info)
        raise RuntimeError("observer bug")

    server.queue(Reply(401, envelope("UNAUTHORIZED", "08100016"), date="nonsense"))
    with make_client(server, fake_time, on_response=observer) as client:
        with pytest.raises(opa.AuthError):
            client.Code.get_payment_details("M1")
        assert client.Code.get_payment_details("M2")["resultInfo"]["code"] == "SUCCESS"
    assert [(i.status, i.server_date_epoch, i.path) for i in seen] == [
        (401, None, "/v2/codes/payments/M1"),
        (200, seen[1].server_date_epoch, "/v2/codes/payments/M2"),
    ]
    assert seen[1].server_date_epoch is not None


def test_one_client_many_threads_each_gets_its_own_answer(
    server: OpaTestServer, fake_time: FakeTime
) -> None:
    results: dict[str, list[str]] = {}
    failures: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            got = []
            for index in range(15):
                mpid = f"{name}-{index}"
                if index % 3 == 0:
                    body = client.Code.create_qr_code({**QR, "merchantPaymentId": mpid})
                    got.append(body["data"]["body"]["merchantPaymentId"])
                else:
                    got.append(client.Code.get_payment_details(mpid)["data"]["path"])
            results[name] = got
        except BaseException as exc:
            failures.append(exc)

    with make_client(server, FakeTime(), sleep=time.sleep) as client:
        threads = [threading.Thread(target=worker, args=(f"T{n}",)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []
    for name, got in results.items():
        assert got == [
            f"{name}-{i}" if i % 3 == 0 else f"/v2/codes/payments/{name}-{i}" for i in range(15)
        ]
    assert len(results) == 8 and all(s.auth_error is None for s in server.seen)
