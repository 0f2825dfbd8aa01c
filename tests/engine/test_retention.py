"""Retention on real journal files: what is archived, what stays, exact totals after the round
trip, step logs pruned, space returned, and SIGKILL of a real process at every step."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from kiosk.domain import PaymentStatus, Phase
from kiosk.engine.journal import Journal, JournalError, RefundRow
from kiosk.engine.refunds import record_refund
from kiosk.engine.retention import DAY_S, Retention, RetentionSettings, archived_records
from kiosk.sale.machine import new_sale
from kiosk.sale.model import Sale, State
from tests.engine.harness import kiosk

NOW = 1_800_000_000.0
SETTINGS = RetentionSettings(archive_after_days=400, prune_steps_after_days=90)
REPO = Path(__file__).resolve().parents[2]


def _sale(mpid: str, at: float, state: State, amount: int = 300) -> Sale:
    sale, _ = new_sale(mpid, amount, "Tea", preauth=False, now=at)
    if state in (State.SUCCEEDED, State.HELD, State.REFUNDED, State.VENDING):
        sale = replace(sale, payment_id=f"P-{mpid}", paid_status=PaymentStatus.COMPLETED)
    return replace(sale, state=state)


def _fill(journal: Journal, old: int) -> dict[str, set[str]]:
    """`old` sales 500 days back (a mix, one attendant refund each fifth), plus the ones that
    must stay: old but held, unfinished or with an open refund; 100 days old; today's."""
    kinds: dict[str, set[str]] = {"archive": set(), "keep": set(), "prune": set()}
    for i in range(old):
        at = NOW - 500 * DAY_S + i * 60
        state = (State.SUCCEEDED, State.CANCELLED, State.EXPIRED)[i % 3]
        sale = _sale(f"K-old-{i:04d}", at, state, amount=100 + i)
        journal.save_sale(sale, at, after=[("intent", "create", "CreateQr()")])
        if state is State.SUCCEEDED and i % 5 == 0:
            row = RefundRow(f"K-old-{i:04d}-R1", sale.merchant_payment_id, "P", 50, "PENDING", at)
            journal.add_refund(row)
            journal.set_refund_status(row.merchant_refund_id, "REFUNDED", at + 10)
        kinds["archive"].add(sale.merchant_payment_id)
    at = NOW - 500 * DAY_S
    for mpid, state in (("K-held", State.HELD), ("K-vending", State.VENDING)):
        journal.save_sale(_sale(mpid, at, state), at)
        kinds["keep"].add(mpid)
    journal.save_sale(_sale("K-open-refund", at, State.SUCCEEDED), at)
    journal.add_refund(RefundRow("K-open-refund-R1", "K-open-refund", "P", 100, "UNKNOWN", at))
    kinds["keep"].add("K-open-refund")
    for mpid, days in (("K-100-days", 100), ("K-today", 0)):
        at = NOW - days * DAY_S
        journal.save_sale(_sale(mpid, at, State.SUCCEEDED), at)
        kinds["keep" if days == 0 else "prune"].add(mpid)
    return kinds


def _mpids(journal: Journal) -> set[str]:
    return {s.merchant_payment_id for s in journal.all_sales()}


def test_old_finished_sales_move_to_archives_with_exact_totals(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite3")
    kinds = _fill(journal, old=90)
    before = journal.totals(NOW - 600 * DAY_S, NOW - 400 * DAY_S)
    listed_before = {r.merchant_payment_id: r for r in journal.sale_records()}
    directory = tmp_path / "archive"

    Retention(journal, directory, SETTINGS, batch=40).run_all(NOW)

    assert _mpids(journal) == kinds["keep"] | kinds["prune"]
    archived = list(archived_records(journal, directory))
    assert {r.merchant_payment_id for r in archived} == kinds["archive"]
    assert len(archived) == len(kinds["archive"])  # no sale twice
    assert all(r == listed_before[r.merchant_payment_id] for r in archived)  # same rows back
    files = journal.query("SELECT file, paid, paid_yen, refunded_yen FROM archives", ())
    assert len(files) == 3 and sorted(p.name for p in directory.iterdir()) == sorted(
        f[0] for f in files
    )
    paid, paid_yen, refunded = (sum(f[i] for f in files) for i in (1, 2, 3))
    left = journal.totals(NOW - 600 * DAY_S, NOW - 400 * DAY_S)  # the held and open ones
    assert (paid + left.count, paid_yen + left.amount_yen, refunded + left.refunded_yen) == (
        before.count,
        before.amount_yen,
        before.refunded_yen,
    )
    assert refunded == 50 * 6  # six attendant refunds of 50 yen among the old sales
    assert journal.steps("K-100-days") == []  # finished 100 days ago: its step log pruned
    assert journal.steps("K-held") and journal.steps("K-today")  # kept
    journal.close()


def test_space_is_returned_to_the_file_system(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite3")
    _fill(journal, old=300)
    db = journal._db
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pages_before = db.execute("PRAGMA page_count").fetchone()[0]
    Retention(journal, tmp_path / "archive", SETTINGS).run_all(NOW)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert db.execute("PRAGMA freelist_count").fetchone()[0] == 0
    assert db.execute("PRAGMA page_count").fetchone()[0] < pages_before / 2
    journal.close()


def test_leftovers_of_a_killed_batch_are_swept_and_redone(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite3")
    kinds = _fill(journal, old=10)
    directory = tmp_path / "archive"
    directory.mkdir()
    (directory / "sales-000001.jsonl.gz").write_bytes(b"written, never committed")
    (directory / "sales-000002.jsonl.gz.tmp").write_bytes(b"half written")
    Retention(journal, directory, SETTINGS).run_all(NOW)
    assert [p.name for p in directory.iterdir()] == ["sales-000001.jsonl.gz"]
    assert {r.merchant_payment_id for r in archived_records(journal, directory)} == kinds["archive"]
    journal.close()


def test_a_changed_archive_file_is_refused(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite3")
    _fill(journal, old=10)
    directory = tmp_path / "archive"
    Retention(journal, directory, SETTINGS).run_all(NOW)
    [path] = directory.iterdir()
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(JournalError, match="not the file the journal recorded"):
        list(archived_records(journal, directory))
    path.unlink()
    with pytest.raises(JournalError, match="cannot be read"):
        list(archived_records(journal, directory))
    journal.close()


def _life(journal_path: Path, directory: Path, kill_at: int | None) -> str:
    """Run the retention child; SIGKILL it at its `kill_at`-th boundary. Returns the point it
    was killed at, or "done"."""
    args = [str(journal_path), str(directory), str(NOW)]
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.engine.retention_child", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert child.stdin is not None and child.stdout is not None
    point = "?"
    for passed, line in enumerate(child.stdout, start=1):
        point = line.strip()
        if point == "done":
            break
        if passed == kill_at:
            os.kill(child.pid, signal.SIGKILL)
            break
        child.stdin.write("go\n")
        child.stdin.flush()
    child.stdin.close()
    child.stdout.close()
    code = child.wait(30)
    assert code == (0 if point == "done" else -signal.SIGKILL)
    return point


def test_sigkill_at_every_step_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    journal_path = tmp_path / "journal.sqlite3"
    journal = Journal(journal_path)
    kinds = _fill(journal, old=150)
    everything = _mpids(journal)
    totals = journal.totals(NOW - 600 * DAY_S, NOW - 400 * DAY_S)
    journal.close()
    directory = tmp_path / "archive"
    # each life dies at a later point of its own run: after selecting, mid-file, after the
    # rename, after the commit, while pruning, while vacuuming
    killed = [_life(journal_path, directory, at) for at in (1, 2, 3, 4, 2, 3, 5, 1, 6, 5, 1, 2)]
    kinds_killed = {"archive-selected", "archive-written", "archive-renamed", "archive-committed"}
    assert kinds_killed | {"pruned", "vacuumed"} <= set(killed), " ".join(killed)
    assert _life(journal_path, directory, None) == "done"

    journal = Journal(journal_path)
    archived = [r.merchant_payment_id for r in archived_records(journal, directory)]
    kept = _mpids(journal)
    assert sorted(archived) == sorted(kinds["archive"])  # each exactly once
    assert not set(archived) & kept
    assert set(archived) | kept == everything
    files = journal.query("SELECT paid, paid_yen, refunded_yen FROM archives", ())
    left = journal.totals(NOW - 600 * DAY_S, NOW - 400 * DAY_S)
    assert tuple(sum(f[i] for f in files) for i in range(3)) == (
        totals.count - left.count,
        totals.amount_yen - left.amount_yen,
        totals.refunded_yen - left.refunded_yen,
    )
    assert sqlite3.connect(journal_path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    journal.close()


def test_the_kiosk_archives_between_sales_never_during_one(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    journal = Journal(path)
    old = set()
    for i in range(30):
        at = time.time() - 500 * DAY_S + i
        journal.save_sale(_sale(f"K-old-{i}", at, State.SUCCEEDED), at)
        old.add(f"K-old-{i}")
    journal.close()
    with kiosk(tmp_path, journal_path=path, retention=SETTINGS) as k:
        view = k.sell(300)  # a customer before the first minute is up
        k.advance(100)  # the QR is still on screen (120 s): nothing moves meanwhile
        assert k.journal.query("SELECT COUNT(*) FROM archives", ())[0][0] == 0
        k.ctl.pay(k.code_of(view.merchant_payment_id)["code_id"])
        k.advance(4)
        assert k.finish().phase is Phase.SUCCEEDED
        k.wait(lambda: _archived(k.journal, tmp_path) == old, "the old sales archived")
        assert view.merchant_payment_id in _mpids(k.journal)
        view = k.sell(200)  # and selling goes on
        assert view.phase is Phase.AWAITING_PAYMENT


def _archived(journal: Journal, tmp_path: Path) -> set[str]:
    return {r.merchant_payment_id for r in archived_records(journal, tmp_path / "archive")}


def test_a_clock_set_years_ahead_does_not_age_the_journal(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite3")
    kinds = _fill(journal, old=10)
    directory = tmp_path / "archive"
    directory.mkdir()
    (directory / "notes.txt").write_text("the operator's own file", encoding="utf-8")
    Retention(journal, directory, SETTINGS).run_all(NOW + 10 * 365 * DAY_S)
    assert _mpids(journal) == kinds["keep"] | kinds["prune"]  # only what was old already
    assert journal.steps("K-today")  # a day's sales keep their step log
    assert (directory / "notes.txt").exists()
    journal.close()


def test_a_refund_recorded_meanwhile_by_another_process_is_never_lost(tmp_path: Path) -> None:
    """`kiosk refund` writes from its own process: while a batch is chosen, written and deleted
    (one IMMEDIATE transaction) its write waits, then finds the sale archived and is refused;
    it is never recorded against rows about to be deleted."""
    path = tmp_path / "journal.sqlite3"
    journal = Journal(path)
    _fill(journal, old=6)
    other = Journal(path)  # the refund command's own connection
    target = "K-old-0003"  # SUCCEEDED, no refund yet
    outcome: list[object] = []

    def refund_meanwhile(point: str) -> None:
        if point == "archive-selected" and not outcome:
            thread = threading.Thread(target=lambda: outcome.append(_try_refund(other, target)))
            thread.start()
            thread.join(0.5)  # it waits for the batch's transaction
            assert not outcome
            outcome.append(thread)

    Retention(journal, tmp_path / "archive", SETTINGS, boundary=refund_meanwhile).run_all(NOW)
    thread = outcome[0]
    assert isinstance(thread, threading.Thread)
    thread.join(15)
    assert isinstance(outcome[1], ValueError)  # refused: the sale is no longer in the journal
    assert "refused" in str(outcome[1]) or "no sale" in str(outcome[1])
    assert journal.refunds_for(target) == []
    archived = {r.merchant_payment_id for r in archived_records(journal, tmp_path / "archive")}
    assert target in archived
    other.close()
    journal.close()


def _try_refund(journal: Journal, mpid: str) -> object:
    try:
        return record_refund(journal, mpid, None, NOW)
    except ValueError as refused:  # RefundRefused, or the journal's own check in its transaction
        return refused
