"""`kiosk reconcile`: settle every unfinished sale and open refund with PayPay, now.

Why only while the kiosk is stopped: reconciliation treats every unfinished sale as abandoned
(it deletes live QRs), which is right after a crash and wrong for the sale a running kiosk is
showing. The running kiosk reconciles at each start and from the attendant menu. This command
holds the run lock, so no kiosk starts halfway through.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

from kiosk.commands.common import (
    CommandError,
    ExitCode,
    load_secrets,
    load_settings,
    require_credentials,
    say,
    state_path,
)
from kiosk.commands.journalcmd import open_journal
from kiosk.commands.paypay import DemoAuth, make_client
from kiosk.commands.settings import to_sale_settings
from kiosk.domain import ReconcileSummary
from kiosk.engine.clock import SystemClock
from kiosk.engine.runner import Runner
from kiosk.hardware.vend import NoVendor
from kiosk.ops.lock import KioskLock
from kiosk.ops.logs import Redactor

WAIT_S = 120.0
STOP_S = 45.0


def run_reconcile(
    args: argparse.Namespace, redactor: Redactor, demo: Callable[[], DemoAuth] | None
) -> int:
    config = load_settings(args, os.environ)
    credentials = load_secrets(os.environ)
    require_credentials(config, credentials)
    for value in credentials.values if credentials else ():
        redactor.add(value)
    with open_journal(args) as journal:
        lock = KioskLock(state_path(config, os.environ, announce=False))
        if not lock.acquire():
            raise CommandError(
                ExitCode.FAILED,
                "the kiosk is running and reconciles by itself (at start, and from the "
                "attendant menu); to run this command stop it first: systemctl stop kiosk",
            )
        try:
            client, target = make_client(config, credentials, demo)
            if client is None:
                raise CommandError(
                    ExitCode.CONFIG,
                    "demo mode with the built-in simulator: nothing outside kiosk run to "
                    "reconcile against; set [simulator] url or start the kiosk",
                )
            # a recovered sale is never vended (the customer has gone): no vend adapter
            runner = Runner(
                client=client,
                journal=journal,
                vendor=NoVendor(),
                settings=to_sale_settings(config),
                clock=SystemClock(),
            )
            say(f"reconciling against {target} ...", err=True)
            runner.start()
            try:
                summary = _wait(runner)
            finally:
                runner.stop(STOP_S)
                client.close()
        finally:
            lock.release()
    if summary is None:
        raise CommandError(
            ExitCode.UNKNOWN,
            f"some sales are still unsettled after {WAIT_S:.0f} s (is PayPay reachable? "
            "run kiosk doctor); they stay recorded: run kiosk reconcile again later",
        )
    for line in summary.lines:
        say(line)
    say(f"{summary.settled} settled, {summary.unresolved} unresolved, {summary.held} held")
    if summary.held:
        say("held sales wait for the attendant: hand the goods out or refund them", err=True)
    return ExitCode.OK if summary.unresolved == 0 else ExitCode.UNKNOWN


def _wait(runner: Runner) -> ReconcileSummary | None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        runner.pump()
        summary = runner.last_reconcile_summary()
        if summary is not None:
            return summary
        time.sleep(0.2)
    return None
