"""Kiosk journals -> publishers -> a real Mosquitto -> the hub -> a real PostgreSQL."""

from __future__ import annotations

import json
import signal
from dataclasses import replace
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from kiosk.engine.journal import Journal
from kiosk.fleet.hub.alerts import Alert
from kiosk.fleet.hub.service import Hub, HubSettings
from kiosk.fleet.outbox import OutboxReader
from kiosk.fleet.publisher import BrokerSettings, Publisher
from kiosk.sale.model import State
from tests.engine.test_journal import T0, paid, sale
from tests.fleet.helpers import acknowledged, fleet_journal, wait_until
from tools.fleetservers import Mosquitto

_hub_ids = iter(range(1, 10_000))


class Sent:
    def __init__(self) -> None:
        self.alerts: list[tuple[str, str]] = []

    def __call__(self, title: str, body: str) -> bool:
        self.alerts.append((title, body))
        return True


def make_hub(broker: Mosquitto, dsn: str, send: Sent, client_id: str, **kw: Any) -> Hub:
    hub = Hub(
        HubSettings(broker_url=broker.url, database=dsn, prefix="h", client_id=client_id, **kw),
        send=send,
    )
    hub.start()
    wait_until(hub.connected.is_set, what="hub connected")
    return hub


def make_publisher(broker: Mosquitto, journal: Journal, kiosk: str, **kw: Any) -> Publisher:
    pub = Publisher(
        BrokerSettings(url=broker.url, kiosk=kiosk, prefix="h", **kw),
        OutboxReader(journal.path),
        record=journal.record_fact,
        health=lambda: {"held": 0, "screen": "idle"},
    )
    pub.start()
    return pub


def q(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as db:
        return db.execute(sql.encode()).fetchall()


@pytest.fixture
def hub_id() -> str:
    return f"hub-test-{next(_hub_ids)}"


@pytest.fixture
def sent() -> Sent:
    return Sent()


def test_sales_reach_the_ledger_once_even_when_delivered_twice(
    broker: Mosquitto, ledger_dsn: str, tmp_path: Path, sent: Sent, hub_id: str
) -> None:
    hub = make_hub(broker, ledger_dsn, sent, hub_id)
    journals = {k: fleet_journal(tmp_path / f"{k}.sqlite3", prefix=k) for k in ("e1", "e2")}
    pubs = [make_publisher(broker, j, k) for k, j in journals.items()]
    try:
        for k, journal in journals.items():
            for n in range(10):
                journal.save_sale(paid(sale(f"{k}-{n}", amount=100 + n)), T0 + n)
        wait_until(lambda: q(ledger_dsn, "SELECT count(*) FROM sales")[0][0] == 20, what="20 sales")
        # a duplicated delivery: the same event published again by hand
        with psycopg.connect(ledger_dsn) as db:
            row = db.execute(
                "SELECT kiosk, key, seq, kind, at, data FROM events WHERE kind='sale' LIMIT 1"
            ).fetchone()
        assert row is not None
        body = {
            "schema": 1,
            "kiosk": row[0],
            "key": row[1],
            "seq": row[2],
            "kind": row[3],
            "at": row[4].timestamp(),
            "data": row[5],
        }
        raw = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{hub_id}-dup")
        raw.connect("127.0.0.1", broker.port)
        raw.loop_start()
        before = hub.duplicates
        acknowledged(raw.publish(f"h/v1/{row[0]}/events", json.dumps(body), qos=1), "the duplicate")
        acknowledged(raw.publish(f"h/v1/{row[0]}/events", json.dumps(body), qos=1), "the duplicate")
        wait_until(lambda: hub.duplicates >= before + 2, what="duplicates seen")
        raw.loop_stop()
        raw.disconnect()
        totals = q(
            ledger_dsn,
            "SELECT kiosk, count(*), sum(amount_yen) FROM sales WHERE paid"
            " GROUP BY kiosk ORDER BY kiosk",
        )
        assert totals == [("e1", 10, 1045), ("e2", 10, 1045)]
        assert q(ledger_dsn, "SELECT count(*) FROM events WHERE kind='sale'") == [(20,)]
    finally:
        for p in pubs:
            p.stop()
        hub.stop()


def test_a_hub_killed_and_restarted_loses_nothing(
    broker: Mosquitto, ledger_dsn: str, tmp_path: Path, sent: Sent, hub_id: str
) -> None:
    hub = make_hub(broker, ledger_dsn, sent, hub_id)
    journal = fleet_journal(tmp_path / "k.sqlite3", prefix="kk")
    pub = make_publisher(broker, journal, "kk", max_rate_per_s=200, inflight=50)
    try:
        for n in range(5):
            journal.save_sale(paid(sale(f"kk-{n}")), T0 + n)
        wait_until(
            lambda: q(ledger_dsn, "SELECT count(*) FROM sales")[0][0] == 5, what="first sales"
        )
        hub._stop.set()  # die: no further acknowledgements, no goodbye
        hub._client.loop_stop()
        sock = hub._client.socket()
        assert sock is not None
        sock.close()
        for n in range(5, 60):  # the broker keeps these for the hub's persistent session
            journal.save_sale(paid(sale(f"kk-{n}")), T0 + n)
        wait_until(lambda: OutboxReader(journal.path).backlog() == 0, what="kiosk drained")
        again = make_hub(broker, ledger_dsn, sent, hub_id)
        try:
            wait_until(
                lambda: q(ledger_dsn, "SELECT count(*) FROM sales")[0][0] == 60, what="all 60"
            )
            assert q(ledger_dsn, "SELECT count(*) FROM events WHERE kind='sale'") == [(60,)]
        finally:
            again.stop()
    finally:
        pub.stop()
        hub.announcer.close()
        if hub._ledger is not None:
            hub._ledger.close()


def test_silent_kiosk_and_held_sale_alerts(
    broker: Mosquitto, ledger_dsn: str, tmp_path: Path, sent: Sent, hub_id: str
) -> None:
    hub = make_hub(broker, ledger_dsn, sent, hub_id, silent_s=2.0, check_s=0.2)
    journal = fleet_journal(tmp_path / "k.sqlite3", prefix="sk")
    pub = make_publisher(broker, journal, "sk", health_s=60)
    try:
        held = paid(sale("sk-1"), State.HELD)
        journal.save_sale(held, T0)
        wait_until(lambda: any("held raised" in t for t, _ in sent.alerts), what="held alert")
        journal.save_sale(replace(held, state=State.SUCCEEDED), T0 + 1)
        wait_until(lambda: any("held cleared" in t for t, _ in sent.alerts), what="held cleared")
        pub.kill()  # silent from now on; its last will says offline
        wait_until(lambda: any("silent raised" in t for t, _ in sent.alerts), what="silent alert")
        assert q(ledger_dsn, "SELECT online FROM kiosks WHERE kiosk='sk'") == [(False,)]
        back = make_publisher(broker, journal, "sk")
        try:
            wait_until(lambda: any("silent cleared" in t for t, _ in sent.alerts), what="cleared")
        finally:
            back.stop()
        bodies = [b for _, b in sent.alerts]
        assert any("kind=held kiosk=sk subject=sk-1" in b for b in bodies)
    finally:
        hub.stop()


def test_unreadable_payloads_are_kept_and_named(
    broker: Mosquitto, ledger_dsn: str, sent: Sent, hub_id: str
) -> None:
    hub = make_hub(broker, ledger_dsn, sent, hub_id)
    raw = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{hub_id}-raw")
    raw.connect("127.0.0.1", broker.port)
    raw.loop_start()
    try:
        bad = [
            ("h/v1/bk/events", b"not json"),
            ("h/v1/bk/events", json.dumps({"schema": 2}).encode()),
            (
                "h/v1/bk/events",
                json.dumps(
                    {
                        "schema": 1,
                        "kiosk": "other",
                        "seq": 1,
                        "key": "x",
                        "kind": "sale",
                        "at": 1,
                        "data": {},
                    }
                ).encode(),
            ),
            (
                "h/v1/bk/events",
                json.dumps(
                    {
                        "schema": 1,
                        "kiosk": "bk",
                        "seq": 1,
                        "key": "x",
                        "kind": "sale",
                        "at": 1,
                        "data": {"amount_yen": "5"},
                    }
                ).encode(),
            ),
        ]
        for topic, payload in bad:
            acknowledged(raw.publish(topic, payload, qos=1), f"bad payload on {topic}")
        wait_until(
            lambda: q(ledger_dsn, "SELECT count(*) FROM rejected")[0][0] == 4, what="4 rejected"
        )
        errors = [r[0] for r in q(ledger_dsn, "SELECT error FROM rejected ORDER BY id")]
        assert "not JSON" in errors[0]
        assert "schema 2 is not 1" in errors[1]
        assert "names kiosk 'other'" in errors[2]
        assert "merchant_payment_id" in errors[3]
        assert q(ledger_dsn, "SELECT count(*) FROM sales") == [(0,)]
    finally:
        raw.loop_stop()
        raw.disconnect()
        hub.stop()


def test_alert_lines_say_what_and_where() -> None:
    alert = Alert("k9", "silent", "", "no message since 2026-01-01T00:00:00+00:00", True)
    assert alert.line() == (
        "fleet alert raised kind=silent kiosk=k9 subject=- detail=no message since "
        "2026-01-01T00:00:00+00:00"
    )


def test_facts_a_crashed_broker_lost_are_asked_for_again(
    own_broker: Mosquitto, ledger_dsn: str, tmp_path: Path, sent: Sent, hub_id: str
) -> None:
    """The broker acknowledged the kiosk's rows, queued them for the (stopped) hub and died
    before saving its queue: the hub sees the gap in the kiosk's seq and gets them replayed."""
    hub = make_hub(own_broker, ledger_dsn, sent, hub_id, gap_check_s=0.5, gap_grace_s=0.5)
    journal = fleet_journal(tmp_path / "k.sqlite3", prefix="gp")
    pub = make_publisher(own_broker, journal, "gp", health_s=1.0)
    try:
        journal.save_sale(paid(sale("gp-0")), T0)
        wait_until(lambda: q(ledger_dsn, "SELECT count(*) FROM sales")[0][0] == 1, what="first")
        hub.stop()
        for n in range(1, 11):
            journal.save_sale(paid(sale(f"gp-{n}")), T0 + n)
        wait_until(lambda: OutboxReader(journal.path).backlog() == 0, what="broker acked all")
        own_broker.stop(signal.SIGKILL)  # its in-memory queue for the hub is gone
        own_broker.start()
        hub = make_hub(own_broker, ledger_dsn, sent, hub_id, gap_check_s=0.5, gap_grace_s=0.5)
        wait_until(
            lambda: q(ledger_dsn, "SELECT count(*) FROM sales")[0][0] == 11, what="all 11 sales"
        )
        sql = "SELECT result FROM commands WHERE kind='replay'"
        wait_until(
            lambda: bool(q(ledger_dsn, sql)) and None not in {r[0] for r in q(ledger_dsn, sql)}
        )
        assert {r[0] for r in q(ledger_dsn, sql)} == {"applied"}
    finally:
        pub.stop()
        hub.stop()
