"""The journal on real SQLite files: durability settings, queries, refusal rules, corruption."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from kiosk.domain import PaymentStatus, Totals
from kiosk.engine.codec import to_record
from kiosk.engine.journal import (
    HELD_SQL,
    OPEN_REFUNDS_QUERY,
    SCHEMA_VERSION,
    UNFINISHED_SQL,
    Journal,
    JournalError,
    RefundRow,
)
from kiosk.engine.journal_schema import MIGRATIONS
from kiosk.sale.machine import new_sale
from kiosk.sale.model import Sale, State

T0 = 1_790_000_000.0


def sale(mpid: str, amount: int = 500, at: float = T0) -> Sale:
    return new_sale(mpid, amount, "Tea", preauth=False, now=at)[0]


def paid(s: Sale, state: State = State.SUCCEEDED) -> Sale:
    return replace(
        s,
        state=state,
        payment_id="P-" + s.merchant_payment_id,
        paid_status=PaymentStatus.COMPLETED,
        paid_at=s.created_at + 5,
    )


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "state" / "journal.sqlite3")


def test_durability_settings_and_schema_version(journal: Journal) -> None:
    db = sqlite3.connect(journal.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert journal._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_a_saved_sale_survives_reopening_with_every_id(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    first = Journal(path)
    s = replace(sale("K-1"), code_id="04-x", qr_url="u", state=State.SHOWING)
    first.save_sale(s, T0 + 1)
    first.close()
    again = Journal(path)
    assert again.load_sale("K-1") == s
    assert [k for _, k, _, _ in again.steps("K-1")] == ["state"]


def test_unfinished_sales_are_the_ones_reconciliation_must_settle(journal: Journal) -> None:
    journal.save_sale(sale("K-1"), T0)
    journal.save_sale(paid(sale("K-2", at=T0 + 1)), T0 + 1)
    journal.save_sale(paid(sale("K-3", at=T0 + 2), State.VENDING), T0 + 2)
    journal.save_sale(paid(sale("K-4", at=T0 + 3), State.HELD), T0 + 3)
    assert [s.merchant_payment_id for s in journal.unfinished_sales()] == ["K-1", "K-3"]
    assert [s.merchant_payment_id for s in journal.held_sales()] == ["K-4"]


def test_intent_and_outcome_steps_keep_their_order(journal: Journal) -> None:
    journal.save_sale(sale("K-1"), T0)
    journal.record_step("K-1", T0 + 1, "intent", "create", "CreateQr")
    journal.record_step("K-1", T0 + 2, "outcome", "create", "QrCreated")
    kinds = [(k, c) for _, k, c, _ in journal.steps("K-1")]
    assert kinds == [("state", None), ("intent", "create"), ("outcome", "create")]


def test_lines_around_a_saved_state_share_its_transaction_in_order(journal: Journal) -> None:
    s = sale("K-1")
    journal.save_sale(s, T0, after=[("intent", "create", "CreateQr")])
    shown = replace(s, code_id="04-x", qr_url="u", state=State.SHOWING)
    journal.save_sale(shown, T0 + 1, before=[("outcome", "create", "QrCreated")])
    lines = [(k, c, d) for _, k, c, d in journal.steps("K-1")]
    assert lines == [
        ("state", None, "CREATING"),
        ("intent", "create", "CreateQr"),
        ("outcome", "create", "QrCreated -> SHOWING"),  # the outcome says where it led
    ]
    assert journal.load_sale("K-1") == shown


def test_recent_sales_newest_first_with_refundable_amounts(journal: Journal) -> None:
    journal.save_sale(paid(sale("K-1", 500, T0)), T0)
    journal.save_sale(replace(sale("K-2", 300, T0 + 1), state=State.CANCELLED), T0 + 1)
    journal.save_sale(paid(sale("K-3", 800, T0 + 2), State.REFUNDED), T0 + 2)
    records = journal.recent_sales(limit=2)
    assert [(r.merchant_payment_id, r.status, r.refundable_yen) for r in records] == [
        ("K-3", "REFUNDED", 0),
        ("K-2", "CANCELLED", 0),
    ]
    assert journal.recent_sales()[2].refundable_yen == 500


def test_refunds_cannot_exceed_what_is_refundable(journal: Journal) -> None:
    journal.save_sale(paid(sale("K-1", 500)), T0)
    journal.add_refund(RefundRow("K-1-R1", "K-1", "P-K-1", 200, "PENDING", T0 + 10))
    assert journal.refundable_yen("K-1") == 300
    with pytest.raises(ValueError, match="only 300 yen of K-1 is still refundable"):
        journal.add_refund(RefundRow("K-1-R2", "K-1", "P-K-1", 301, "PENDING", T0 + 11))
    journal.set_refund_status("K-1-R1", "REFUSED", T0 + 12)  # nothing moved: refundable again
    assert journal.refundable_yen("K-1") == 500
    assert journal.open_refunds() == []


def test_totals_count_paid_sales_of_the_day_and_money_returned(journal: Journal) -> None:
    journal.save_sale(paid(sale("K-1", 500, T0)), T0)
    journal.save_sale(paid(sale("K-2", 800, T0 + 1), State.REFUNDED), T0 + 1)
    journal.save_sale(replace(sale("K-3", 300, T0 + 2), state=State.EXPIRED), T0 + 2)
    journal.save_sale(paid(sale("K-4", 700, T0 - 90_000)), T0)  # yesterday
    journal.add_refund(RefundRow("K-1-R1", "K-1", "P-K-1", 100, "CREATED", T0 + 5))
    assert journal.totals(T0 - 10, T0 + 86_400) == Totals(2, 1300, 900)


def test_a_corrupt_journal_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    path.write_bytes(b"this is not a database, but it is somebody's data" * 100)
    before = path.read_bytes()
    with pytest.raises(JournalError, match="not a readable journal"):
        Journal(path)
    assert path.read_bytes() == before


def _scribble(path: Path, page: int, offset: int = 0) -> None:
    sqlite3.connect(path).execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    data = bytearray(path.read_bytes())
    start = 4096 * page + offset
    data[start : start + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))


def _journal_of_200_sales(path: Path) -> None:
    j = Journal(path)
    for i in range(200):
        j.save_sale(sale(f"K-{i}", at=T0 + i), T0 + i)
    j.close()


def test_a_damaged_schema_page_is_refused_at_open(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    _journal_of_200_sales(path)
    _scribble(path, 0, offset=100)  # the schema table's root, right after the file header
    with pytest.raises(JournalError):
        Journal(path)


def test_a_damaged_history_page_is_found_by_the_background_check(tmp_path: Path) -> None:
    """Start-up does not read the history (it would cost minutes on a big journal): the
    whole-file check runs beside selling, and a damaged file then stops new sales."""
    path = tmp_path / "journal.sqlite3"
    _journal_of_200_sales(path)
    _scribble(path, 2)  # an interior page of the sales
    journal = Journal(path)  # opens: nothing it needs to start is damaged
    assert journal.damage is None
    journal.check_in_background().join(30)
    assert journal.damage is not None
    journal.close()


def test_the_background_check_passes_a_sound_journal(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    _journal_of_200_sales(path)
    journal = Journal(path)
    journal.check_in_background().join(30)
    assert journal.damage is None
    journal.close()


def test_a_journal_from_a_newer_kiosk_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    Journal(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(JournalError, match="newer"):
        Journal(path)


def test_some_other_sqlite_file_is_not_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE photos (id INTEGER)")
    db.commit()
    db.close()
    with pytest.raises(JournalError, match="not a kiosk journal"):
        Journal(path)
    tables = sqlite3.connect(path).execute("SELECT name FROM sqlite_master").fetchall()
    assert tables == [("photos",)]


def _schema_1_journal(path: Path) -> None:
    """A journal as schema 1 wrote it (AUTOINCREMENT step log, full-table indexes)."""
    db = sqlite3.connect(path)
    for statement in MIGRATIONS[0]:
        assert isinstance(statement, str)
        db.execute(statement)
    s = paid(sale("K-old"))
    db.execute(
        "INSERT INTO sales VALUES (?,?,?,?,?,?,?,?,?,?)",
        ("K-old", T0, T0, 500, "Tea", "SUCCEEDED", 1, 1, s.payment_id, json.dumps(to_record(s))),
    )
    db.execute(
        "INSERT INTO steps (merchant_payment_id, at, kind, call, detail)"
        " VALUES ('K-old', ?, 'state', NULL, 'SUCCEEDED')",
        (T0,),
    )
    db.execute("PRAGMA user_version=1")
    db.commit()
    db.close()


def test_an_older_journal_is_migrated_and_keeps_its_sales_and_steps(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    _schema_1_journal(path)
    migrated = Journal(path)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert [s.merchant_payment_id for s in migrated.all_sales()] == ["K-old"]
    migrated.record_step("K-old", T0 + 1, "note", None, "after the upgrade")
    assert [d for _, _, _, d in migrated.steps("K-old")] == ["SUCCEEDED", "after the upgrade"]
    schema = sqlite3.connect(path).execute("SELECT name, sql FROM sqlite_master").fetchall()
    names = {name for name, _ in schema}
    assert {"steps_v1", "sales_state_created", "sales_open", "refunds_open", "pin_lockout"} <= names
    assert "sales_state" not in names and "sales_unfinished" not in names
    steps_sql = next(sql for name, sql in schema if name == "steps")
    assert "AUTOINCREMENT" not in steps_sql


def test_a_new_journal_has_one_step_log_without_autoincrement(journal: Journal) -> None:
    journal.save_sale(sale("K-1"), T0)
    names = {r[0] for r in sqlite3.connect(journal.path).execute("SELECT name FROM sqlite_master")}
    assert "steps_v1" not in names
    db = sqlite3.connect(journal.path)  # (schema 1 made it; nothing writes it any more)
    assert db.execute("SELECT COUNT(*) FROM sqlite_sequence").fetchone()[0] == 0
    assert sqlite3.connect(journal.path).execute("PRAGMA auto_vacuum").fetchone()[0] == 2


def test_selling_time_lookups_use_the_partial_indexes(journal: Journal) -> None:
    db = journal._db
    for sql, index in (
        (UNFINISHED_SQL, "sales_open"),
        (HELD_SQL, "sales_state_created"),
        (OPEN_REFUNDS_QUERY, "refunds_open"),
    ):
        plan = " ".join(str(r[-1]) for r in db.execute(f"EXPLAIN QUERY PLAN {sql}"))
        assert f"INDEX {index}" in plan, plan


def test_a_state_filter_pages_through_its_own_index(journal: Journal) -> None:
    plan = " ".join(
        str(r[-1])
        for r in journal._db.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM sales s WHERE s.state=?"
            " ORDER BY s.created_at DESC, s.rowid DESC LIMIT 20",
            ("REFUNDING",),
        )
    )
    assert "INDEX sales_state_created" in plan, plan
