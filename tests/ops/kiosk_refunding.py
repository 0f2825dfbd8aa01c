"""The real `kiosk run` composition with a stand-in for the attendant's Refund button (a
dummy screen cannot be tapped): the test writes a merchantPaymentId on stdin, and a thread
calls `Runner.refund` with it, as the attendant screen does. What came of it is written, one
line each, on the file descriptor $TEST_REPORT_FD: `ready`, then `recorded MPID` or `refused
MPID REASON`. Reading stdin is the barrier: the test releases this and a `kiosk refund` at once.

    python -m tests.ops.kiosk_refunding --config FILE
"""

from __future__ import annotations

import os
import sys
import threading
import time

from kiosk import cli
from kiosk.commands.common import load_settings
from kiosk.commands.run import run_kiosk
from kiosk.engine.refunds import RefundRefused
from kiosk.engine.runner import Runner
from kiosk.ops.logs import Redactor


def attendant(runner: Runner, report: int) -> None:
    def say(line: str) -> None:
        os.write(report, f"{line}\n".encode())

    deadline = time.monotonic() + 30
    while runner.service_issue() is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    say("ready")
    for line in sys.stdin:
        mpid = line.strip()
        try:
            runner.refund(mpid)
        except RefundRefused as refused:  # what the attendant screen shows
            say(f"refused {mpid} {refused.reason}")
        else:
            say(f"recorded {mpid}")


def main() -> int:
    args = cli.build_parser().parse_args(["run", *sys.argv[1:]])
    report = int(os.environ["TEST_REPORT_FD"])

    def begin(runner: Runner) -> None:
        threading.Thread(target=attendant, args=(runner, report), daemon=True).start()

    return run_kiosk(
        load_settings(args, os.environ),
        Redactor(),
        env=os.environ,
        demo=cli.demo_auth,
        start_simulator=cli.start_demo_simulator,
        after_start=begin,
    )


if __name__ == "__main__":
    raise SystemExit(main())
