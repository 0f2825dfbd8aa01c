"""A full kiosk (real runner, simulator, journal) in a fleet: its sales reach the hub's ledger,
and the hub's commands are applied, refused when stale or mid-sale, and answered."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from kiosk.domain import Phase, ServiceIssue
from kiosk.fleet.catalogue import CatalogueStore
from kiosk.fleet.hub.service import Hub, HubSettings
from kiosk.fleet.link import FleetLink
from kiosk.fleet.outbox import OutboxSink
from kiosk.fleet.publisher import BrokerSettings
from kiosk.fleet.schema import PayloadError, parse_command
from tests.engine.harness import Kiosk, kiosk
from tests.fleet.helpers import acknowledged, counter_keys, wait_until
from tools.fleetservers import Mosquitto


def q(dsn: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn) as db:
        return db.execute(sql.encode()).fetchall()


def reply_of(dsn: str, command_id: str) -> tuple[object, ...] | None:
    rows = q(dsn, f"SELECT result, reason FROM commands WHERE command_id='{command_id}'")
    return rows[0] if rows and rows[0][0] is not None else None


@pytest.fixture
def fleet(
    broker: Mosquitto, ledger_dsn: str, tmp_path: Path
) -> Iterator[tuple[Kiosk, FleetLink, Hub]]:
    hub = Hub(
        HubSettings(broker_url=broker.url, database=ledger_dsn, prefix="fk", client_id="fk-hub")
    )
    hub.start()
    with kiosk(tmp_path, facts=OutboxSink(counter_keys("K1"))) as k:
        link = FleetLink(
            BrokerSettings(url=broker.url, kiosk="K1", prefix="fk", max_rate_per_s=100),
            k.journal,
            k.runner,
            store=CatalogueStore(tmp_path / "catalogue.json"),
        )
        link.start()
        wait_until(link.publisher.connected.is_set, what="kiosk connected")
        wait_until(hub.connected.is_set, what="hub connected")
        try:
            yield k, link, hub
        finally:
            link.stop()
    hub.stop()


def test_a_paid_sale_reaches_the_ledger(
    fleet: tuple[Kiosk, FleetLink, Hub], ledger_dsn: str
) -> None:
    k, _link, _hub = fleet
    k.sell(300)
    view = k.drive(pay=True)
    assert view.phase is Phase.SUCCEEDED
    wait_until(
        lambda: (
            q(ledger_dsn, "SELECT state, paid, amount_yen FROM sales") == [("SUCCEEDED", True, 300)]
        ),
        what="the sale in the ledger",
    )
    states = [
        r[0]
        for r in q(ledger_dsn, "SELECT data->>'state' FROM events WHERE kind='sale' ORDER BY seq")
    ]
    assert states[0] == "CREATING" and states[-1] == "SUCCEEDED"
    assert len(states) == len(set(states))  # one fact per transition, not per poll


def test_commands_applied_refused_and_answered(
    fleet: tuple[Kiosk, FleetLink, Hub], ledger_dsn: str, broker: Mosquitto
) -> None:
    k, _link, hub = fleet
    k.ready()
    off = hub.send_command("K1", "out_of_service", "cleaning")
    wait_until(lambda: reply_of(ledger_dsn, off) is not None, what="reply")
    assert reply_of(ledger_dsn, off) == ("applied", "")
    assert k.runner.service_issue() is ServiceIssue.ATTENDANT
    wait_until(
        lambda: (
            q(ledger_dsn, "SELECT out_of_service, out_of_service_reason FROM kiosks")
            == [(True, "cleaning")]
        ),
        what="kiosk out of service in the ledger",
    )
    on = hub.send_command("K1", "back_in_service")
    wait_until(lambda: reply_of(ledger_dsn, on) is not None, what="reply")
    assert reply_of(ledger_dsn, on) == ("applied", "")
    assert k.runner.service_issue() is None

    k.sell(200)  # a QR on screen: a command now would interrupt the customer
    busy = hub.send_command("K1", "out_of_service")
    wait_until(lambda: reply_of(ledger_dsn, busy) is not None, what="reply")
    assert reply_of(ledger_dsn, busy) == ("refused", "a sale is in progress")
    assert k.runner.service_issue() is None
    k.runner.cancel_sale()
    k.drive(pay=False)

    raw = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="fk-raw")
    raw.connect("127.0.0.1", broker.port)
    raw.loop_start()
    stale = {
        "schema": 1,
        "command_id": "old-1",
        "kind": "out_of_service",
        "issued_at": time.time() - 3600,
    }
    with psycopg.connect(ledger_dsn) as db:
        db.execute(
            "INSERT INTO commands (command_id, kiosk, kind, body, sent_at)"
            " VALUES ('old-1', 'K1', 'out_of_service', '{}', now())"
        )
    acknowledged(raw.publish("fk/v1/K1/commands", json.dumps(stale), qos=1), "the stale command")
    raw.loop_stop()
    raw.disconnect()
    wait_until(lambda: reply_of(ledger_dsn, "old-1") is not None, what="stale reply")
    result = reply_of(ledger_dsn, "old-1")
    assert result is not None and result[0] == "refused" and "stale" in str(result[1])
    assert k.runner.service_issue() is None


def test_unreadable_commands_name_the_problem() -> None:
    with pytest.raises(PayloadError, match="kind 'explode'"):
        parse_command(
            json.dumps({"schema": 1, "command_id": "x", "kind": "explode", "issued_at": 1}).encode()
        )
    with pytest.raises(PayloadError, match="issued_at"):
        parse_command(json.dumps({"schema": 1, "command_id": "x", "kind": "reconcile"}).encode())
    with pytest.raises(PayloadError, match="not JSON"):
        parse_command(b"\xff")


def test_catalogue_updates_are_checked_versioned_and_kept(
    fleet: tuple[Kiosk, FleetLink, Hub], ledger_dsn: str, tmp_path: Path
) -> None:
    k, link, hub = fleet
    k.ready()
    item = {"sku": "latte", "name_ja": "ラテ", "name_en": "Latte", "price_yen": 380}

    def send(document: object) -> tuple[object, ...]:
        command_id = hub.send_command("K1", "catalogue", extra={"document": document})
        wait_until(lambda: reply_of(ledger_dsn, command_id) is not None, what="reply")
        result = reply_of(ledger_dsn, command_id)
        assert result is not None
        return result

    assert send({"version": 2, "items": [item]}) == ("applied", "version 2")
    taken = link.take_catalogue()
    assert taken is not None and taken.items[0].price_yen == 380
    assert send({"version": 2, "items": [{**item, "price_yen": 1}]}) == (
        "refused",
        "version 2 is not newer than 2",
    )
    bad = send({"version": 3, "items": [{**item, "price_yen": -5}]})
    assert bad[0] == "rejected" and "item 1" in str(bad[1])
    assert link.take_catalogue() is None  # nothing new: the last good one stays
    k.sell(200)
    assert send({"version": 4, "items": [item]}) == ("refused", "a sale is in progress")
    k.runner.cancel_sale()
    k.drive(pay=False)
    kept = CatalogueStore(tmp_path / "catalogue.json").load()
    assert kept is not None and kept.version == 2 and kept.items[0].price_yen == 380
