"""`kiosk journal list` and `kiosk journal export --csv`: read the sales journal.

Why read-only and separate from the kiosk: the operator reads sales over ssh while the kiosk
keeps selling; SQLite's WAL lets both run. A missing journal is reported, never created.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from kiosk.commands.common import CommandError, ExitCode, load_settings, say, state_path
from kiosk.commands.timespec import jst_iso, parse_since
from kiosk.domain import SaleRecord
from kiosk.engine.journal import Journal, JournalError

JOURNAL_FILENAME = "journal.sqlite3"
ALL_ROWS = 1_000_000
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
def open_journal(args: argparse.Namespace) -> Iterator[Journal]:
    """The configured journal; exit 4 with what to do when it is missing or damaged."""
    config = load_settings(args, os.environ)
    path = state_path(config, os.environ) / JOURNAL_FILENAME
    if not path.exists():
        raise CommandError(
            ExitCode.JOURNAL,
            f"no journal at {path}: no sale recorded with this state directory yet "
            "(check state_dir, or run with sudo)",
        )
    try:
        journal = Journal(path)
    except JournalError as exc:
        raise CommandError(ExitCode.JOURNAL, f"{exc}; run kiosk doctor") from None
    try:
        yield journal
    except JournalError as exc:
        raise CommandError(ExitCode.JOURNAL, f"{exc}; run kiosk doctor") from None
    finally:
        journal.close()


def select(journal: Journal, since: str | None, status: str | None, limit: int) -> list[SaleRecord]:
    """Newest first, filtered by --since and --status."""
    try:
        since_at = parse_since(since, time.time()) if since else None
    except ValueError as exc:
        raise CommandError(ExitCode.USAGE, str(exc)) from None
    wanted = status.upper() if status else None
    rows = [
        r
        for r in journal.recent_sales(ALL_ROWS)
        if (since_at is None or r.created_at >= since_at) and (wanted is None or r.status == wanted)
    ]
    return rows[:limit]


def run_journal(args: argparse.Namespace) -> int:
    with open_journal(args) as journal:
        if args.journal_command == "list":
            return list_sales(select(journal, args.since, args.status, args.limit))
        return export_csv(select(journal, args.since, None, ALL_ROWS), args.csv)


def list_sales(rows: list[SaleRecord]) -> int:
    if not rows:
        say("no sales match", err=True)
        return ExitCode.OK
    say(f"{'created (JST)':<25} {'merchant_payment_id':<36} {'yen':>8} {'status':<10} refunded")
    for r in rows:
        say(
            f"{jst_iso(r.created_at):<25} {r.merchant_payment_id:<36} {r.amount_yen:>8} "
            f"{r.status:<10} {r.refunded_yen}"
        )
    return ExitCode.OK


def _cell(value: object) -> object:
    """Spreadsheets run a cell starting with = + - @ as a formula: quote it."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_csv(rows: list[SaleRecord], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
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


def export_csv(rows: list[SaleRecord], target: str) -> int:
    if target == "-":
        write_csv(rows, sys.stdout)
        return ExitCode.OK
    path = Path(target)
    try:
        with path.open("w", encoding="utf-8", newline="") as out:
            write_csv(rows, out)
    except OSError as exc:
        raise CommandError(ExitCode.FAILED, f"cannot write {path}: {exc.strerror}") from None
    say(f"wrote {len(rows)} sales to {path}", err=True)
    return ExitCode.OK
