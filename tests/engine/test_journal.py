"""The journal on real SQLite files: durability settings, queries, refusal rules, corruption."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from kiosk.domain import PaymentStatus, Totals
from kiosk.engine.journal import SCHEMA_VERSION, Journal, JournalError, RefundRow
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
        ("outcome", "create", "QrCreated"),
        ("state", None, "SHOWING"),
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


def test_a_damaged_page_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    j = Journal(path)
    for i in range(200):
        j.save_sale(sale(f"K-{i}", at=T0 + i), T0 + i)
    j.close()
    sqlite3.connect(path).execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    data = bytearray(path.read_bytes())
    data[4096 * 2 : 4096 * 2 + 64] = b"\xff" * 64  # scribble over an interior page
    path.write_bytes(bytes(data))
    with pytest.raises(JournalError):
        Journal(path)


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


def test_an_older_journal_is_migrated_and_keeps_its_sales(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    current = Journal(path)
    current.save_sale(paid(sale("K-old")), T0)
    current.close()
    db = sqlite3.connect(path)  # make it what schema 1 wrote
    db.execute("DROP INDEX sales_state")
    db.execute("DROP TABLE pin_lockout")
    db.execute("PRAGMA user_version=1")
    db.commit()
    db.close()
    migrated = Journal(path)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert [s.merchant_payment_id for s in migrated.all_sales()] == ["K-old"]
    names = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")}
    assert {"sales_state", "pin_lockout"} <= names
