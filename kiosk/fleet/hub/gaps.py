"""Gap repair: facts the broker acknowledged but never delivered to the hub are asked for again.

Why: a kiosk marks a row sent on the broker's PUBACK, but a broker that crashes before saving
its queue, or a hub session that did not exist yet, loses a fact the kiosk believes delivered.
The kiosk keeps sent rows for days (`keep_s`) and every row of its journal has the next `seq`,
so a missing seq is visible: the hub asks for that range again with a `replay` command, and
the ledger's idempotency key makes whatever arrives twice harmless. Invariants: only a gap
whose later neighbour arrived more than `grace_s` ago is asked for (facts may be in flight),
at most once per `retry_s` per kiosk; `kiosks.contiguous_seq` only grows, so each check reads
only the events above it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kiosk.fleet.hub.ledger import Db, ts


@dataclass(frozen=True)
class Gap:
    kiosk: str
    from_seq: int
    to_seq: int


def find_gaps(db: Db, now: float, grace_s: float) -> list[Gap]:
    gaps: list[Gap] = []
    old_enough = ts(now - grace_s)
    with db.transaction():
        kiosks = db.execute("SELECT kiosk, contiguous_seq FROM kiosks").fetchall()
        for kiosk, done in kiosks:
            rows: list[tuple[int, datetime]] = db.execute(
                "SELECT seq, min(received_at) FROM events WHERE kiosk=%s AND seq>%s"
                " GROUP BY seq ORDER BY seq",
                (kiosk, done),
            ).fetchall()
            expected = done + 1
            first_gap: int | None = None
            for seq, received in rows:
                if seq > expected:
                    first_gap = expected if first_gap is None else first_gap
                    if received < old_enough:
                        gaps.append(Gap(kiosk, expected, seq - 1))
                expected = max(expected, seq + 1)
            contiguous = (first_gap - 1) if first_gap is not None else expected - 1
            if contiguous > done:
                db.execute(
                    "UPDATE kiosks SET contiguous_seq=%s WHERE kiosk=%s", (contiguous, kiosk)
                )
    return gaps
