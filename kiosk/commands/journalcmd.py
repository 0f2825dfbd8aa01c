"""`kiosk journal list | export | archive`: read the sales journal (and its archives), or
archive now.

Why read-only and separate from the kiosk: the operator reads sales over ssh while the kiosk
keeps selling; SQLite's WAL lets both run. The journal is opened read-only, with no whole-file
check (that is `kiosk doctor --deep`), and filtered and paged in SQL, so a command costs the rows
it prints, not the years behind them. Export streams: constant memory, every row, and it says
how many it wrote. A missing journal is reported, never created.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import TextIO

from kiosk.commands.common import CommandError, ExitCode, load_settings, say, state_path
from kiosk.commands.settings import ARCHIVE_DIRNAME, retention_of
from kiosk.commands.timespec import local_iso, parse_since
from kiosk.domain import JST, SaleRecord, time_zone, zone_label
from kiosk.engine.journal import Journal, JournalError
from kiosk.engine.retention import Retention, archived_records
from kiosk.ops.lock import KioskLock
from kiosk.sale.model import State

JOURNAL_FILENAME = "journal.sqlite3"
STATES = tuple(s.value for s in State)
CSV_FIELDS = (
    "merchant_payment_id",
    "created_at",
    "amount_yen",
    "status",
    "refunded_yen",
    "refundable_yen",
    "description",
)


@contextmanager
def open_journal(args: argparse.Namespace, *, readonly: bool = False) -> Iterator[Journal]:
    """The configured journal; exit 4 with what to do when it is missing or damaged.
    `readonly`: for commands that only read (no migration, no write, works without write
    access)."""
    config = load_settings(args, os.environ)
    path = state_path(config, os.environ) / JOURNAL_FILENAME
    if not path.exists():
        raise CommandError(
            ExitCode.JOURNAL,
            f"no journal at {path}: no sale recorded with this state directory yet "
            "(check state_dir, or run with sudo)",
        )
    try:
        journal = Journal(path, readonly=readonly)
    except JournalError as exc:
        raise CommandError(ExitCode.JOURNAL, f"{exc}; run kiosk doctor") from None
    try:
        yield journal
    except JournalError as exc:
        raise CommandError(ExitCode.JOURNAL, f"{exc}; run kiosk doctor") from None
    finally:
        journal.close()


@dataclass(frozen=True)
class Filters:
    since_at: float | None
    until_at: float | None
    state: str | None

    def matches(self, r: SaleRecord) -> bool:
        return (
            (self.since_at is None or r.created_at >= self.since_at)
            and (self.until_at is None or r.created_at < self.until_at)
            and (self.state is None or r.status == self.state)
        )


def filters_of(args: argparse.Namespace, now: float, zone: tzinfo = JST) -> Filters:
    try:
        since_at = parse_since(args.since, now, "--since", zone) if args.since else None
        until_at = parse_since(args.until, now, "--until", zone) if args.until else None
    except ValueError as exc:
        raise CommandError(ExitCode.USAGE, str(exc)) from None
    state = args.state.upper() if args.state else None
    if state is not None and state not in STATES:
        raise CommandError(
            ExitCode.USAGE, f"--state {args.state!r} is not a state; one of {', '.join(STATES)}"
        )
    return Filters(since_at, until_at, state)


def select(journal: Journal, found: Filters, limit: int | None) -> Iterator[SaleRecord]:
    """Newest first, filtered and paged by SQLite."""
    return journal.sale_records(
        since_at=found.since_at, until_at=found.until_at, state=found.state, limit=limit
    )


def run_journal(args: argparse.Namespace) -> int:
    if args.journal_command == "archive":
        return run_archive(args)
    zone = time_zone(load_settings(args, os.environ).display_time_zone)
    with open_journal(args, readonly=True) as journal:
        found = filters_of(args, time.time(), zone)
        if args.journal_command == "list":
            return list_sales(select(journal, found, args.limit), zone)
        if args.archive:  # archived sales, oldest first, each file checked against the journal
            archive = journal.path.parent / ARCHIVE_DIRNAME
            rows = (r for r in archived_records(journal, archive) if found.matches(r))
            return export_csv(rows, args.csv, zone)
        return export_csv(select(journal, found, None), args.csv, zone)


def run_archive(args: argparse.Namespace) -> int:
    """Retention now, to the end (the running kiosk does it by itself, between sales)."""
    config = load_settings(args, os.environ)
    with open_journal(args) as journal:
        lock = KioskLock(journal.path.parent)
        if not lock.acquire():
            raise CommandError(
                ExitCode.FAILED,
                "the kiosk is running and archives by itself between sales; to run this "
                "command stop it first: systemctl stop kiosk",
            )
        try:
            before = _counts(journal)
            directory = journal.path.parent / ARCHIVE_DIRNAME
            Retention(journal, directory, retention_of(config)).run_all(time.time())
            after = _counts(journal)
            say(
                f"archived {before[0] - after[0]} sales into {after[1] - before[1]} files in "
                f"{directory}; {after[0]} sales and {after[2]} step lines stay in the journal"
            )
            if args.compact:
                compact(journal)
        finally:
            lock.release()
    return ExitCode.OK


def compact(journal: Journal) -> None:
    """Rewrite the file so that it shrinks now and gives space back from then on."""
    size = journal.path.stat().st_size
    free = shutil.disk_usage(journal.path.parent).free
    if free < 2 * size:
        raise CommandError(
            ExitCode.FAILED,
            f"--compact needs {2 * size // 2**20} MB free beside the journal (a copy and its "
            f"log); {free // 2**20} MB are: free space first",
        )
    journal.rewrite()
    say(f"compacted {journal.path}: {size // 1024} KB -> {journal.path.stat().st_size // 1024} KB")


def _counts(journal: Journal) -> tuple[int, int, int]:
    sales = journal.query("SELECT COUNT(*) FROM sales", ())[0][0]
    files = journal.query("SELECT COUNT(*) FROM archives", ())[0][0]
    steps = sum(
        journal.query(f"SELECT COUNT(*) FROM {table}", ())[0][0] for table in journal.steps_tables
    )
    return int(sales), int(files), int(steps)


def list_sales(rows: Iterable[SaleRecord], zone: tzinfo = JST) -> int:
    count = 0
    for r in rows:
        if not count:
            created = f"created ({zone_label(zone, r.created_at)})"
            say(
                f"{created:<25} {'merchant_payment_id':<36} {'yen':>8} {'status':<10} "
                f"{'refunded':>8}  reason"
            )
        count += 1
        reason = r.reason if r.status == "HELD" else ""  # what the attendant must act on
        say(
            f"{local_iso(r.created_at, zone):<25} {r.merchant_payment_id:<36} {r.amount_yen:>8} "
            f"{r.status:<10} {r.refunded_yen:>8}  {reason}".rstrip()
        )
    say(f"{count} sales listed" if count else "no sales match", err=True)
    return ExitCode.OK


def _cell(value: object) -> object:
    """Spreadsheets run a cell starting with = + - @ as a formula: quote it."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_csv(rows: Iterable[SaleRecord], out: TextIO, zone: tzinfo = JST) -> int:
    """Row by row (constant memory); returns how many sales were written."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    count = 0
    for r in rows:
        writer.writerow(
            _cell(v)
            for v in (
                r.merchant_payment_id,
                local_iso(r.created_at, zone),
                r.amount_yen,
                r.status,
                r.refunded_yen,
                r.refundable_yen,
                r.description,
            )
        )
        count += 1
    return count


def export_csv(rows: Iterable[SaleRecord], target: str, zone: tzinfo = JST) -> int:
    if target == "-":
        count = write_csv(rows, sys.stdout, zone)
        sys.stdout.flush()
        say(f"wrote {count} sales to stdout", err=True)
        return ExitCode.OK
    path = Path(target)
    try:
        with path.open("w", encoding="utf-8", newline="") as out:
            count = write_csv(rows, out, zone)
    except OSError as exc:
        raise CommandError(ExitCode.FAILED, f"cannot write {path}: {exc.strerror}") from None
    say(f"wrote {count} sales to {path}", err=True)
    return ExitCode.OK
