"""The transactional outbox: fleet facts written in the journal's own transaction.

Why: a fact published straight to MQTT is lost when the broker is down or the process dies
before it is sent (paho keeps its queue in memory only). Here each fact becomes an `outbox`
row in the SAME SQLite transaction as the fact itself (kiosk.engine.journal calls `OutboxSink`
inside it), so a sale is never recorded without its report, nor reported without being
recorded. Invariants: `seq` only grows (AUTOINCREMENT: never reused, even after deletes);
`key` is unique and fixed at write time, so every resend of a row carries the same
idempotency key; a row is marked sent only after the broker acknowledged it
(`OutboxReader.mark_sent`), and sent rows are pruned only after `keep_s`.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.fleet.schema import KIND_REFUND, KIND_SALE, Event
from kiosk.sale.model import Sale

NewKey = Callable[[], str]


def random_key() -> str:
    return uuid.uuid4().hex


def sale_data(sale: Sale) -> dict[str, Any]:
    """What the fleet learns of a sale: amounts and states, no QR URL or code."""
    return {
        "merchant_payment_id": sale.merchant_payment_id,
        "amount_yen": sale.amount_yen,
        "description": sale.description,
        "state": sale.state.value,
        "paid": sale.paid,
        "finished": sale.finished,
        "payment_id": sale.payment_id,
        "created_at": sale.created_at,
        "end_reason": sale.end_reason,
    }


class OutboxSink:
    """The journal's FactSink: one outbox row per sale transition (state change), refund
    status and other fact. `new_key` makes idempotency keys (a parameter: tests are exact)."""

    def __init__(self, new_key: NewKey = random_key) -> None:
        self.new_key = new_key

    def sale_saved(self, db: sqlite3.Connection, sale: Sale, now: float) -> None:
        row = db.execute(
            "SELECT state FROM sales WHERE merchant_payment_id=?", (sale.merchant_payment_id,)
        ).fetchone()
        if row is None or row[0] != sale.state.value:  # a transition, not a poll or a retry
            self._add(db, KIND_SALE, sale_data(sale), now)

    def refund_saved(self, db: sqlite3.Connection, merchant_refund_id: str, now: float) -> None:
        row = db.execute(
            "SELECT merchant_refund_id, merchant_payment_id, payment_id, amount_yen, status"
            " FROM refunds WHERE merchant_refund_id=?",
            (merchant_refund_id,),
        ).fetchone()
        if row is not None:
            names = ("merchant_refund_id", "merchant_payment_id", "payment_id", "amount_yen")
            self._add(
                db, KIND_REFUND, {**dict(zip(names, row[:4], strict=True)), "status": row[4]}, now
            )

    def fact(self, db: sqlite3.Connection, kind: str, data: dict[str, Any], now: float) -> None:
        self._add(db, kind, data, now)

    def _add(self, db: sqlite3.Connection, kind: str, data: dict[str, Any], now: float) -> None:
        db.execute(
            "INSERT INTO outbox (key, kind, at, data) VALUES (?,?,?,?)",
            (self.new_key(), kind, now, json.dumps(data, sort_keys=True)),
        )


@dataclass(frozen=True)
class Row:
    seq: int
    key: str
    kind: str
    at: float
    data: dict[str, Any]

    def event(self, kiosk: str) -> Event:
        return Event(kiosk, self.seq, self.key, self.kind, self.at, self.data)


class OutboxReader:
    """The publisher's own connection to the journal file (WAL: reading never waits for the
    engine; marking rows sent is one short transaction per batch of acknowledgements)."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA synchronous=FULL")
        tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master")}
        if "outbox" not in tables:
            self._db.close()
            raise ValueError(f"{path} has no outbox table: open it as a Journal first")

    def unsent(self, after_seq: int, limit: int) -> list[Row]:
        rows = self._db.execute(
            "SELECT seq, key, kind, at, data FROM outbox WHERE sent_at IS NULL AND seq>?"
            " ORDER BY seq LIMIT ?",
            (after_seq, limit),
        ).fetchall()
        return [Row(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]

    def backlog(self) -> int:
        return int(
            self._db.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
        )

    def mark_sent(self, seqs: Iterable[int], now: float) -> None:
        batch = [(now, s) for s in seqs]
        if not batch:
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany("UPDATE outbox SET sent_at=? WHERE seq=?", batch)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def unmark(self, from_seq: int, to_seq: int) -> int:
        """Send rows [from_seq, to_seq] again (the hub never got them); returns how many are
        still here to send."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute(
                "UPDATE outbox SET sent_at=NULL WHERE seq BETWEEN ? AND ?", (from_seq, to_seq)
            )
            found = self._db.execute(
                "SELECT count(*) FROM outbox WHERE seq BETWEEN ? AND ?", (from_seq, to_seq)
            ).fetchone()[0]
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return int(found)

    def prune(self, before_at: float) -> int:
        """Forget rows sent before `before_at` (kept meanwhile so a hub could ask again)."""
        cur = self._db.execute(
            "DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at<?", (before_at,)
        )
        return cur.rowcount

    def close(self) -> None:
        self._db.close()
