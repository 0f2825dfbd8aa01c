"""The fleet soak's audit: every kiosk journal against the hub's PostgreSQL ledger.

- lost: outbox rows (facts) the ledger never recorded, plus sales whose final state or amount
  in the ledger differs from the kiosk's journal (or that are missing);
- duplicated: ledger facts or sales no journal has (a fact counted twice would show here, and
  in the yen difference);
- yen difference: paid-and-kept yen in the journals minus in the ledger, per kiosk, summed in
  absolute value;
- silent alert max s: for each SIGKILLed kiosk, from the kill to the hub's silent alert;
- backlog drain max msg/s per kiosk: the most outbox rows one kiosk had acknowledged by the
  broker within one second (its publisher's rate cap at work after the outage).
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import psycopg

KEPT = ("SUCCEEDED", "HELD")
SILENT_LIMIT_S = 90.0


@dataclass(frozen=True)
class Report:
    kiosks: int
    sales: int
    lost: int
    duplicated: int
    yen_difference: int
    silent_max_s: float
    drain_max_rate: int

    @property
    def ok(self) -> bool:
        return (
            self.lost == 0
            and self.duplicated == 0
            and self.yen_difference == 0
            and self.silent_max_s <= SILENT_LIMIT_S
        )

    def line(self) -> str:
        return (
            f"kiosks: {self.kiosks}, sales: {self.sales}, ledger lost: {self.lost}, "
            f"duplicated: {self.duplicated}, yen difference: {self.yen_difference}, "
            f"silent alert max s: {self.silent_max_s:.0f}, "
            f"backlog drain max msg/s per kiosk: {self.drain_max_rate}"
        )


def _read(path: Path, sql: str) -> list[tuple[object, ...]]:
    if not path.exists():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def outbox_rows(path: Path) -> list[tuple[object, ...]]:
    """(seq, key, sent_at) of every outbox row of one kiosk journal."""
    return _read(path, "SELECT seq, key, sent_at FROM outbox")


def audit(kiosk_dir: Path, dsn: str, kiosks: list[str], killed_at: dict[str, float]) -> Report:
    lost = duplicated = yen = sales = drain = 0
    with psycopg.connect(dsn) as db:
        for kiosk in kiosks:
            path = kiosk_dir / f"{kiosk}.sqlite3"
            rows = outbox_rows(path)
            keys = {str(r[1]) for r in rows}
            ledger_keys = {
                str(r[0]) for r in db.execute("SELECT key FROM events WHERE kiosk=%s", (kiosk,))
            }
            lost += len(keys - ledger_keys)
            duplicated += len(ledger_keys - keys)
            mine = {
                str(m): (str(s), int(str(a)))
                for m, s, a in _read(
                    path, "SELECT merchant_payment_id, state, amount_yen FROM sales"
                )
            }
            theirs = {
                str(m): (str(s), int(a))
                for m, s, a in db.execute(
                    "SELECT merchant_payment_id, state, amount_yen FROM sales WHERE kiosk=%s",
                    (kiosk,),
                )
            }
            sales += len(mine)
            lost += sum(1 for m, v in mine.items() if theirs.get(m) != v)
            duplicated += len(set(theirs) - set(mine))
            kept_here = sum(a for s, a in mine.values() if s in KEPT)
            kept_there = sum(a for s, a in theirs.values() if s in KEPT)
            yen += abs(kept_here - kept_there)
            per_second = Counter(int(float(str(r[2]))) for r in rows if r[2] is not None)
            drain = max(drain, max(per_second.values(), default=0))
        silent = 0.0
        for kiosk, at in killed_at.items():
            row = db.execute(
                "SELECT min(extract(epoch FROM raised_at)) FROM alerts WHERE kiosk=%s"
                " AND kind='silent' AND raised_at >= to_timestamp(%s)",
                (kiosk, at),
            ).fetchone()
            delay = float(row[0]) - at if row and row[0] is not None else float("inf")
            silent = max(silent, delay)
    return Report(len(kiosks), sales, lost, duplicated, yen, silent, drain)
