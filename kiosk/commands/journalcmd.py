"""`kiosk journal list` and `kiosk journal export --csv`: read the sales journal.

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
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from kiosk.commands.common import CommandError, ExitCode, load_settings, say, state_path
from kiosk.commands.timespec import jst_iso, parse_since
from kiosk.domain import SaleRecord
from kiosk.engine.journal import Journal, JournalError

JOURNAL_FILENAME = "journal.sqlite3"
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


def filters_of(args: argparse.Namespace, now: float) -> Filters:
    try:
        since_at = parse_since(args.since, now, "--since") if args.since else None
        until_at = parse_since(args.until, now, "--until") if args.until else None
    except ValueError as exc:
        raise CommandError(ExitCode.USAGE, str(exc)) from None
    state = args.state.upper() if args.state else None
    return Filters(since_at, until_at, state)


def select(journal: Journal, found: Filters, limit: int | None) -> Iterator[SaleRecord]:
    """Newest first, filtered and paged by SQLite."""
    return journal.sale_records(
        since_at=found.since_at, until_at=found.until_at, state=found.state, limit=limit
    )


def run_journal(args: argparse.Namespace) -> int:
    with open_journal(args, readonly=True) as journal:
        found = filters_of(args, time.time())
        if args.journal_command == "list":
            return list_sales(select(journal, found, args.limit))
        return export_csv(select(journal, found, None), args.csv)


def list_sales(rows: Iterable[SaleRecord]) -> int:
    count = 0
    for r in rows:
        if not count:
            say(
                f"{'created (JST)':<25} {'merchant_payment_id':<36} {'yen':>8} {'status':<10} "
                "refunded"
            )
        count += 1
        say(
            f"{jst_iso(r.created_at):<25} {r.merchant_payment_id:<36} {r.amount_yen:>8} "
            f"{r.status:<10} {r.refunded_yen}"
        )
    say(f"{count} sales listed" if count else "no sales match", err=True)
    return ExitCode.OK


def _cell(value: object) -> object:
    """Spreadsheets run a cell starting with = + - @ as a formula: quote it."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_csv(rows: Iterable[SaleRecord], out: TextIO) -> int:
    """Row by row (constant memory); returns how many sales were written."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    count = 0
    for r in rows:
        writer.writerow(
            _cell(v)
            for v in (
                r.merchant_payment_id,
                jst_iso(r.created_at),
                r.amount_yen,
                r.status,
                r.refunded_yen,
                r.refundable_yen,
                r.description,
            )
        )
        count += 1
    return count


def export_csv(rows: Iterable[SaleRecord], target: str) -> int:
    if target == "-":
        count = write_csv(rows, sys.stdout)
        sys.stdout.flush()
        say(f"wrote {count} sales to stdout", err=True)
        return ExitCode.OK
    path = Path(target)
    try:
        with path.open("w", encoding="utf-8", newline="") as out:
            count = write_csv(rows, out)
    except OSError as exc:
        raise CommandError(ExitCode.FAILED, f"cannot write {path}: {exc.strerror}") from None
    say(f"wrote {count} sales to {path}", err=True)
    return ExitCode.OK
