"""The journal: a SQLite record of every sale and every step, written before anything is shown
or sent.

Why / invariants:
- WAL + synchronous=FULL + one `BEGIN IMMEDIATE` transaction per write: a write that returned
  survives a power cut, and a crash mid-write leaves the previous state, never half of one;
- the sale's full record (ids included) is saved before the call that uses it is made, so a
  restart retries with the same merchantPaymentId / refund id and never creates a second order;
- only what money needs is written: state changes, the intent of every call that can move money
  or codes, and outcomes that change something (the worker keeps read-only polls that find
  nothing in memory); a save's outcome line carries the new state, so a plain paid sale is
  7 step lines in 4 commits;
- a corrupt, unreadable or newer-than-us journal raises `JournalError` and stops selling; it
  is never replaced or repaired silently (the money history lives there). Schema, migrations
  and opening: `kiosk.engine.journal_schema`.
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
from typing import Any, Protocol

from kiosk.domain import SaleRecord, Totals
from kiosk.engine.codec import from_record, to_record
from kiosk.engine.journal_schema import (
    OPEN_REFUNDS_SQL,
    SCHEMA_VERSION,
    JournalError,
    background_check,
    open_journal_db,
    open_readonly,
)
from kiosk.sale.model import Sale, State

log = logging.getLogger(__name__)

# Attendant refund statuses. PENDING: recorded, not yet known to PayPay; UNKNOWN: sent, answer
# lost; CREATED: accepted; REFUNDED: done; REFUSED: PayPay said no (nothing moved).
OPEN_REFUND_STATUSES = ("PENDING", "UNKNOWN", "CREATED")
MONEY_STATES = (State.SUCCEEDED.value, State.HELD.value)  # paid and kept: refundable

# What the kiosk looks up while selling, served by the partial indexes sales_open and
# refunds_open and by sales_state_created: each costs what is open, not what was ever sold.
UNFINISHED_SQL = "SELECT record FROM sales WHERE finished=0 ORDER BY created_at"
HELD_SQL = "SELECT record FROM sales WHERE state='HELD' ORDER BY created_at"
OPEN_REFUNDS_QUERY = (
    "SELECT merchant_refund_id, merchant_payment_id, payment_id, amount_yen, status,"
    f" created_at FROM refunds WHERE {OPEN_REFUNDS_SQL} ORDER BY created_at"
)

# A sale as lists show it, refunds read in the same statement (per returned row, by index).
REFUNDED_SQL = (
    "CASE WHEN s.state='REFUNDED' THEN s.amount_yen ELSE (SELECT COALESCE(SUM(r.amount_yen), 0)"
    " FROM refunds r WHERE r.merchant_payment_id=s.merchant_payment_id"
    " AND r.status IN ('CREATED','REFUNDED')) END"
)
REFUNDABLE_SQL = (
    "CASE WHEN s.state IN ('SUCCEEDED','HELD') THEN MAX(0, s.amount_yen - (SELECT"
    " COALESCE(SUM(r.amount_yen), 0) FROM refunds r WHERE"
    " r.merchant_payment_id=s.merchant_payment_id AND r.status!='REFUSED')) ELSE 0 END"
)
RECORD_SQL = (
    "SELECT s.merchant_payment_id, s.amount_yen, s.state, s.created_at,"
    f" {REFUNDABLE_SQL}, s.description, {REFUNDED_SQL},"
    " COALESCE(json_extract(s.record, '$.end_reason'), '') FROM sales s"
)


Step = tuple[str, str | None, str]  # (kind, call, detail) of a step-log line


class FactSink(Protocol):
    """Told each fact inside the transaction that records it (the fleet outbox, when on)."""

    def sale_saved(self, db: sqlite3.Connection, sale: Sale, now: float) -> None: ...

    def refund_saved(self, db: sqlite3.Connection, merchant_refund_id: str, now: float) -> None: ...

    def fact(self, db: sqlite3.Connection, kind: str, data: dict[str, Any], now: float) -> None: ...


@dataclass(frozen=True)
class RefundRow:
    merchant_refund_id: str
    merchant_payment_id: str
    payment_id: str
    amount_yen: int
    status: str
    created_at: float


class NotRefundable(ValueError):
    """A refund the journal refused inside its write transaction: `refundable_yen` is what
    could still be refunded (0: nothing)."""

    def __init__(self, message: str, refundable_yen: int) -> None:
        super().__init__(message)
        self.refundable_yen = refundable_yen


class Journal:
    """One connection, serialised by a lock (the runner's worker writes; the UI reads)."""

    def __init__(
        self, path: Path, *, readonly: bool = False, facts: FactSink | None = None
    ) -> None:
        """`readonly`: an operator command's view, opened without migrating or writing.
        `facts`: the fleet outbox (kiosk.fleet), told each fact in its transaction."""
        self.path = path
        self.facts = facts
        self._lock = threading.Lock()
        self._db = open_readonly(path) if readonly else open_journal_db(path)
        rows = self._db.execute("SELECT name FROM sqlite_schema WHERE type='table'").fetchall()
        self.steps_tables = [t for t in ("steps_v1", "steps") if t in {r[0] for r in rows}]
        self.damage: str | None = None  # what the whole-file check found, if anything

    def check_in_background(self) -> threading.Thread:
        """The whole-file check that start-up skips, on its own connection and thread; a
        damaged journal sets `damage` (the runner then takes no new sale)."""

        def damaged(problem: str) -> None:
            self.damage = problem

        thread = threading.Thread(
            target=background_check, args=(self.path, damaged), name="journal-check", daemon=True
        )
        thread.start()
        return thread

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
        call about to be made) written around the state in the SAME transaction, so a sale's
        step costs one fsync instead of one per line (tap-to-QR pays for each). The state is
        appended to the last `before` line, or is a line of its own when there is none."""
        record = json.dumps(to_record(sale), sort_keys=True, separators=(",", ":"))
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
            for kind, call, detail in before[:-1]:
                _step(db, mpid, now, kind, call, detail)
            if self.facts is not None:  # before the upsert: it compares with the stored state
                self.facts.sale_saved(db, sale, now)
            db.execute(
                "INSERT INTO sales VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(merchant_payment_id)"
                " DO UPDATE SET updated_at=excluded.updated_at, state=excluded.state,"
                " amount_yen=excluded.amount_yen,"  # a preauth sale captures what was vended
                " finished=excluded.finished, paid=excluded.paid,"
                " payment_id=excluded.payment_id, record=excluded.record",
                row,
            )
            state = sale.state.value if note is None else f"{sale.state.value}: {note}"
            if before:  # the outcome that led here says where it led: one line, not two
                kind, call, detail = before[-1]
                _step(db, mpid, now, kind, call, f"{detail} -> {state}")
            else:
                _step(db, mpid, now, "state", None, state)
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
            _insert_refund(db, row)
            if self.facts is not None:
                self.facts.refund_saved(db, row.merchant_refund_id, row.created_at)

    def add_next_refund(
        self, merchant_payment_id: str, payment_id: str, amount_yen: int | None, now: float
    ) -> RefundRow:
        """Number, check and record the sale's next refund in ONE write transaction, so two
        processes refunding at once get one success and one `NotRefundable`, never a clash
        of merchantRefundIds. `amount_yen` None: all that is still refundable."""
        with self._tx() as db:
            refundable = _refundable(db, merchant_payment_id)
            if refundable <= 0:
                raise NotRefundable(f"nothing of {merchant_payment_id} is refundable", 0)
            (count,) = db.execute(
                "SELECT COUNT(*) FROM refunds WHERE merchant_payment_id=?", (merchant_payment_id,)
            ).fetchone()
            row = RefundRow(
                f"{merchant_payment_id}-R{count + 1}",
                merchant_payment_id,
                payment_id,
                refundable if amount_yen is None else amount_yen,
                "PENDING",
                now,
            )
            _insert_refund(db, row)
            if self.facts is not None:
                self.facts.refund_saved(db, row.merchant_refund_id, row.created_at)
            return row

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
                if self.facts is not None:
                    self.facts.refund_saved(db, merchant_refund_id, now)

    def record_fact(self, kind: str, data: dict[str, Any], now: float) -> None:
        """A fact with no sale row of its own (out of service, health, a command's reply):
        durable in the fleet outbox when this returns; nothing at all without a fleet."""
        if self.facts is None:
            return
        with self._tx() as db:
            self.facts.fact(db, kind, data, now)

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
        return [_decode(r[0]) for r in self._query(UNFINISHED_SQL, ())]

    def held_sales(self) -> list[Sale]:
        return [_decode(r[0]) for r in self._query(HELD_SQL, ())]

    def recent_sales(self, limit: int = 20) -> list[SaleRecord]:
        return list(self.sale_records(limit=limit))

    def sale_records(
        self,
        *,
        since_at: float | None = None,
        until_at: float | None = None,
        state: str | None = None,
        limit: int | None = None,
    ) -> Iterator[SaleRecord]:
        """Newest first, filtered and paged in SQL, refunds read in the same query; streamed
        (the lock is held while the caller iterates: read-only command views only, or short
        pages)."""
        where, params = _filters(since_at, until_at, state)
        sql = f"{RECORD_SQL} {where} ORDER BY s.created_at DESC, s.rowid DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self._reading():
            for row in self._db.execute(sql, params):
                yield SaleRecord(*row)

    def sale_record(self, merchant_payment_id: str) -> SaleRecord | None:
        rows = self._query(f"{RECORD_SQL} WHERE s.merchant_payment_id=?", (merchant_payment_id,))
        return SaleRecord(*rows[0]) if rows else None

    def refundable_yen(self, merchant_payment_id: str) -> int:
        with self._reading():
            return _refundable(self._db, merchant_payment_id)

    def totals(self, since_at: float, until_at: float) -> Totals:
        """Paid sales created in [since_at, until_at), and what went back to customers."""
        rows = self._query(
            f"SELECT COUNT(*), COALESCE(SUM(s.amount_yen), 0), COALESCE(SUM({REFUNDED_SQL}), 0)"
            " FROM sales s WHERE s.paid=1 AND s.created_at>=? AND s.created_at<?",
            (since_at, until_at),
        )
        count, amount, refunded = rows[0]
        return Totals(int(count), int(amount), int(refunded))

    def open_refunds(self) -> list[RefundRow]:
        return [RefundRow(*r) for r in self._query(OPEN_REFUNDS_QUERY, ())]

    def refunds_for(self, merchant_payment_id: str) -> list[RefundRow]:
        rows = self._query(
            "SELECT merchant_refund_id, merchant_payment_id, payment_id, amount_yen, status,"
            " created_at FROM refunds WHERE merchant_payment_id=? ORDER BY created_at",
            (merchant_payment_id,),
        )
        return [RefundRow(*r) for r in rows]

    def steps(self, merchant_payment_id: str) -> list[tuple[float, str, str | None, str]]:
        rows: list[tuple[float, str, str | None, str]] = []
        for table in self.steps_tables:  # steps_v1 (before schema 3) holds the older lines
            rows += self._query(
                f"SELECT at, kind, call, detail FROM {table} WHERE merchant_payment_id=?"
                " ORDER BY id",
                (merchant_payment_id,),
            )
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    def all_sales(self) -> list[Sale]:
        return [_decode(r[0]) for r in self._query("SELECT record FROM sales", ())]

    def rewrite(self) -> None:
        """VACUUM into incremental auto_vacuum: a journal first created by an older release
        can then give space back. Rewrites the whole file: only with the kiosk stopped, and
        with free space for two copies (the temporary one and the WAL)."""
        with self._reading():
            self._db.execute("PRAGMA auto_vacuum=INCREMENTAL")
            self._db.execute("VACUUM")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

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

    def _query(self, sql: str, params: tuple[Any, ...] | dict[str, Any]) -> list[Any]:
        with self._reading():
            return self._db.execute(sql, params).fetchall()

    # for kiosk.engine.retention, which moves whole sales out: the same lock and transactions
    transaction = _tx
    query = _query


def _step(
    db: sqlite3.Connection, mpid: str, now: float, kind: str, call: str | None, detail: str
) -> None:
    db.execute(
        "INSERT INTO steps (merchant_payment_id, at, kind, call, detail) VALUES (?,?,?,?,?)",
        (mpid, now, kind, call, detail),
    )


def _insert_refund(db: sqlite3.Connection, row: RefundRow) -> None:
    """Inside a write transaction: refuse more than is refundable, else insert the row."""
    refundable = _refundable(db, row.merchant_payment_id)
    if row.amount_yen > refundable:
        raise NotRefundable(
            f"refund of {row.amount_yen} yen refused: only {refundable} yen of "
            f"{row.merchant_payment_id} is still refundable",
            refundable,
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


def _filters(
    since_at: float | None, until_at: float | None, state: str | None
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for clause, value in (
        ("s.created_at>=?", since_at),
        ("s.created_at<?", until_at),
        ("s.state=?", state),
    ):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), params


def _decode(text: str) -> Sale:
    try:
        return from_record(json.loads(text))
    except (ValueError, TypeError, KeyError) as exc:
        raise JournalError(f"a sale record in the journal cannot be read: {exc}") from exc


__all__ = ["SCHEMA_VERSION", "Journal", "JournalError", "NotRefundable", "RefundRow", "Step"]
