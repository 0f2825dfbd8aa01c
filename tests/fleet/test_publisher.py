"""The publisher against a real Mosquitto: acknowledged rows only, outages, restarts, will."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kiosk.engine.journal import Journal
from kiosk.fleet.outbox import OutboxReader
from kiosk.fleet.publisher import BrokerSettings, Publisher, TokenBucket, broker_address
from kiosk.fleet.schema import decode_event
from tests.engine.test_journal import T0, sale
from tests.fleet.helpers import Listener, fleet_journal, wait_until
from tools.fleetservers import Mosquitto


def publisher(broker: Mosquitto, journal: Journal, kiosk: str, **settings: Any) -> Publisher:
    pub = Publisher(
        BrokerSettings(url=broker.url, kiosk=kiosk, prefix="t", **settings),
        OutboxReader(journal.path),
        record=journal.record_fact,
        health=lambda: {"held": 0, "screen": "idle"},
    )
    pub.start()
    return pub


def events(listener: Listener, kiosk: str) -> list[dict[str, Any]]:
    return [json.loads(p) for t, p, _ in listener.snapshot() if t == f"t/v1/{kiosk}/events"]


def sales_keys(listener: Listener, kiosk: str) -> set[str]:
    return {e["key"] for e in events(listener, kiosk) if e["kind"] == "sale"}


def test_publishes_every_row_and_marks_it_sent(broker: Mosquitto, tmp_path: Path) -> None:
    journal = fleet_journal(tmp_path / "j.sqlite3", prefix="a")
    for n in range(30):
        journal.save_sale(sale(f"A-{n}"), T0 + n)
    listener = Listener(broker.port, "t/v1/pub-a/#")
    pub = publisher(broker, journal, "pub-a")
    try:
        listener.wait_for(lambda m: len(sales_keys(listener, "pub-a")) == 30)
        wait_until(lambda: OutboxReader(journal.path).backlog() == 0, what="all rows sent")
        got = events(listener, "pub-a")
        sale_events = [e for e in got if e["kind"] == "sale"]
        assert [e["seq"] for e in sale_events] == sorted(e["seq"] for e in sale_events)
        assert {e["data"]["merchant_payment_id"] for e in sale_events} == {
            f"A-{n}" for n in range(30)
        }
        event = decode_event("pub-a", json.dumps(sale_events[0]).encode())
        assert event.kind == "sale" and event.data["amount_yen"] == 500
        health = [e for e in got if e["kind"] == "health"]
        assert health and health[0]["data"]["screen"] == "idle"
        status = [json.loads(p) for t, p, _ in listener.snapshot() if t.endswith("/status")]
        assert status and status[0]["online"] is True
    finally:
        pub.stop()
        listener.close()
    retained = Listener(broker.port, "t/v1/pub-a/status")
    try:
        retained.wait_for(lambda m: bool(m))
        _topic, payload, was_retained = retained.snapshot()[0]
        assert was_retained and json.loads(payload)["online"] is False
    finally:
        retained.close()


def test_broker_down_keeps_rows_until_it_returns(own_broker: Mosquitto, tmp_path: Path) -> None:
    journal = fleet_journal(tmp_path / "j.sqlite3", prefix="b")
    own_broker.stop()
    pub = publisher(own_broker, journal, "pub-b")
    try:
        for n in range(10):
            journal.save_sale(sale(f"B-{n}"), T0 + n)
        # the publisher runs (its health snapshot is written) while the broker is down
        wait_until(lambda: OutboxReader(journal.path).backlog() >= 11, what="health row")
        assert not pub.connected.is_set() and pub.sent == 0  # nothing marked without an ack
        own_broker.start()
        listener = Listener(own_broker.port, "t/v1/pub-b/events")
        try:
            wait_until(lambda: OutboxReader(journal.path).backlog() == 0, what="backlog drained")
            # rows written after the listener subscribed arrive too
            for n in range(10, 15):
                journal.save_sale(sale(f"B-{n}"), T0 + n)
            listener.wait_for(lambda m: len(sales_keys(listener, "pub-b")) >= 5)
        finally:
            listener.close()
    finally:
        pub.stop()


def test_broker_restart_mid_stream_loses_nothing(own_broker: Mosquitto, tmp_path: Path) -> None:
    journal = fleet_journal(tmp_path / "j.sqlite3", prefix="c")
    listener = Listener(own_broker.port, "t/v1/pub-c/events")
    pub = publisher(own_broker, journal, "pub-c", max_rate_per_s=50)
    try:
        for n in range(40):
            journal.save_sale(sale(f"C-{n}"), T0 + n)
        wait_until(lambda: len(sales_keys(listener, "pub-c")) >= 5, what="first rows")
        own_broker.stop()
        listener.close()
        own_broker.start()
        listener = Listener(own_broker.port, "t/v1/pub-c/events")
        for n in range(40, 50):
            journal.save_sale(sale(f"C-{n}"), T0 + n)
        wait_until(lambda: OutboxReader(journal.path).backlog() == 0, what="backlog drained")
        db_rows = OutboxReader(journal.path)
        assert db_rows.unsent(0, 100) == []
        assert len(sales_keys(listener, "pub-c")) >= 10  # those sent after the restart arrived
    finally:
        pub.stop()
        listener.close()


def test_kiosk_restart_sends_the_rest_with_the_same_keys(broker: Mosquitto, tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    journal = fleet_journal(path, prefix="d")
    for n in range(20):
        journal.save_sale(sale(f"D-{n}"), T0 + n)
    listener = Listener(broker.port, "t/v1/pub-d/#")
    first = publisher(broker, journal, "pub-d", max_rate_per_s=5)
    try:
        wait_until(lambda: len(sales_keys(listener, "pub-d")) >= 3, what="some rows")
        first.kill()  # SIGKILL-like: no goodbye; rows not yet acknowledged stay unsent
        listener.wait_for(
            lambda m: any(t.endswith("/status") and not json.loads(p)["online"] for t, p, _ in m)
        )  # the broker published the last will
        assert OutboxReader(path).backlog() > 0
        second = publisher(broker, journal, "pub-d", max_rate_per_s=100)
        try:
            wait_until(lambda: OutboxReader(path).backlog() == 0, what="the rest sent")
            listener.wait_for(lambda m: len(sales_keys(listener, "pub-d")) == 20)
            expected = {f"d-{n}" for n in range(1, 21)}
            assert sales_keys(listener, "pub-d") == expected  # resends reuse their keys
        finally:
            second.stop()
    finally:
        listener.close()


def test_token_bucket_caps_the_rate() -> None:
    bucket = TokenBucket(rate=10, now=0.0)
    assert bucket.take(0.0, 100) == 1
    assert bucket.take(0.0, 100) == 0
    assert bucket.take(0.5, 100) == 5
    assert bucket.take(10.0, 100) == 10  # at most one second's worth at once
    granted = sum(bucket.take(10.0 + t / 10, 100) for t in range(1, 101))
    assert granted == 100  # 10 s at 10 a second


def test_broker_url_errors_name_the_problem() -> None:
    assert broker_address("mqtt://h") == ("h", 1883, False)
    assert broker_address("mqtts://h:9000") == ("h", 9000, True)
    with pytest.raises(ValueError, match="not mqtt://"):
        broker_address("http://h")
    with pytest.raises(ValueError, match="must not carry a user"):
        broker_address("mqtt://u:pw@h")
