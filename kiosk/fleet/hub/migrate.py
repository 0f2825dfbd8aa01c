"""Ledger schema migrations: numbered SQL files applied in order, each in its own transaction.

Why a small migrator of our own: the ledger has a handful of forward-only steps; a file per
step (`sql/NNNN_name.sql`, package data) with a `schema_migrations` table is all it needs and
is easy to read. Invariants: a transaction-scoped advisory lock makes two hubs starting at once
apply each step once; a database newer than this code (a version we do not know) is refused,
never "repaired"; a failing step leaves the previous version in place.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg

log = logging.getLogger(__name__)
LOCK_ID = 0x6B696F736B  # "kiosk": pg_advisory_xact_lock key
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(RuntimeError):
    """The ledger database cannot be brought to this hub's schema; the message says why."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    found = []
    for entry in resources.files("kiosk.fleet.hub").joinpath("sql").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise MigrationError(f"migration files are not numbered 1..n: {[m.version for m in found]}")
    return found


def applied(db: psycopg.Connection[Any]) -> list[int]:
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY,"
        " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    return [int(r[0]) for r in db.execute("SELECT version FROM schema_migrations ORDER BY 1")]


def migrate(dsn: str) -> list[str]:
    """Apply every step not yet applied; returns the names applied now."""
    done: list[str] = []
    known = migrations()
    with psycopg.connect(dsn) as db:
        for step in known:
            with db.transaction():
                db.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_ID,))
                have = applied(db)
                newer = [v for v in have if v > len(known)]
                if newer:
                    raise MigrationError(
                        f"ledger schema {max(newer)} is newer than this hub's {len(known)}:"
                        " upgrade the hub"
                    )
                if step.version in have:
                    continue
                db.execute(step.sql.encode())
                db.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    (step.version, step.name),
                )
                done.append(f"{step.version:04d}_{step.name}")
                log.info("ledger migrated version=%d name=%s", step.version, step.name)
    return done


def status(dsn: str) -> tuple[list[int], int]:
    """(applied versions, versions this hub knows)."""
    with psycopg.connect(dsn) as db, db.transaction():
        return applied(db), len(migrations())
