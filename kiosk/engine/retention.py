"""Retention: a journal that lives for years keeps what money needs and no more.

Finished sales older than `archive_after_days` (default 400: PayPay takes refunds until the end
of the 365th day after a payment, plus a margin) move to gzip-compressed JSON-lines archive
files, with their refunds and step lines; the journal keeps each file's name, sha256, count
and totals. Step logs of finished sales are pruned sooner (`prune_steps_after_days`). Freed
pages go back to the file system a few at a time (incremental vacuum, on journals created with
it). Each unit of work is small (one batch, one transaction), so the kiosk runs it between
ticks while no sale is in progress, and a tap waits for one batch at most.

Invariants:
- never an unfinished, held or still refundable sale, nor one with an open attendant refund;
- a kill at any point loses nothing and duplicates nothing: a batch's file is written to a
  temporary name, fsynced, renamed, and only then does one transaction record the file and
  delete its rows. A file the journal does not list (killed between rename and commit) is
  deleted before the next batch: its sales are still in the journal. Readers read only the
  files the journal lists, so a sale is always in exactly one place.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.domain import SaleRecord
from kiosk.engine.journal import RECORD_SQL, Journal, JournalError
from kiosk.engine.journal_schema import OPEN_REFUNDS_SQL, SCHEMA_VERSION

log = logging.getLogger(__name__)

DAY_S = 86_400.0
BATCH = 200  # sales per archive file and transaction: a few tens of ms
PRUNE_BATCH = 500  # sales whose step lines one transaction deletes
VACUUM_PAGES = 256  # pages returned to the file system per transaction (1 MB)
ARCHIVE_FORMAT = 1
PREFIX = "sales-"  # archive files are named sales-000001.jsonl.gz; nothing else is touched
Boundary = Callable[[str], None]  # the kill test stops here

# A sale the journal no longer needs: finished, not held, untouched since the cut-off, and no
# attendant refund still open. (Refundable at PayPay: archive_after_days is above its window.)
DONE_WITH_SQL = (
    "s.finished=1 AND s.state!='HELD' AND s.created_at<:cutoff AND s.updated_at<:cutoff"
    " AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.merchant_payment_id=s.merchant_payment_id"
    f" AND r.{OPEN_REFUNDS_SQL})"
)


@dataclass(frozen=True)
class RetentionSettings:
    archive_after_days: int = 400
    prune_steps_after_days: int = 90


@dataclass(frozen=True)
class ArchiveTotals:
    sales: int
    paid: int
    paid_yen: int
    refunded_yen: int


def _no_boundary(point: str) -> None:
    return None


class Retention:
    """One small unit of retention work per `step`; the kiosk's worker calls it when idle."""

    def __init__(
        self,
        journal: Journal,
        directory: Path,
        settings: RetentionSettings,
        boundary: Boundary | None = None,
        batch: int = BATCH,
    ) -> None:
        self.batch = batch
        self.journal = journal
        self.directory = directory
        self.settings = settings
        self.boundary = boundary or _no_boundary
        self._swept = False

    def step(self, now: float) -> bool:
        """Do one unit (archive a batch, prune a batch, vacuum a little); False: nothing left."""
        if not self._swept:
            self.sweep()
        newest = self.journal.query("SELECT MAX(created_at) FROM sales", ())[0][0]
        # a clock set years ahead must not age the whole journal: never past the newest sale
        anchor = min(now, (newest if newest is not None else now) + DAY_S)
        archive_cutoff = anchor - self.settings.archive_after_days * DAY_S
        prune_cutoff = anchor - self.settings.prune_steps_after_days * DAY_S
        return (
            self.archive_batch(archive_cutoff, now)
            or self.prune_batch(prune_cutoff)
            or self.vacuum_some()
        )

    def run_all(self, now: float) -> None:
        while self.step(now):
            pass

    # ---- archive --------------------------------------------------------------------------

    def sweep(self) -> None:
        """Delete what a killed batch left: temporary files, and files the journal does not
        list (their sales are still in the journal)."""
        listed = {row[0] for row in self.journal.query("SELECT file FROM archives", ())}
        if self.directory.exists():
            for path in self.directory.glob(f"{PREFIX}*"):
                if path.name.endswith(".tmp") or path.name not in listed:
                    log.warning("archive leftover removed file=%s", path)
                    path.unlink()
        self._swept = True

    def archive_batch(self, cutoff: float, now: float) -> bool:
        """Select, write and delete in one IMMEDIATE transaction: no other writer (`kiosk
        refund` in another process) can touch a sale between its choice and its deletion."""
        with self.journal.transaction() as db:
            records = db.execute(
                f"{RECORD_SQL} WHERE {DONE_WITH_SQL} ORDER BY s.created_at, s.rowid LIMIT :batch",
                {"cutoff": cutoff, "batch": self.batch},
            ).fetchall()
            if not records:
                return False
            number = db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM archives").fetchone()[0]
            name = f"{PREFIX}{number:06d}.jsonl.gz"
            lines = [self._line(db, SaleRecord(*r)) for r in records]
            totals = totals_of(lines)
            self.boundary("archive-selected")
            digest = self._write(name, totals, lines)
            self.boundary("archive-renamed")
            first_at, last_at = records[0][3], records[-1][3]
            db.execute(
                "INSERT INTO archives VALUES (?,?,?,?,?,?,?,?,?,?)",
                (number, name, now, first_at, last_at, *totals.__dict__.values(), digest),
            )
            mpids = json.dumps([r[0] for r in records])
            for table in (*self.journal.steps_tables, "refunds", "sales"):
                db.execute(
                    f"DELETE FROM {table} WHERE merchant_payment_id IN"
                    " (SELECT value FROM json_each(?))",
                    (mpids,),
                )
        self.boundary("archive-committed")
        log.info("archived sales=%d file=%s", totals.sales, name)
        return True

    def _line(self, db: sqlite3.Connection, record: SaleRecord) -> dict[str, Any]:
        mpid = (record.merchant_payment_id,)
        where = "WHERE merchant_payment_id=?"
        steps = [
            list(row)
            for table in self.journal.steps_tables
            for row in db.execute(f"SELECT at, kind, call, detail FROM {table} {where}", mpid)
        ]
        return {
            "record": list(_fields(record)),
            "sale": list(db.execute(f"SELECT * FROM sales {where}", mpid).fetchone()),
            "refunds": [list(r) for r in db.execute(f"SELECT * FROM refunds {where}", mpid)],
            "steps": steps,
        }

    def _write(self, name: str, totals: ArchiveTotals, lines: list[dict[str, Any]]) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        final = self.directory / name
        temporary = self.directory / f"{name}.tmp"
        header = {"format": ARCHIVE_FORMAT, "schema": SCHEMA_VERSION, **totals.__dict__}
        with temporary.open("wb") as raw:
            with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as packed:
                for item in (header, *lines):
                    packed.write(json.dumps(item, separators=(",", ":")).encode() + b"\n")
            raw.flush()
            os.fsync(raw.fileno())
        self.boundary("archive-written")
        digest = hashlib.sha256(temporary.read_bytes()).hexdigest()
        os.replace(temporary, final)
        _fsync_dir(self.directory)
        return digest

    # ---- step logs and space ----------------------------------------------------------------

    def prune_batch(self, cutoff: float) -> bool:
        """Delete the step lines of a batch of finished sales past `cutoff`, oldest first,
        from a watermark (sales are inserted in creation order), so the cost is the batch."""
        with self.journal.transaction() as db:
            mark = db.execute("SELECT value FROM retention WHERE key='steps_pruned_to'").fetchone()
            rows = db.execute(
                "SELECT s.rowid, s.created_at, s.merchant_payment_id, "
                f"({DONE_WITH_SQL}) FROM sales s WHERE s.rowid>:after ORDER BY s.rowid"
                " LIMIT :batch",
                {"after": int(mark[0]) if mark else 0, "cutoff": cutoff, "batch": PRUNE_BATCH},
            ).fetchall()
            young = next((i for i, r in enumerate(rows) if r[1] >= cutoff), len(rows))
            rows = rows[:young]  # stop at the first sale still young: the rest are younger
            if not rows:
                return False
            done = json.dumps([r[2] for r in rows if r[3]])
            for table in self.journal.steps_tables:
                db.execute(
                    f"DELETE FROM {table} WHERE merchant_payment_id IN"
                    " (SELECT value FROM json_each(?))",
                    (done,),
                )
            db.execute(
                "INSERT OR REPLACE INTO retention VALUES ('steps_pruned_to', ?)", (rows[-1][0],)
            )
        self.boundary("pruned")
        return True

    def vacuum_some(self) -> bool:
        """Give a few free pages back to the file system (journals created with incremental
        auto_vacuum; older ones reuse their free pages instead)."""
        mode, free = (
            self.journal.query(f"PRAGMA {p}", ())[0][0] for p in ("auto_vacuum", "freelist_count")
        )
        if mode != 2 or not free:
            return False
        with self.journal.transaction() as db:
            db.execute(f"PRAGMA incremental_vacuum({VACUUM_PAGES})").fetchall()
        self.boundary("vacuumed")
        return True


# ---- reading archives ---------------------------------------------------------------------


def totals_of(lines: Iterable[dict[str, Any]]) -> ArchiveTotals:
    """What `Journal.totals` counts (paid sales, their yen, what went back), and every sale."""
    sales = paid = paid_yen = refunded = 0
    for line in lines:
        record = SaleRecord(*line["record"])
        sales += 1
        if line["sale"][SALE_PAID_COLUMN]:
            paid += 1
            paid_yen += record.amount_yen
            refunded += record.refunded_yen
    return ArchiveTotals(sales, paid, paid_yen, refunded)


SALE_PAID_COLUMN = 7  # sales: merchant_payment_id, created_at, updated_at, amount_yen,
# description, state, finished, paid, payment_id, record


def archived_records(journal: Journal, directory: Path) -> Iterator[SaleRecord]:
    """Every archived sale, file by file as the journal lists them (oldest first), each file
    checked against its recorded sha256, count and totals before its rows are trusted."""
    files = journal.query(
        "SELECT file, sales, paid, paid_yen, refunded_yen, sha256 FROM archives ORDER BY id", ()
    )
    for name, *recorded, digest in files:
        path = directory / name
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise JournalError(f"archive {path} cannot be read: {exc.strerror}") from exc
        if hashlib.sha256(data).hexdigest() != digest:
            raise JournalError(f"archive {path} is not the file the journal recorded")
        lines = read_archive(data, path)
        if list(totals_of(lines).__dict__.values()) != recorded:
            raise JournalError(f"archive {path} does not add up to its recorded totals")
        yield from (SaleRecord(*line["record"]) for line in lines)


def read_archive(data: bytes, path: Path) -> list[dict[str, Any]]:
    """One archive file's sale lines (a batch: bounded), after its header."""
    try:
        lines = gzip.decompress(data).splitlines()
        header = json.loads(lines[0])
        if header.get("format") != ARCHIVE_FORMAT:
            raise ValueError(f"format {header.get('format')!r}")
        sales = [json.loads(line) for line in lines[1:]]
        for line in sales:
            SaleRecord(*line["record"])
            line["sale"][SALE_PAID_COLUMN]
    except (OSError, EOFError, ValueError, IndexError, TypeError, KeyError) as exc:
        raise JournalError(f"archive {path} is damaged: {exc}") from exc
    return sales


def _fields(record: SaleRecord) -> Iterator[Any]:
    yield from (
        record.merchant_payment_id,
        record.amount_yen,
        record.status,
        record.created_at,
        record.refundable_yen,
        record.description,
        record.refunded_yen,
    )


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


__all__ = [
    "ArchiveTotals",
    "Retention",
    "RetentionSettings",
    "archived_records",
    "read_archive",
    "totals_of",
]
