"""The ledger on a real PostgreSQL: migrations, idempotency, late and out-of-order facts."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from kiosk.fleet.hub.ledger import Ledger
from kiosk.fleet.hub.migrate import MigrationError, migrate, migrations, status
from kiosk.fleet.schema import Event

T0 = 1_790_000_000.0


def sale_event(
    seq: int, state: str, mpid: str = "K1-1", kiosk: str = "k1", paid: bool = False
) -> Event:
    data = {
        "merchant_payment_id": mpid,
        "amount_yen": 150,
        "description": "Coffee",
        "state": state,
        "paid": paid,
        "finished": state in ("SUCCEEDED", "HELD", "FAILED"),
        "payment_id": "P1" if paid else None,
        "created_at": T0,
        "end_reason": None,
    }
    return Event(kiosk, seq, f"{kiosk}-key-{seq}", "sale", T0 + seq, data)


@pytest.fixture
def ledger(ledger_dsn: str) -> Iterator[Ledger]:
    migrate(ledger_dsn)
    opened = Ledger(ledger_dsn)
    yield opened
    opened.close()


def one(ledger: Ledger, sql: str) -> object:
    row = ledger.db.execute(sql.encode()).fetchone()
    return row[0] if row else None


def test_migrations_apply_once_and_refuse_a_newer_database(ledger_dsn: str) -> None:
    assert migrate(ledger_dsn) == [f"{m.version:04d}_{m.name}" for m in migrations()]
    assert migrate(ledger_dsn) == []
    applied, known = status(ledger_dsn)
    assert applied == list(range(1, known + 1))
    with psycopg.connect(ledger_dsn) as db:
        db.execute("INSERT INTO schema_migrations (version, name) VALUES (99, 'future')")
    with pytest.raises(MigrationError, match="newer than this hub"):
        migrate(ledger_dsn)


def test_a_fact_delivered_twice_is_written_once(ledger: Ledger) -> None:
    event = sale_event(1, "SUCCEEDED", paid=True)
    assert ledger.ingest(event, T0).new
    assert not ledger.ingest(event, T0 + 1).new
    assert one(ledger, "SELECT count(*) FROM events") == 1
    assert one(ledger, "SELECT count(*) FROM sales") == 1
    assert one(ledger, "SELECT sum(amount_yen) FROM sales WHERE paid") == 150


def test_out_of_order_facts_keep_the_latest_state(ledger: Ledger) -> None:
    ledger.ingest(sale_event(3, "SUCCEEDED", paid=True), T0)
    later_but_older = ledger.ingest(sale_event(1, "CREATING"), T0 + 5)
    assert later_but_older.new  # recorded in events ...
    assert one(ledger, "SELECT state FROM sales") == "SUCCEEDED"  # ... never rolls back
    assert one(ledger, "SELECT count(*) FROM events") == 2


def test_a_fact_of_any_age_is_accepted(ledger: Ledger) -> None:
    old = sale_event(1, "SUCCEEDED", paid=True)
    year_old = Event(old.kiosk, 1, old.key, old.kind, T0 - 365 * 86400, old.data)
    assert ledger.ingest(year_old, T0).new
    assert one(ledger, "SELECT count(*) FROM sales") == 1


def test_kiosks_cannot_touch_each_others_sales(ledger: Ledger) -> None:
    ledger.ingest(sale_event(1, "SUCCEEDED", kiosk="k1", paid=True), T0)
    ledger.ingest(sale_event(5, "FAILED", kiosk="k2"), T0)  # same ids, another kiosk
    states = ledger.db.execute("SELECT kiosk, state FROM sales ORDER BY kiosk").fetchall()
    assert states == [("k1", "SUCCEEDED"), ("k2", "FAILED")]


def test_held_then_settled_is_reported(ledger: Ledger) -> None:
    assert ledger.ingest(sale_event(1, "HELD", paid=True), T0).held == "K1-1"
    assert ledger.ingest(sale_event(2, "SUCCEEDED", paid=True), T0).settled == "K1-1"


def test_refund_service_and_health_facts(ledger: Ledger) -> None:
    ledger.ingest(sale_event(1, "SUCCEEDED", paid=True), T0)
    refund = {
        "merchant_refund_id": "K1-1-R1",
        "merchant_payment_id": "K1-1",
        "payment_id": "P1",
        "amount_yen": 50,
    }
    ledger.ingest(Event("k1", 3, "r3", "refund", T0, {**refund, "status": "REFUNDED"}), T0)
    ledger.ingest(Event("k1", 2, "r2", "refund", T0, {**refund, "status": "PENDING"}), T0)
    assert one(ledger, "SELECT status FROM refunds") == "REFUNDED"
    ledger.ingest(
        Event("k1", 4, "s4", "service", T0, {"out_of_service": True, "reason": "remote"}), T0
    )
    ledger.ingest(
        Event("k1", 5, "h5", "health", T0, {"held": 2, "backlog": 7, "screen": "idle"}), T0
    )
    row = ledger.db.execute(
        "SELECT out_of_service, out_of_service_reason, held, backlog, screen, last_seq FROM kiosks"
    ).fetchone()
    assert row == (True, "remote", 2, 7, "idle", 5)


def test_gaps_in_a_kiosks_seq_are_found_once_old_enough(ledger: Ledger) -> None:
    from kiosk.fleet.hub.gaps import Gap, find_gaps

    for seq in (2, 3, 5, 8):
        ledger.ingest(Event("g1", seq, f"g{seq}", "health", T0, {"held": 0, "backlog": 0}), T0)
    assert find_gaps(ledger.db, T0 + 1, grace_s=5) == []  # might still be in flight
    assert find_gaps(ledger.db, T0 + 10, grace_s=5) == [
        Gap("g1", 1, 1),
        Gap("g1", 4, 4),
        Gap("g1", 6, 7),
    ]
    ledger.ingest(Event("g1", 1, "g1", "health", T0, {"held": 0, "backlog": 0}), T0 + 20)
    ledger.ingest(Event("g1", 4, "g4", "health", T0, {"held": 0, "backlog": 0}), T0 + 20)
    assert find_gaps(ledger.db, T0 + 30, grace_s=5) == [Gap("g1", 6, 7)]
    assert one(ledger, "SELECT contiguous_seq FROM kiosks") == 5
