"""What every subcommand shares: exit codes, errors that say what to do next, and loading the
configuration and credentials the same way `kiosk run` does."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from enum import IntEnum
from pathlib import Path

from kiosk.config import Config, ConfigError, choose_path, load_config, state_dir_source
from kiosk.ops.secrets import Credentials, SecretError, load_credentials


def say(text: str = "", *, err: bool = False) -> None:
    """One line to the operator: stdout for results, stderr (err=True) for advice."""
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n")
    stream.flush()


class ExitCode(IntEnum):
    """Documented in `kiosk --help` and docs/troubleshooting.md; scripts may rely on them."""

    OK = 0
    FAILED = 1  # a check found a problem (doctor, status, a PIN mismatch)
    USAGE = 2  # bad command line
    CONFIG = 3  # configuration or credentials
    JOURNAL = 4  # the journal is missing, locked or damaged, or its disk is full
    PAYPAY = 5  # PayPay refused the request or could not be reached
    UNKNOWN = 6  # PayPay may or may not have done it: run `kiosk reconcile`
    ENGINE = 7  # `kiosk run`: the sale engine stopped on an error; systemd restarts the kiosk
    INTERRUPTED = 130


EXIT_CODES_HELP = """exit codes:
  0  success
  1  a check found a problem (doctor, status, PIN mismatch)
  2  usage: bad command line
  3  configuration or credentials problem: fix it, then `kiosk check-config`
  4  journal problem: missing, locked, damaged or its disk full (`kiosk doctor`)
  5  PayPay refused the request or could not be reached
  6  outcome unknown at PayPay: run `kiosk reconcile` before retrying
  7  kiosk run: the sale engine stopped on an error (logged); systemd restarts the kiosk
"""


class CommandError(Exception):
    """Ends a command with ``code``; ``message`` says what went wrong and what to do next."""

    def __init__(self, code: ExitCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def load_settings(args: argparse.Namespace, env: Mapping[str, str]) -> Config:
    path = choose_path(getattr(args, "config", None), env)
    try:
        return load_config(path, env)
    except ConfigError as exc:
        count = len(exc.problems)
        if count == 1:  # the usual case: one line, naming the file, the option and the value
            message = f"{exc.problems[0]}; fix it, then run: kiosk check-config"
        else:
            message = (
                f"{count} configuration problems:\n  "
                + "\n  ".join(str(p) for p in exc.problems)
                + "\nfix them, then run: kiosk check-config"
            )
        raise CommandError(ExitCode.CONFIG, message) from None


def load_secrets(env: Mapping[str, str]) -> Credentials | None:
    try:
        return load_credentials(env)
    except SecretError as exc:
        raise CommandError(ExitCode.CONFIG, str(exc)) from None


def require_credentials(config: Config, credentials: Credentials | None) -> None:
    """Sandbox and production cannot run without PayPay keys."""
    if config.mode.value != "demo" and credentials is None:
        raise CommandError(
            ExitCode.CONFIG,
            f"mode is {config.mode.value} but no PayPay credentials were found; put api_key "
            "and api_secret in /etc/kiosk/credentials (chmod 600), or set PAYPAY_API_KEY and "
            'PAYPAY_API_SECRET, or set mode = "demo"',
        )


def state_source(config: Config, env: Mapping[str, str]) -> tuple[Path, str]:
    return state_dir_source(config, env, Path(env.get("HOME") or os.path.expanduser("~")))


def state_path(config: Config, env: Mapping[str, str], *, announce: bool = True) -> Path:
    """The state directory; ``announce`` says on stderr which one and why, so an operator
    running a command by hand sees whether it is the service's."""
    path, why = state_source(config, env)
    if announce:
        say(f"state dir: {path} ({why})", err=True)
    return path
