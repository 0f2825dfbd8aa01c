"""The hub's PostgreSQL ledger: every kiosk fact, written idempotently.

Why / invariants:
- one transaction per fact; the event row's primary key (kiosk, key) makes a redelivered or
  replayed fact change nothing (`ON CONFLICT DO NOTHING`), however often it comes;
- facts are accepted whatever their age or order: a sale's row keeps the state of the highest
  `seq` seen, so a late older fact is recorded in `events` but never rolls a sale back;
- money is read only from `sales` and `refunds`; kiosk state (`kiosks`) is what the status
  page and the alerts read;
- a payload that cannot be read is kept in `rejected` with the reason, never dropped silently.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from kiosk.fleet.schema import (
    KIND_HEALTH,
    KIND_REFUND,
    KIND_REPLY,
    KIND_SALE,
    KIND_SERVICE,
    Event,
)

log = logging.getLogger(__name__)
Db = psycopg.Connection[Any]


def ts(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@dataclass(frozen=True)
class Ingested:
    new: bool  # False: a duplicate, nothing changed
    held: str | None = None  # a sale now HELD (merchant_payment_id)
    settled: str | None = None  # a sale that left HELD


class Ledger:
    """One connection; callers serialise (the hub's ingest thread owns one Ledger)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.db: Db = psycopg.connect(dsn)

    def close(self) -> None:
        self.db.close()

    def ingest(self, event: Event, received_at: float) -> Ingested:
        with self.db.transaction():
            inserted = self.db.execute(
                "INSERT INTO events (kiosk, key, seq, kind, at, received_at, data)"
                " VALUES (%s,%s,%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING RETURNING key",
                (
                    event.kiosk,
                    event.key,
                    event.seq,
                    event.kind,
                    ts(event.at),
                    ts(received_at),
                    Jsonb(event.data),
                ),
            ).fetchone()
            self._seen(event.kiosk, received_at, event.seq)
            if inserted is None:
                return Ingested(new=False)
            return _APPLY[event.kind](self.db, event)

    def heard(self, kiosk: str, received_at: float, online: bool = True) -> None:
        """A live status message from `kiosk`: it is alive at `received_at`."""
        with self.db.transaction():
            self._seen(kiosk, received_at, 0)

    def set_online(self, kiosk: str, online: bool) -> None:
        """A last will (offline) or a retained status: no sign of life by itself."""
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO kiosks (kiosk, online) VALUES (%s, %s)"
                " ON CONFLICT (kiosk) DO UPDATE SET online=excluded.online",
                (kiosk, online),
            )

    def reject(self, topic: str, error: str, payload: bytes) -> None:
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO rejected (topic, error, payload) VALUES (%s,%s,%s)",
                (topic, error, payload[:4000].decode("utf-8", "replace")),
            )

    def _seen(self, kiosk: str, received_at: float, seq: int) -> None:
        self.db.execute(
            "INSERT INTO kiosks (kiosk, online, last_seen, last_seq) VALUES (%s, true, %s, %s)"
            " ON CONFLICT (kiosk) DO UPDATE SET online=true,"
            " last_seen=GREATEST(kiosks.last_seen, excluded.last_seen),"
            " last_seq=GREATEST(kiosks.last_seq, excluded.last_seq)",
            (kiosk, ts(received_at), seq),
        )


def _sale(db: Db, e: Event) -> Ingested:
    d = e.data
    row = db.execute(
        "INSERT INTO sales AS s (kiosk, merchant_payment_id, amount_yen, description, state,"
        " paid, payment_id, created_at, updated_at, seq) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"
        " ON CONFLICT (kiosk, merchant_payment_id) DO UPDATE SET state=excluded.state,"
        " paid=excluded.paid, payment_id=excluded.payment_id, updated_at=excluded.updated_at,"
        " seq=excluded.seq WHERE s.seq < excluded.seq"
        " RETURNING state",
        (
            e.kiosk,
            d["merchant_payment_id"],
            d["amount_yen"],
            str(d.get("description") or ""),
            d["state"],
            d["paid"],
            d.get("payment_id"),
            ts(float(d["created_at"])),
            ts(e.at),
            e.seq,
        ),
    ).fetchone()
    if row is None:  # an older fact than the one stored: recorded in events only
        return Ingested(new=True)
    mpid = str(d["merchant_payment_id"])
    if row[0] == "HELD":
        return Ingested(new=True, held=mpid)
    return Ingested(new=True, settled=mpid)


def _refund(db: Db, e: Event) -> Ingested:
    d = e.data
    db.execute(
        "INSERT INTO refunds AS r (kiosk, merchant_refund_id, merchant_payment_id, amount_yen,"
        " status, at, seq) VALUES (%s,%s,%s,%s,%s,%s,%s)"
        " ON CONFLICT (kiosk, merchant_refund_id) DO UPDATE SET status=excluded.status,"
        " at=excluded.at, seq=excluded.seq WHERE r.seq < excluded.seq",
        (
            e.kiosk,
            d["merchant_refund_id"],
            d["merchant_payment_id"],
            d["amount_yen"],
            d["status"],
            ts(e.at),
            e.seq,
        ),
    )
    return Ingested(new=True)


def _service(db: Db, e: Event) -> Ingested:
    db.execute(
        "UPDATE kiosks SET out_of_service=%s, out_of_service_reason=%s, service_seq=%s"
        " WHERE kiosk=%s AND service_seq < %s",
        (e.data["out_of_service"], str(e.data.get("reason") or ""), e.seq, e.kiosk, e.seq),
    )
    return Ingested(new=True)


def _health(db: Db, e: Event) -> Ingested:
    db.execute(
        "UPDATE kiosks SET held=%s, backlog=%s, screen=%s, health_seq=%s"
        " WHERE kiosk=%s AND health_seq < %s",
        (
            e.data["held"],
            e.data["backlog"],
            str(e.data.get("screen") or ""),
            e.seq,
            e.kiosk,
            e.seq,
        ),
    )
    return Ingested(new=True)


def _reply(db: Db, e: Event) -> Ingested:
    log.info(
        "hub command reply id=%s kiosk=%s result=%s reason=%s",
        e.data["command_id"],
        e.kiosk,
        e.data["result"],
        e.data.get("reason") or "-",
    )
    db.execute(
        "UPDATE commands SET result=%s, reason=%s, replied_at=%s WHERE command_id=%s AND kiosk=%s",
        (
            e.data["result"],
            str(e.data.get("reason") or ""),
            ts(e.at),
            e.data["command_id"],
            e.kiosk,
        ),
    )
    return Ingested(new=True)


_APPLY = {
    KIND_SALE: _sale,
    KIND_REFUND: _refund,
    KIND_SERVICE: _service,
    KIND_HEALTH: _health,
    KIND_REPLY: _reply,
}
