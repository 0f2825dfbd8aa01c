"""The journal's schema, its forward-only migrations, and opening the file.

Why / invariants:
- the schema has a version (`PRAGMA user_version`); each migration is a tuple of statements run
  in one `BEGIN IMMEDIATE` transaction with its version bump, so a kill mid-migration leaves
  the previous version whole. To change the schema, append a migration; never edit one that
  shipped (kiosks in the field have run it);
- opening costs what the unfinished sales cost, not what the history costs: no whole-file check
  before the first customer. Start checks the schema (small), the kiosk then checks the whole
  file in the background (`background_check`), `kiosk doctor --deep` on demand;
- a corrupt, unreadable or newer-than-us journal raises `JournalError`; it is never replaced or
  repaired silently (the money history lives there);
- the lookups made while selling (unfinished, held, open refunds) use partial indexes, so they
  cost what is open, not what was ever sold.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

log = logging.getLogger(__name__)


class JournalError(Exception):
    """The journal cannot be used. Selling stops; the file is left exactly as found."""


class JournalDiskFull(JournalError):
    """The journal could not be opened and its disk has (almost) no free space: the file is
    not damaged, space is what is missing (SQLite needs some for its -wal and -shm files)."""


LOW_SPACE_BYTES = 1 << 20  # below this, a failed open is put down to the full disk


# Open refund statuses, as SQL literals: a partial index serves a query only when the query's
# WHERE names the same constants (a bound parameter cannot prove it).
OPEN_REFUNDS_SQL = "status IN ('PENDING','UNKNOWN','CREATED')"

Statement = str | Callable[[sqlite3.Connection], None]  # SQL, or Python for what SQL cannot say


def _drop_empty_steps_v1(db: sqlite3.Connection) -> None:
    if db.execute("SELECT 1 FROM steps_v1 LIMIT 1").fetchone() is None:
        db.execute("DROP TABLE steps_v1")


MIGRATIONS: tuple[tuple[Statement, ...], ...] = (
    # 1: sales, their step log, attendant refunds
    (
        """CREATE TABLE sales (
            merchant_payment_id TEXT PRIMARY KEY,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            amount_yen INTEGER NOT NULL,
            description TEXT NOT NULL,
            state TEXT NOT NULL,
            finished INTEGER NOT NULL,
            paid INTEGER NOT NULL,
            payment_id TEXT,
            record TEXT NOT NULL
        )""",
        "CREATE INDEX sales_unfinished ON sales(finished, created_at)",
        "CREATE INDEX sales_created ON sales(created_at)",
        """CREATE TABLE steps (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            merchant_payment_id TEXT NOT NULL,
            at REAL NOT NULL,
            kind TEXT NOT NULL,
            call TEXT,
            detail TEXT NOT NULL
        )""",
        "CREATE INDEX steps_sale ON steps(merchant_payment_id, id)",
        """CREATE TABLE refunds (
            merchant_refund_id TEXT PRIMARY KEY,
            merchant_payment_id TEXT NOT NULL REFERENCES sales(merchant_payment_id),
            payment_id TEXT NOT NULL,
            amount_yen INTEGER NOT NULL,
            status TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        )""",
        "CREATE INDEX refunds_sale ON refunds(merchant_payment_id)",
    ),
    # 2: held sales are looked up whenever a sale ends
    ("CREATE INDEX sales_state ON sales(state)",),
    # 3: the attendant PIN pad's lockout (one row), so a power cycle does not reset the count
    (
        """CREATE TABLE pin_lockout (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            failures INTEGER NOT NULL,
            locked_s REAL NOT NULL,
            saved_at REAL NOT NULL
        )""",
    ),
    # 4: a journal that lives for years. The step log gets a plain rowid (AUTOINCREMENT wrote
    # sqlite_sequence at every commit); the old log is kept as steps_v1 (renaming is instant,
    # copying years of steps is not) and read alongside until retention empties it. The
    # selling-time lookups get partial indexes on what is open.
    (
        "ALTER TABLE steps RENAME TO steps_v1",
        """CREATE TABLE steps (
            id INTEGER PRIMARY KEY,
            merchant_payment_id TEXT NOT NULL,
            at REAL NOT NULL,
            kind TEXT NOT NULL,
            call TEXT,
            detail TEXT NOT NULL
        )""",
        "CREATE INDEX steps_by_sale ON steps(merchant_payment_id)",
        "DROP INDEX sales_state",
        "DROP INDEX sales_unfinished",
        "CREATE INDEX sales_held ON sales(created_at) WHERE state='HELD'",
        "CREATE INDEX sales_open ON sales(created_at) WHERE finished=0",
        f"CREATE INDEX refunds_open ON refunds(created_at) WHERE {OPEN_REFUNDS_SQL}",
        _drop_empty_steps_v1,
    ),
    # 5: retention: the archive files that hold finished sales moved out (name, checksum,
    # count, totals), and the step-pruning watermark
    (
        """CREATE TABLE archives (
            id INTEGER PRIMARY KEY,
            file TEXT NOT NULL UNIQUE,
            archived_at REAL NOT NULL,
            first_created_at REAL NOT NULL,
            last_created_at REAL NOT NULL,
            sales INTEGER NOT NULL,
            paid INTEGER NOT NULL,
            paid_yen INTEGER NOT NULL,
            refunded_yen INTEGER NOT NULL,
            sha256 TEXT NOT NULL
        )""",
        "CREATE TABLE retention (key TEXT PRIMARY KEY, value NOT NULL)",
    ),
    # 6: `kiosk journal list --state S` pages through one state's sales, newest first,
    # without scanning the others (a state with no sale scanned all of them); it also serves
    # the held sales, so their partial index goes
    (
        "CREATE INDEX sales_state_created ON sales(state, created_at)",
        "DROP INDEX sales_held",
    ),
    # 7: the fleet outbox (kiosk.fleet.outbox): facts to publish, written with the fact itself.
    # AUTOINCREMENT on purpose: a seq is never reused after sent rows are pruned (the hub finds
    # lost facts by gaps in seq); only written when the kiosk belongs to a fleet.
    (
        """CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            key TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            at REAL NOT NULL,
            data TEXT NOT NULL,
            sent_at REAL
        )""",
        "CREATE INDEX outbox_unsent ON outbox(sent_at, seq)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


def open_journal_db(path: Path) -> sqlite3.Connection:
    """The kiosk's read-write connection: WAL, synchronous=FULL, migrated to SCHEMA_VERSION."""
    path.parent.mkdir(parents=True, exist_ok=True)
    existed = path.exists() and path.stat().st_size > 0
    db = _connect(str(path), uri=False, path=path)
    try:
        if not existed:  # only a file without tables can take it; returns space to the OS
            db.execute("PRAGMA auto_vacuum=INCREMENTAL")
        mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise JournalError(f"journal {path} cannot use WAL (got {mode})")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        check_schema(db, path)
        _migrate(db, path)
    except sqlite3.DatabaseError as exc:
        db.close()
        raise _not_opened(path, exc) from exc
    except JournalError:
        db.close()
        raise
    log.info("journal opened path=%s schema=%d", path, SCHEMA_VERSION)
    return db


def open_readonly(path: Path) -> sqlite3.Connection:
    """A reader's connection (operator commands): never writes, never migrates, no full check.
    An older schema is fine (the columns readers use exist since schema 1)."""
    db = _connect(f"file:{path}?mode=ro", uri=True, path=path)
    try:
        version = check_schema(db, path)
        if version == 0:
            raise JournalError(f"{path} is not a kiosk journal")
    except sqlite3.DatabaseError as exc:
        db.close()
        raise _not_opened(path, exc) from exc
    except JournalError:
        db.close()
        raise
    return db


def _not_opened(path: Path, exc: sqlite3.DatabaseError) -> JournalError:
    """Why SQLite could not open the journal: a full disk, or a file that is not one."""
    free = shutil.disk_usage(path.parent).free
    if free < LOW_SPACE_BYTES:
        return JournalDiskFull(
            f"journal {path} cannot be opened: its disk has only {free} bytes free ({exc});"
            " free space and start again (the file is not damaged and was left as found)"
        )
    return JournalError(f"journal {path} is not a readable journal: {exc}")


def _connect(target: str, *, uri: bool, path: Path) -> sqlite3.Connection:
    try:
        return sqlite3.connect(
            target, isolation_level=None, check_same_thread=False, timeout=10, uri=uri
        )
    except sqlite3.Error as exc:
        raise JournalError(f"journal {path} cannot be opened: {exc}") from exc


def check_schema(db: sqlite3.Connection, path: Path) -> int:
    """The start-up check: the schema table (small) is sound and is a journal we understand.
    Returns the schema version found."""
    found = db.execute("PRAGMA quick_check(sqlite_schema)").fetchone()
    if found is None or found[0] != "ok":
        raise JournalError(f"journal {path} is damaged: {found[0] if found else '?'}")
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise JournalError(
            f"journal {path} has schema {version}, newer than this kiosk's {SCHEMA_VERSION}"
        )
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_schema WHERE type='table'")}
    if version and "sales" not in tables:
        raise JournalError(f"journal {path} says schema {version} but has no sales table")
    if not version and tables:
        raise JournalError(f"{path} is a SQLite file but not a kiosk journal: {sorted(tables)}")
    return version


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    for number in range(version + 1, SCHEMA_VERSION + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in MIGRATIONS[number - 1]:
                if isinstance(statement, str):
                    db.execute(statement)
                else:
                    statement(db)
            db.execute(f"PRAGMA user_version={number}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        log.info("journal migrated path=%s to=%d", path, number)


def deep_check(path: Path, pragma: str = "quick_check") -> str | None:
    """The whole-file check, on its own read-only connection: None when sound, else the first
    problem SQLite names. Reads every page: minutes on a big journal on an SD card."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)) as db:
            rows = db.execute(f"PRAGMA {pragma}").fetchall()
    except sqlite3.Error as exc:
        return str(exc)
    if rows != [("ok",)]:
        return str(rows[0][0]) if rows else "no answer"
    return None


def background_check(path: Path, on_damage: Callable[[str], None]) -> None:
    """Run `deep_check` (call on a daemon thread); a damaged file is logged and reported."""
    problem = deep_check(path)
    if problem is None:
        log.info("journal whole-file check ok path=%s", path)
        return
    log.error("journal whole-file check failed path=%s problem=%s", path, problem)
    on_damage(problem)
