"""The journal: a SQLite record of every sale and every step, written before anything is shown
or sent.

Why / invariants:
- WAL + synchronous=FULL + one `BEGIN IMMEDIATE` transaction per write: a write that returned
  survives a power cut, and a crash mid-write leaves the previous state, never half of one;
- the sale's full record (ids included) is saved before the call that uses it is made, so a
  restart retries with the same merchantPaymentId / refund id and never creates a second order;
- a corrupt, unreadable or newer-than-us journal raises `JournalError` and stops selling; it
  is never replaced or repaired silently (the money history lives there);
- the schema has a version (`PRAGMA user_version`) and forward-only migrations.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.domain import SaleRecord, Totals
from kiosk.engine.codec import from_record, to_record
from kiosk.sale.model import TERMINAL_STATES, Sale, State

log = logging.getLogger(__name__)

MIGRATIONS: tuple[str, ...] = (
    # 1: sales, their step log, attendant refunds
    """
    CREATE TABLE sales (
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
    );
    CREATE INDEX sales_unfinished ON sales(finished, created_at);
    CREATE INDEX sales_created ON sales(created_at);
    CREATE TABLE steps (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        merchant_payment_id TEXT NOT NULL,
        at REAL NOT NULL,
        kind TEXT NOT NULL,
        call TEXT,
        detail TEXT NOT NULL
    );
    CREATE INDEX steps_sale ON steps(merchant_payment_id, id);
    CREATE TABLE refunds (
        merchant_refund_id TEXT PRIMARY KEY,
        merchant_payment_id TEXT NOT NULL REFERENCES sales(merchant_payment_id),
        payment_id TEXT NOT NULL,
        amount_yen INTEGER NOT NULL,
        status TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX refunds_sale ON refunds(merchant_payment_id);
    """,
    # 2: held sales are looked up whenever a sale ends; keep that cheap after months of sales
    """
    CREATE INDEX sales_state ON sales(state);
    """,
    # 3: the attendant PIN pad's lockout (one row), so a power cycle does not reset the count
    """
    CREATE TABLE pin_lockout (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        failures INTEGER NOT NULL,
        locked_s REAL NOT NULL,
        saved_at REAL NOT NULL
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)

# Attendant refund statuses. PENDING: recorded, not yet known to PayPay; UNKNOWN: sent, answer
# lost; CREATED: accepted; REFUNDED: done; REFUSED: PayPay said no (nothing moved).
OPEN_REFUND_STATUSES = ("PENDING", "UNKNOWN", "CREATED")
MONEY_STATES = (State.SUCCEEDED.value, State.HELD.value)  # paid and kept: refundable


Step = tuple[str, str | None, str]  # (kind, call, detail) of a step-log line


class JournalError(Exception):
    """The journal cannot be used. Selling stops; the file is left exactly as found."""


@dataclass(frozen=True)
class RefundRow:
    merchant_refund_id: str
    merchant_payment_id: str
    payment_id: str
    amount_yen: int
    status: str
    created_at: float


class Journal:
    """One connection, serialised by a lock (the runner's worker writes; the UI reads)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = _open(path)

    # ---- writes ---------------------------------------------------------------------------

    def save_sale(
        self,
        sale: Sale,
        now: float,
        note: str | None = None,
        *,
        before: Sequence[Step] = (),
        after: Sequence[Step] = (),
    ) -> None:
        """Upsert the sale's record and log its state; durable when this returns.

        `before` / `after`: step-log lines (e.g. the outcome that led here, the intent of the
        call about to be made) written around the state line in the SAME transaction, so a
        sale's step costs one fsync instead of one per line (tap-to-QR pays for each)."""
        record = json.dumps(to_record(sale), sort_keys=True)
        row = (
            sale.merchant_payment_id,
            sale.created_at,
            now,
            sale.amount_yen,
            sale.description,
            sale.state.value,
            int(sale.finished),
            int(sale.paid),
            sale.payment_id,
            record,
        )
        mpid = sale.merchant_payment_id
        with self._tx() as db:
            for kind, call, detail in before:
                _step(db, mpid, now, kind, call, detail)
            db.execute(
                "INSERT INTO sales VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(merchant_payment_id)"
                " DO UPDATE SET updated_at=excluded.updated_at, state=excluded.state,"
                " amount_yen=excluded.amount_yen,"  # a preauth sale captures what was vended
                " finished=excluded.finished, paid=excluded.paid,"
                " payment_id=excluded.payment_id, record=excluded.record",
                row,
            )
            detail = sale.state.value if note is None else f"{sale.state.value}: {note}"
            _step(db, mpid, now, "state", None, detail)
            for kind, call, detail in after:
                _step(db, mpid, now, kind, call, detail)

    def record_step(
        self, merchant_payment_id: str, now: float, kind: str, call: str | None, detail: str
    ) -> None:
        """kind: 'intent' (before a call), 'outcome' (after it) or 'note' (for a person)."""
        with self._tx() as db:
            _step(db, merchant_payment_id, now, kind, call, detail)

    def add_refund(self, row: RefundRow) -> None:
        """Record an attendant refund before it is sent; refuses more than is refundable."""
        with self._tx() as db:  # the check and the insert in one IMMEDIATE transaction
            refundable = _refundable(db, row.merchant_payment_id)
            if row.amount_yen > refundable:
                raise ValueError(
                    f"refund of {row.amount_yen} yen refused: only {refundable} yen of "
                    f"{row.merchant_payment_id} is still refundable"
                )
            db.execute(
                "INSERT INTO refunds VALUES (?,?,?,?,?,?,?)",
                (
                    row.merchant_refund_id,
                    row.merchant_payment_id,
                    row.payment_id,
                    row.amount_yen,
                    row.status,
                    row.created_at,
                    row.created_at,
                ),
            )
            detail = f"refund {row.merchant_refund_id} {row.amount_yen} yen recorded"
            _step(db, row.merchant_payment_id, row.created_at, "intent", "refund", detail)

    def set_refund_status(self, merchant_refund_id: str, status: str, now: float) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE refunds SET status=?, updated_at=? WHERE merchant_refund_id=?",
                (status, now, merchant_refund_id),
            )
            found = db.execute(
                "SELECT merchant_payment_id FROM refunds WHERE merchant_refund_id=?",
                (merchant_refund_id,),
            ).fetchone()
            if found:
                detail = f"refund {merchant_refund_id} {status}"
                _step(db, found[0], now, "outcome", "refund", detail)

    def save_pin_lockout(self, failures: int, locked_s: float, now: float) -> None:
        """Wrong PINs in a row, and the pad locked for `locked_s` from `now` (wall time)."""
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO pin_lockout VALUES (1,?,?,?)", (failures, locked_s, now)
            )

    # ---- reads ----------------------------------------------------------------------------

    def pin_lockout(self) -> tuple[int, float, float]:
        """(failures, locked_s, saved at) as last saved; (0, 0.0, 0.0) when never saved."""
        rows = self._query("SELECT failures, locked_s, saved_at FROM pin_lockout", ())
        return (int(rows[0][0]), float(rows[0][1]), float(rows[0][2])) if rows else (0, 0.0, 0.0)

    def load_sale(self, merchant_payment_id: str) -> Sale | None:
        rows = self._query(
            "SELECT record FROM sales WHERE merchant_payment_id=?", (merchant_payment_id,)
        )
        return _decode(rows[0][0]) if rows else None

    def unfinished_sales(self) -> list[Sale]:
        """Sales the machine has not finished: reconciliation settles each one at start."""
        rows = self._query("SELECT record FROM sales WHERE finished=0 ORDER BY created_at", ())
        return [_decode(r[0]) for r in rows]

    def held_sales(self) -> list[Sale]:
        rows = self._query("SELECT record FROM sales WHERE state=? ORDER BY created_at", ("HELD",))
        return [_decode(r[0]) for r in rows]

    def recent_sales(self, limit: int = 20) -> list[SaleRecord]:
        rows = self._query(
            "SELECT merchant_payment_id, amount_yen, state, created_at, description"
            " FROM sales ORDER BY created_at DESC, rowid DESC LIMIT ?",
            (limit,),
        )
        return [self._sale_record(*r) for r in rows]

    def sale_record(self, merchant_payment_id: str) -> SaleRecord | None:
        rows = self._query(
            "SELECT merchant_payment_id, amount_yen, state, created_at, description"
            " FROM sales WHERE merchant_payment_id=?",
            (merchant_payment_id,),
        )
        return self._sale_record(*rows[0]) if rows else None

    def _sale_record(
        self, mpid: str, amount_yen: int, state: str, created_at: float, description: str
    ) -> SaleRecord:
        with self._reading():
            refundable = _refundable(self._db, mpid)
            refunded = _refunded(self._db, mpid, amount_yen, state)
        return SaleRecord(mpid, amount_yen, state, created_at, refundable, description, refunded)

    def refundable_yen(self, merchant_payment_id: str) -> int:
        with self._reading():
            return _refundable(self._db, merchant_payment_id)

    def totals(self, since_at: float, until_at: float) -> Totals:
        """Paid sales created in [since_at, until_at), and what went back to customers."""
        rows = self._query(
            "SELECT merchant_payment_id, amount_yen, state FROM sales"
            " WHERE paid=1 AND created_at>=? AND created_at<?",
            (since_at, until_at),
        )
        with self._reading():
            refunded = sum(_refunded(self._db, m, a, s) for m, a, s in rows)
        return Totals(len(rows), sum(a for _, a, _ in rows), refunded)

    def open_refunds(self) -> list[RefundRow]:
        rows = self._query(
            "SELECT merchant_refund_id, merchant_payment_id, payment_id, amount_yen, status,"
            " created_at FROM refunds WHERE status IN (?,?,?) ORDER BY created_at",
            OPEN_REFUND_STATUSES,
        )
        return [RefundRow(*r) for r in rows]

    def refunds_for(self, merchant_payment_id: str) -> list[RefundRow]:
        rows = self._query(
            "SELECT merchant_refund_id, merchant_payment_id, payment_id, amount_yen, status,"
            " created_at FROM refunds WHERE merchant_payment_id=? ORDER BY created_at",
            (merchant_payment_id,),
        )
        return [RefundRow(*r) for r in rows]

    def steps(self, merchant_payment_id: str) -> list[tuple[float, str, str | None, str]]:
        rows = self._query(
            "SELECT at, kind, call, detail FROM steps WHERE merchant_payment_id=? ORDER BY id",
            (merchant_payment_id,),
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    def all_sales(self) -> list[Sale]:
        return [_decode(r[0]) for r in self._query("SELECT record FROM sales", ())]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ---- plumbing -------------------------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.DatabaseError as exc:
                raise JournalError(f"journal {self.path} cannot be written: {exc}") from exc
            try:
                yield self._db
            except sqlite3.DatabaseError as exc:
                with suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                raise JournalError(f"journal {self.path} cannot be written: {exc}") from exc
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            try:
                self._db.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                raise JournalError(f"journal {self.path} commit failed: {exc}") from exc

    @contextmanager
    def _reading(self) -> Iterator[None]:
        with self._lock:
            try:
                yield
            except sqlite3.DatabaseError as exc:
                raise JournalError(f"journal {self.path} cannot be read: {exc}") from exc

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        with self._reading():
            return self._db.execute(sql, params).fetchall()


def _step(
    db: sqlite3.Connection, mpid: str, now: float, kind: str, call: str | None, detail: str
) -> None:
    db.execute(
        "INSERT INTO steps (merchant_payment_id, at, kind, call, detail) VALUES (?,?,?,?,?)",
        (mpid, now, kind, call, detail),
    )


def _refundable(db: sqlite3.Connection, mpid: str) -> int:
    row = db.execute(
        "SELECT amount_yen, state FROM sales WHERE merchant_payment_id=?", (mpid,)
    ).fetchone()
    if row is None or row[1] not in MONEY_STATES:
        return 0
    spent = db.execute(
        "SELECT COALESCE(SUM(amount_yen), 0) FROM refunds"
        " WHERE merchant_payment_id=? AND status!='REFUSED'",
        (mpid,),
    ).fetchone()[0]
    return max(0, int(row[0]) - int(spent))


def _refunded(db: sqlite3.Connection, mpid: str, amount_yen: int, state: str) -> int:
    if state == State.REFUNDED.value:
        return amount_yen
    done = db.execute(
        "SELECT COALESCE(SUM(amount_yen), 0) FROM refunds"
        " WHERE merchant_payment_id=? AND status IN ('CREATED','REFUNDED')",
        (mpid,),
    ).fetchone()[0]
    return int(done)


def _decode(text: str) -> Sale:
    try:
        return from_record(json.loads(text))
    except (ValueError, TypeError, KeyError) as exc:
        raise JournalError(f"a sale record in the journal cannot be read: {exc}") from exc


def _open(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    existed = path.exists() and path.stat().st_size > 0
    try:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    except sqlite3.Error as exc:
        raise JournalError(f"journal {path} cannot be opened: {exc}") from exc
    try:
        if existed:
            check = db.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise JournalError(f"journal {path} is damaged: {check[0] if check else '?'}")
        mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise JournalError(f"journal {path} cannot use WAL (got {mode})")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        _migrate(db, path)
    except sqlite3.DatabaseError as exc:
        db.close()
        raise JournalError(f"journal {path} is not a readable journal: {exc}") from exc
    except JournalError:
        db.close()
        raise
    log.info("journal opened path=%s schema=%d", path, SCHEMA_VERSION)
    return db


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise JournalError(
            f"journal {path} has schema {version}, newer than this kiosk's {SCHEMA_VERSION}"
        )
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if version and "sales" not in tables:
        raise JournalError(f"journal {path} says schema {version} but has no sales table")
    if not version and tables:
        raise JournalError(f"{path} is a SQLite file but not a kiosk journal: {sorted(tables)}")
    for number in range(version + 1, SCHEMA_VERSION + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in MIGRATIONS[number - 1].split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version={number}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        log.info("journal migrated path=%s to=%d", path, number)


def is_unfinished(sale: Sale) -> bool:
    return sale.state not in TERMINAL_STATES
