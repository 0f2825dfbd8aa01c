"""`python -m tests.ops.at_barrier refund MPID ...`: the real `kiosk refund` command, held at a
barrier just before it records the refund (start-up, configuration, journal and lock done): it
says "ready" on stdout and goes on when a line arrives on stdin. Two processes released
together then race on the journal's write transaction itself, not on their start-up times."""

from __future__ import annotations

import sys

from kiosk import cli
from kiosk.commands import refundcmd
from kiosk.engine.journal import Journal, RefundRow

record_refund = refundcmd.record_refund


def record_at_barrier(journal: Journal, mpid: str, amount_yen: int | None) -> RefundRow:
    print("ready", flush=True)
    sys.stdin.readline()
    return record_refund(journal, mpid, amount_yen)


if __name__ == "__main__":
    refundcmd.record_refund = record_at_barrier
    raise SystemExit(cli.main(sys.argv[1:]))
