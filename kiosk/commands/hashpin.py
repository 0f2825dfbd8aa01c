"""`kiosk hash-pin`: turn an attendant PIN into the hash kiosk.toml stores.

The PIN is read twice without echo on a terminal, or once from stdin in a script; only the
salted hash is printed (to stdout), so `kiosk hash-pin < pin.txt` composes in scripts."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable
from typing import TextIO

from kiosk.commands.common import CommandError, ExitCode, say
from kiosk.ops.pin import hash_pin, validate_pin

SALT_BYTES = 16


def read_pin(stdin: TextIO, ask: Callable[[str], str]) -> str:
    if stdin.isatty():
        first = ask("New attendant PIN (4 to 12 digits): ")
        if first != ask("The same PIN again: "):
            raise CommandError(ExitCode.FAILED, "the two PINs differ; run kiosk hash-pin again")
        return first
    return stdin.readline().strip()


def run_hash_pin(
    stdin: TextIO = sys.stdin,
    ask: Callable[[str], str] = getpass.getpass,
    salt: Callable[[int], bytes] = os.urandom,
) -> int:
    pin = read_pin(stdin, ask)
    try:
        validate_pin(pin)
    except ValueError as exc:
        raise CommandError(ExitCode.FAILED, f"{exc}; run kiosk hash-pin again") from None
    say(hash_pin(pin, salt(SALT_BYTES)))
    say(
        'put it in /etc/kiosk/kiosk.toml under [attendant] as pin_hash = "...", '
        "then restart the kiosk",
        err=True,
    )
    return ExitCode.OK
