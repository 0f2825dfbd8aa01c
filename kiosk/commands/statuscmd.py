"""`kiosk status`: what the running kiosk wrote in its status file, and whether it is fresh."""

from __future__ import annotations

import argparse
import os
import sys
import time

from kiosk.commands.common import CommandError, ExitCode, load_settings, say, state_path
from kiosk.domain import time_zone
from kiosk.ops.status import FILENAME, StatusError, describe, is_running, read_status


def run_status(args: argparse.Namespace) -> int:
    config = load_settings(args, os.environ)
    path = state_path(config, os.environ) / FILENAME
    try:
        status = read_status(path)
    except StatusError as exc:
        raise CommandError(ExitCode.FAILED, str(exc)) from None
    now = time.time()
    if args.json:
        sys.stdout.write(status.to_json() + "\n")
    else:
        for line in describe(status, now, time_zone(config.display_time_zone)):
            say(line)
    if not is_running(status, now):
        say("the kiosk is not running: systemctl status kiosk; journalctl -u kiosk -n 50", err=True)
        return ExitCode.FAILED
    return ExitCode.OK if status.healthy else ExitCode.FAILED
