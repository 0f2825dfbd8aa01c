"""Fleet figures on a real Mosquitto and PostgreSQL (started here, as the tests do):

- outbox_publish_ms_median: from a sale's outbox row being committed in the journal to the
  broker's acknowledgement of it (the row's `at` to its `sent_at`), one sale at a time, with
  the shipped publisher settings;
- hub_ingest_msgs_per_s: events queued on the broker for the hub's session (hub stopped), then
  the hub started: events written to the ledger per second while it drains them.
"""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.common import figure
from kiosk.engine.journal import Journal
from kiosk.fleet.hub.service import Hub, HubSettings
from kiosk.fleet.outbox import OutboxReader, OutboxSink
from kiosk.fleet.publisher import BrokerSettings, Publisher
from kiosk.fleet.schema import Event
from kiosk.sale.machine import new_sale
from tools.fleetservers import Mosquitto, Postgres, remove, scratch_dir

SALES = 200
EVENTS = 5000


def _wait(check: object, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise RuntimeError("benchmark condition not reached")
        time.sleep(0.005)


def publish_latency(broker: Mosquitto, workdir: Path) -> list[float]:
    journal = Journal(workdir / "j.sqlite3", facts=OutboxSink())
    pub = Publisher(
        BrokerSettings(url=broker.url, kiosk="bench", prefix="bench", health_s=3600),
        OutboxReader(journal.path),
        record=journal.record_fact,
        health=lambda: {"held": 0},
    )
    pub.start()
    _wait(pub.connected.is_set)
    for n in range(SALES):
        now = time.time()
        sale, _ = new_sale(f"bench-{n}", 100, "Bench", preauth=False, now=now)
        before = pub.sent
        journal.save_sale(sale, now)
        _wait(lambda before=before: pub.sent > before)
    pub.stop(drain_s=30)
    journal.close()
    db = sqlite3.connect(workdir / "j.sqlite3")
    rows = db.execute(
        "SELECT at, sent_at FROM outbox WHERE kind='sale' AND sent_at IS NOT NULL"
    ).fetchall()
    db.close()
    return [sent - at for at, sent in rows]


def ingest_rate(broker: Mosquitto, dsn: str) -> float:
    settings = HubSettings(broker_url=broker.url, database=dsn, prefix="bench", client_id="bh")
    hub = Hub(settings)
    hub.start()  # creates the persistent session, then goes away
    _wait(hub.connected.is_set)
    hub.stop()
    raw = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-raw")
    raw.max_inflight_messages_set(1000)
    raw.connect("127.0.0.1", broker.port)
    raw.loop_start()
    now = time.time()
    infos = []
    for n in range(EVENTS):
        kiosk = f"b{n % 50}"
        data = {"merchant_payment_id": f"{kiosk}-{n}", "amount_yen": 100, "state": "SUCCEEDED",
                "paid": True, "created_at": now}  # fmt: skip
        event = Event(kiosk, n // 50 + 1, f"key-{n}", "sale", now, data)
        infos.append(raw.publish(f"bench/v1/{kiosk}/events", event.encode(), qos=1))
    for info in infos:
        info.wait_for_publish(60)
    raw.loop_stop()
    raw.disconnect()
    hub = Hub(settings)
    started = time.monotonic()
    hub.start()
    _wait(lambda: hub.ingested >= EVENTS, timeout_s=600)
    elapsed = time.monotonic() - started
    hub.stop()
    return EVENTS / elapsed


def run() -> Iterator[dict[str, object]]:
    broker_dir, pg_dir = scratch_dir("bench-broker-"), scratch_dir("bench-pg-")
    broker, pg = Mosquitto(broker_dir), Postgres(pg_dir)
    broker.start()
    pg.start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
            samples = publish_latency(broker, Path(tmp))
        yield figure(
            "outbox_publish_ms_median",
            statistics.median(samples) * 1000,
            "ms",
            sales=len(samples),
            p90_ms=round(sorted(samples)[int(len(samples) * 0.9)] * 1000, 3),
        )
        rate = ingest_rate(broker, pg.create_db("bench"))
        yield figure("hub_ingest_msgs_per_s", rate, "msgs/s", events=EVENTS)
    finally:
        broker.stop()
        pg.stop()
        remove(broker_dir)
        remove(pg_dir)
