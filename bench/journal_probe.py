"""Time what the kiosk and the operator do with a big journal (a child of bench_journal).

`python -m bench.journal_probe start|list PATH`: one JSON line of milliseconds, timed inside a
fresh process (the interpreter's own start is not the journal's cost).
- start: open read-write (as `kiosk run`), the unfinished, held and open-refund lookups that
  reconciliation and the idle loop make, the last 20 sales and today's totals;
- list: open read-only (as `kiosk journal list`) and the newest 20 sales.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from kiosk.engine import reconcile
from kiosk.engine.journal import Journal


def start(path: Path) -> dict[str, object]:
    began = time.perf_counter()
    journal = Journal(path)
    opened = time.perf_counter()
    unfinished = reconcile.recover(journal)
    held = journal.held_sales()
    refunds = journal.open_refunds()
    recent = journal.recent_sales(20)
    newest = recent[0].created_at if recent else 0.0
    totals = journal.totals(newest - 86400, newest + 1)
    done = time.perf_counter()
    journal.close()
    return {
        "ms": (done - began) * 1000,
        "open_ms": (opened - began) * 1000,
        "unfinished": len(unfinished),
        "held": len(held),
        "open_refunds": len(refunds),
        "recent": len(recent),
        "day_sales": totals.count,
    }


def listing(path: Path) -> dict[str, object]:
    began = time.perf_counter()
    journal = Journal(path, readonly=True)
    rows = list(journal.sale_records(limit=20))
    done = time.perf_counter()
    journal.close()
    return {"ms": (done - began) * 1000, "rows": len(rows)}


if __name__ == "__main__":
    probe = {"start": start, "list": listing}[sys.argv[1]]
    print(json.dumps(probe(Path(sys.argv[2]))))
