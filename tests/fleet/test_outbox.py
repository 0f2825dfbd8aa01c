"""The outbox on the real journal: one row per transition, in the fact's own transaction."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from kiosk.engine.journal import Journal, JournalError, RefundRow
from kiosk.fleet.outbox import OutboxReader
from kiosk.sale.model import State
from tests.engine.test_journal import T0, paid, sale
from tests.fleet.helpers import fleet_journal


def rows(path: Path) -> list[tuple[int, str, str, dict[str, object]]]:
    db = sqlite3.connect(path)
    found = db.execute("SELECT seq, key, kind, data FROM outbox ORDER BY seq").fetchall()
    db.close()
    return [(s, k, kind, json.loads(d)) for s, k, kind, d in found]


def test_each_state_change_is_one_row_and_repeats_are_not(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    journal = fleet_journal(path)
    s = sale("K-1")
    journal.save_sale(s, T0)
    journal.save_sale(replace(s, retries=1), T0 + 1)  # same state: a retry, not a transition
    journal.save_sale(paid(s), T0 + 2)
    found = rows(path)
    assert [(r[0], r[1], r[2], r[3]["state"]) for r in found] == [
        (1, "k-1", "sale", "CREATING"),
        (2, "k-2", "sale", "SUCCEEDED"),
    ]
    assert found[1][3]["paid"] is True and found[1][3]["amount_yen"] == 500
    assert "qr_url" not in found[1][3]


def test_refund_statuses_and_facts_are_rows(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    journal = fleet_journal(path)
    journal.save_sale(paid(sale("K-1")), T0)
    journal.add_refund(RefundRow("K-1-R1", "K-1", "P-K-1", 200, "PENDING", T0 + 1))
    journal.set_refund_status("K-1-R1", "REFUNDED", T0 + 2)
    journal.record_fact("service", {"out_of_service": True, "reason": "attendant"}, T0 + 3)
    kinds = [
        (r[2], r[3].get("status") or r[3].get("state") or r[3].get("reason")) for r in rows(path)
    ]
    assert kinds == [
        ("sale", "SUCCEEDED"),
        ("refund", "PENDING"),
        ("refund", "REFUNDED"),
        ("service", "attendant"),
    ]


def test_no_fleet_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    journal = Journal(path)
    journal.save_sale(sale("K-1"), T0)
    journal.record_fact("service", {"out_of_service": True}, T0)
    assert rows(path) == []


class Boom(Exception):
    pass


def test_fact_and_row_share_one_transaction(tmp_path: Path) -> None:
    """A failure while writing the row undoes the fact too (and the reverse): neither a sale
    without its report nor a report of a sale that was never recorded."""
    path = tmp_path / "j.sqlite3"
    journal = fleet_journal(path)

    class Failing:
        def sale_saved(self, db: sqlite3.Connection, s: object, now: float) -> None:
            db.execute("INSERT INTO outbox (key, kind, at, data) VALUES ('x','sale',0,'{}')")
            raise Boom

        def refund_saved(self, db: sqlite3.Connection, mrid: str, now: float) -> None: ...

        def fact(
            self, db: sqlite3.Connection, kind: str, data: dict[str, object], now: float
        ) -> None: ...

    journal.facts = Failing()
    with pytest.raises(Boom):
        journal.save_sale(sale("K-1"), T0)
    assert journal.load_sale("K-1") is None
    assert rows(path) == []
    # a duplicate key (the unique constraint) fails the whole write, sale included
    journal.facts = fleet_journal(tmp_path / "other.sqlite3").facts
    journal.save_sale(sale("K-2"), T0)
    journal.facts = fleet_journal(tmp_path / "third.sqlite3").facts  # its keys start at k-1 again
    with pytest.raises(JournalError):
        journal.save_sale(paid(sale("K-2")), T0 + 1)
    reloaded = journal.load_sale("K-2")
    assert reloaded is not None and reloaded.state is State.CREATING
    assert [r[3]["state"] for r in rows(path)] == ["CREATING"]


def test_a_crash_between_fact_and_publish_keeps_the_row(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    journal = fleet_journal(path)
    journal.save_sale(paid(sale("K-1")), T0)
    journal.close()  # the process dies here: nothing was published
    reopened = fleet_journal(path, prefix="after")
    reader = OutboxReader(path)
    assert [r.data["state"] for r in reader.unsent(0, 10)] == ["SUCCEEDED"]
    reader.mark_sent([1], T0 + 5)
    assert reader.unsent(0, 10) == [] and reader.backlog() == 0
    reopened.save_sale(paid(sale("K-2")), T0 + 6)
    assert [r.seq for r in reader.unsent(0, 10)] == [2]
    assert reader.prune(T0 + 6) == 1  # only the sent row is forgotten
    assert [r.seq for r in reader.unsent(0, 10)] == [2]


def test_seq_is_never_reused_after_pruning(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    journal = fleet_journal(path)
    journal.save_sale(sale("K-1"), T0)
    reader = OutboxReader(path)
    reader.mark_sent([1], T0)
    reader.prune(T0 + 1)
    journal.save_sale(sale("K-2"), T0 + 2)
    assert [r.seq for r in reader.unsent(0, 10)] == [2]


def test_reader_refuses_a_file_without_outbox(tmp_path: Path) -> None:
    path = tmp_path / "plain.sqlite3"
    sqlite3.connect(path).execute("CREATE TABLE x (a)").connection.commit()
    with pytest.raises(ValueError, match="no outbox table"):
        OutboxReader(path)
