"""The process the SIGTERM and secret-scan tests start: the real `kiosk run` composition, which
begins one sale as soon as the kiosk is in service (a customer cannot tap a dummy screen).

    python -m tests.ops.kiosk_with_sale AMOUNT_YEN --config FILE    (0: no sale)

With $TEST_TYPE_PIN set, a thread then types that PIN on the attendant PIN pad (F12, digits,
Enter) the way a keyboard would, so the real PIN path runs and its logs can be searched; several
PINs separated by commas are typed one after the other. The log line `test_pins_typed` follows.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time

from kiosk import cli
from kiosk.commands.common import load_settings
from kiosk.commands.run import run_kiosk
from kiosk.domain import Order
from kiosk.engine.runner import Runner
from kiosk.ops.logs import Redactor


def type_pins(pins: list[str]) -> None:
    import pygame

    time.sleep(1.0)
    for pin in pins:
        keys = [pygame.K_F12, *(pygame.K_0 + int(d) for d in pin), pygame.K_RETURN]
        for key in keys:
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode=""))
            time.sleep(0.05)
        time.sleep(0.5)  # the check's verdict, before the next PIN
    logging.getLogger("tests").warning("test_pins_typed count=%d", len(pins))


def main() -> int:
    amount_yen = int(sys.argv[1])
    args = cli.build_parser().parse_args(["run", *sys.argv[2:]])

    def begin(runner: Runner) -> None:
        pins = os.environ.get("TEST_TYPE_PIN")
        if amount_yen:  # 0: just run (and reconcile at start)
            sell(runner)
        if pins:
            threading.Thread(target=type_pins, args=(pins.split(","),), daemon=True).start()

    def sell(runner: Runner) -> None:
        deadline = time.monotonic() + 30
        while runner.service_issue() is not None:
            if time.monotonic() > deadline:
                raise SystemExit(f"never in service: {runner.service_issue()}")
            time.sleep(0.05)
        runner.begin_sale(Order.of_amount(amount_yen, "Coffee"))

    config = load_settings(args, os.environ)
    return run_kiosk(
        config,
        Redactor(),
        env=os.environ,
        demo=cli.demo_auth,
        start_simulator=cli.start_demo_simulator,
        after_start=begin,
    )


if __name__ == "__main__":
    raise SystemExit(main())
