"""`kiosk doctor`: run every check from `kiosk.ops.doctor` against this machine and print a
green or red line for each. Exit 0 when all pass, 1 otherwise."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from kiosk.commands.common import (
    CommandError,
    ExitCode,
    load_secrets,
    load_settings,
    require_credentials,
    say,
    state_path,
)
from kiosk.commands.paypay import DemoAuth, make_client
from kiosk.config import Config, VendAdapter
from kiosk.hardware.mdb.driver import hat_version
from kiosk.ops.doctor import (
    Check,
    check_clock,
    check_disk,
    check_display,
    check_font,
    check_input,
    check_journal,
    check_mdb,
    check_paypay,
    guarded,
)
from kiosk.ops.logs import Redactor
from kiosk.resources import assets_dir

JOURNAL_FILENAME = "journal.sqlite3"
SYNC_FLAG = Path("/run/systemd/timesync/synchronized")
PROBE_ID = "kiosk-doctor-probe-0"  # never created, so PayPay answers "not found" when it's us


def timedatectl() -> str | None:
    try:
        done = subprocess.run(
            ["timedatectl", "show", "--property=NTPSynchronized", "--value"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def paypay_probe(
    config: Config, redactor: Redactor, demo: Callable[[], DemoAuth] | None
) -> tuple[str, Callable[[], object] | None]:
    """(what is probed, a harmless signed call: the status of a payment that does not
    exist), or no call in demo mode with the built-in simulator."""
    credentials = load_secrets(os.environ)
    require_credentials(config, credentials)
    if credentials is not None:
        for value in credentials.values:
            redactor.add(value)
    client, target = make_client(config, credentials, demo)
    if client is None:
        return target, None

    def probe() -> object:
        with client:  # one call, then the connection is closed
            return client.Code.get_payment_details(PROBE_ID)

    return target, probe


def checks(
    config: Config,
    redactor: Redactor,
    demo: Callable[[], DemoAuth] | None,
    deep: bool = False,
) -> list[Check]:
    state = state_path(config, os.environ)
    found = [
        guarded("display", lambda: check_display(os.environ, Path("/dev/dri"))),
        guarded("input", lambda: check_input(Path("/dev/input"))),
        guarded("font", lambda: check_font(assets_dir() / "fonts")),
        guarded("clock", lambda: check_clock(SYNC_FLAG, timedatectl)),
    ]
    try:
        target, probe = paypay_probe(config, redactor, demo)
        found.append(guarded("paypay", lambda: check_paypay(target, probe)))
    except CommandError as exc:
        found.append(Check("paypay", False, exc.message))
    if config.vend.adapter is VendAdapter.MDB:
        port = config.mdb.port
        found.append(guarded("mdb", lambda: check_mdb(port, lambda: hat_version(port))))
    found.append(guarded("disk", lambda: check_disk(state)))
    found.append(guarded("journal", lambda: check_journal(state / JOURNAL_FILENAME, deep)))
    return found


def run_doctor(
    args: argparse.Namespace, redactor: Redactor, demo: Callable[[], DemoAuth] | None
) -> int:
    config = load_settings(args, os.environ)
    color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
    results = checks(config, redactor, demo, deep=args.deep)
    for result in results:
        say(redactor(result.line(color)))
    failed = [r.name for r in results if not r.ok]
    if failed:
        say(f"{len(failed)} problem(s): {', '.join(failed)}", err=True)
        return ExitCode.FAILED
    return ExitCode.OK
