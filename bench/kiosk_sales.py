"""The kiosk process the disk-write benchmark measures: the real `kiosk run` composition (dummy
video), which sells on command. Reads lines from stdin: `sell AMOUNT` begins a sale and answers
`bench: done PHASE` on stdout once it is final, and `bench: ready` comes first, when in service
(the kiosk's log lines share stdout; the reader skips them).

    python -m bench.kiosk_sales --config FILE
"""

from __future__ import annotations

import os
import sys
import threading
import time

from kiosk import cli
from kiosk.commands.common import load_settings
from kiosk.commands.run import run_kiosk
from kiosk.domain import FINAL_PHASES, Order
from kiosk.engine.runner import Runner
from kiosk.ops.logs import Redactor


def answer(line: str) -> None:
    sys.stdout.write(f"bench: {line}\n")
    sys.stdout.flush()


def serve(runner: Runner) -> None:
    while runner.service_issue() is not None:
        time.sleep(0.05)
    answer("ready")
    for line in sys.stdin:
        amount_yen = int(line.split()[1])
        while True:
            try:
                runner.begin_sale(Order.of_amount(amount_yen, "Coffee"))
                break
            except ValueError:  # the screen still shows the last result
                time.sleep(0.1)
        while (view := runner.current_sale()) is None or view.phase not in FINAL_PHASES:
            time.sleep(0.05)
        answer(f"done {view.phase.value}")


def main() -> int:
    args = cli.build_parser().parse_args(["run", *sys.argv[1:]])
    config = load_settings(args, os.environ)
    return run_kiosk(
        config,
        Redactor(),
        env=os.environ,
        demo=cli.demo_auth,
        start_simulator=cli.start_demo_simulator,
        after_start=lambda runner: threading.Thread(
            target=serve, args=(runner,), daemon=True
        ).start(),
    )


if __name__ == "__main__":
    raise SystemExit(main())
