"""The relay's shared state in PostgreSQL: keys, nonces, rate windows, what kiosks own.

Why the database and not memory: two relays behind a load balancer must refuse the same
replayed nonce, count the same rate window and the same day's refunds, and stop a revoked key
at once; so everything a decision needs is read or written here, in one transaction per step.
Invariants: a secret is stored only sealed (kiosk.fleet.relay.sealing); a refund's amount is
reserved under a per-kiosk advisory lock before it is forwarded, and released only when PayPay
refused it, so two concurrent refunds cannot both spend the same yen.
"""

from __future__ import annotations

import queue
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg

from kiosk.fleet.relay.scope import Call, out_of_scope, refund_limit
from kiosk.fleet.relay.sealing import Sealer

NONCE_KEEP_S = (
    1260  # a nonce may be replayed until its epoch is max skew (<= 600 s) behind: 2 x 600 + prune
)


@dataclass(frozen=True)
class KeyRow:
    key_id: str
    kiosk: str
    sealed: bytes = field(repr=False)
    rate_per_min: int
    daily_refund_limit_yen: int
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class Issued:
    key_id: str
    kiosk: str
    secret: str = field(repr=False)  # shown once, then only sealed in the database


def _ts(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class Store:
    """A small pool of connections (one per concurrent request) to the ledger database."""

    def __init__(self, dsn: str, size: int = 8) -> None:
        self.dsn = dsn
        self._pool: queue.LifoQueue[psycopg.Connection[Any]] = queue.LifoQueue()
        self._size = size
        self._recorded: set[str] = set()  # payment ids written (a cache of facts, not state)

    def close(self) -> None:
        while not self._pool.empty():
            self._pool.get_nowait().close()

    @contextmanager
    def db(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            conn = self._pool.get_nowait()
        except queue.Empty:
            conn = psycopg.connect(self.dsn, autocommit=True)
        try:
            yield conn
        except psycopg.OperationalError:
            conn.close()
            raise
        finally:  # also after a Refusal raised inside a transaction (rolled back by then)
            if conn.closed or conn.broken or self._pool.qsize() >= self._size:
                conn.close()
            else:
                self._pool.put(conn)

    # ---- keys (kiosk hub keys ...) --------------------------------------------------------

    def issue(self, sealer: Sealer, kiosk: str, rate_per_min: int, limit_yen: int) -> Issued:
        key_id = "rk_" + secrets.token_hex(12)
        secret = secrets.token_urlsafe(32)
        with self.db() as db:
            db.execute(
                "INSERT INTO relay_keys (key_id, kiosk, secret_sealed, rate_per_min,"
                " daily_refund_limit_yen) VALUES (%s,%s,%s,%s,%s)",
                (key_id, kiosk, sealer.seal(key_id, secret), rate_per_min, limit_yen),
            )
        return Issued(key_id, kiosk, secret)

    def list_keys(self) -> list[KeyRow]:
        with self.db() as db:
            rows = db.execute(
                "SELECT key_id, kiosk, secret_sealed, rate_per_min, daily_refund_limit_yen,"
                " created_at, revoked_at FROM relay_keys ORDER BY kiosk, created_at"
            ).fetchall()
        return [KeyRow(*r) for r in rows]

    def key(self, key_id: str) -> KeyRow | None:
        with self.db() as db:
            row = db.execute(
                "SELECT key_id, kiosk, secret_sealed, rate_per_min, daily_refund_limit_yen,"
                " created_at, revoked_at FROM relay_keys WHERE key_id = %s",
                (key_id,),
            ).fetchone()
        return KeyRow(*row) if row else None

    def kiosks(self) -> list[str]:
        with self.db() as db:
            return [str(r[0]) for r in db.execute("SELECT DISTINCT kiosk FROM relay_keys")]

    def revoke(self, key_id: str, now: float) -> bool:
        """Revoke one key (or every key of a kiosk when `key_id` names a kiosk)."""
        with self.db() as db:
            cur = db.execute(
                "UPDATE relay_keys SET revoked_at = %s WHERE (key_id = %s OR kiosk = %s)"
                " AND revoked_at IS NULL",
                (_ts(now), key_id, key_id),
            )
            return cur.rowcount > 0

    def rotate(self, sealer: Sealer, key_id: str, now: float) -> Issued | None:
        """A new key for the same kiosk and limits; the old one stops working at once."""
        old = self.key(key_id)
        if old is None or old.revoked_at is not None:
            return None
        new = self.issue(sealer, old.kiosk, old.rate_per_min, old.daily_refund_limit_yen)
        self.revoke(key_id, now)
        return new

    def set_limits(self, key_id: str, rate_per_min: int | None, limit_yen: int | None) -> bool:
        with self.db() as db:
            cur = db.execute(
                "UPDATE relay_keys SET rate_per_min = coalesce(%s, rate_per_min),"
                " daily_refund_limit_yen = coalesce(%s, daily_refund_limit_yen)"
                " WHERE key_id = %s OR kiosk = %s",
                (rate_per_min, limit_yen, key_id, key_id),
            )
            return cur.rowcount > 0

    # ---- each call -------------------------------------------------------------------------

    def admit(self, key_id: str, nonce: str, now: float) -> tuple[bool, int]:
        """Record the nonce (False: seen before) and count the call in its minute window."""
        window = int(now // 60)
        with self.db() as db:  # one statement: one round trip, atomic
            row = db.execute(
                "WITH n AS (INSERT INTO relay_nonces (key_id, nonce, seen_at) VALUES (%s,%s,%s)"
                " ON CONFLICT DO NOTHING RETURNING 1),"
                " r AS (INSERT INTO relay_rate (key_id, window_start, calls) VALUES (%s,%s,1)"
                " ON CONFLICT (key_id, window_start) DO UPDATE"
                " SET calls = relay_rate.calls + 1 RETURNING calls)"
                " SELECT (SELECT count(*) FROM n), (SELECT calls FROM r)",
                (key_id, nonce, _ts(now), key_id, window),
            ).fetchone()
        assert row is not None
        return int(row[0]) == 1, int(row[1])

    def prune(self, now: float) -> None:
        with self.db() as db:
            db.execute("DELETE FROM relay_nonces WHERE seen_at < %s", (_ts(now - NONCE_KEEP_S),))
            db.execute("DELETE FROM relay_rate WHERE window_start < %s", (int(now // 60) - 2,))

    def refused(self, key_id: str, kiosk: str, method: str, path: str, code: str, why: str) -> None:
        with self.db() as db:
            db.execute(
                "INSERT INTO relay_refusals (key_id, kiosk, method, path, code, reason)"
                " VALUES (%s,%s,%s,%s,%s,%s)",
                (key_id or None, kiosk or None, method, path[:200], code, why[:300]),
            )

    # ---- what kiosks own -------------------------------------------------------------------

    def record_code(self, code_id: str, merchant_payment_id: str, kiosk: str) -> None:
        with self.db() as db:
            db.execute(
                "INSERT INTO relay_codes (code_id, merchant_payment_id, kiosk) VALUES (%s,%s,%s)"
                " ON CONFLICT DO NOTHING",
                (code_id, merchant_payment_id, kiosk),
            )

    def code_owner(self, code_id: str) -> str | None:
        with self.db() as db:
            row = db.execute("SELECT kiosk FROM relay_codes WHERE code_id = %s", (code_id,))
            found = row.fetchone()
        return str(found[0]) if found else None

    def record_payment(self, payment_id: str, mpid: str, kiosk: str, amount: int) -> None:
        if payment_id in self._recorded:  # a paid sale is polled again: written once is enough
            return
        with self.db() as db:
            db.execute(
                "INSERT INTO relay_payments (payment_id, merchant_payment_id, kiosk, amount_yen)"
                " VALUES (%s,%s,%s,%s) ON CONFLICT DO NOTHING",
                (payment_id, mpid, kiosk, amount),
            )
        if len(self._recorded) > 10000:
            self._recorded.clear()
        self._recorded.add(payment_id)

    def payment_owner(self, payment_id: str) -> str | None:
        with self.db() as db:
            found = db.execute(
                "SELECT kiosk FROM relay_payments WHERE payment_id = %s", (payment_id,)
            ).fetchone()
        return str(found[0]) if found else None

    def reserve_refund(self, call: Call, key: KeyRow, day_start: float) -> None:
        """Refuse (Refusal) or reserve the refund's amount before it is forwarded. The same
        merchantRefundId again (a kiosk's retry) is the same refund: allowed as it was."""
        with self.db() as db, db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"relay:{key.kiosk}",))
            paid = db.execute(
                "SELECT kiosk, amount_yen FROM relay_payments WHERE payment_id = %s",
                (call.payment_id,),
            ).fetchone()
            if paid is None or paid[0] != key.kiosk:
                raise out_of_scope(f"payment {call.payment_id} is not a {key.kiosk} sale")
            again = db.execute(
                "SELECT payment_id, amount_yen FROM relay_refunds WHERE merchant_refund_id = %s",
                (call.owned_id,),
            ).fetchone()
            if again is not None:
                if tuple(again) != (call.payment_id, call.amount):
                    raise refund_limit(f"{call.owned_id} was asked before with other values")
                return
            (refunded,) = db.execute(
                "SELECT coalesce(sum(amount_yen), 0) FROM relay_refunds WHERE payment_id = %s",
                (call.payment_id,),
            ).fetchone() or (0,)
            left = int(paid[1]) - int(refunded)
            if call.amount > left:
                raise refund_limit(f"refund {call.amount} yen is more than the {left} yen left")
            (today,) = db.execute(
                "SELECT coalesce(sum(amount_yen), 0) FROM relay_refunds"
                " WHERE kiosk = %s AND requested_at >= %s",
                (key.kiosk, _ts(day_start)),
            ).fetchone() or (0,)
            if int(today) + call.amount > key.daily_refund_limit_yen:
                raise refund_limit(
                    f"refund {call.amount} yen would pass the daily limit of"
                    f" {key.daily_refund_limit_yen} yen ({today} yen refunded today)"
                )
            db.execute(
                "INSERT INTO relay_refunds (merchant_refund_id, payment_id, kiosk, amount_yen)"
                " VALUES (%s,%s,%s,%s)",
                (call.owned_id, call.payment_id, key.kiosk, call.amount),
            )

    def release_refund(self, merchant_refund_id: str) -> None:
        with self.db() as db:
            db.execute(
                "DELETE FROM relay_refunds WHERE merchant_refund_id = %s", (merchant_refund_id,)
            )
