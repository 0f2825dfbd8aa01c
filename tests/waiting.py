"""Waiting for something to become true, for every test that must: a deadline that is a safety
net on a loaded machine (CI, other jobs on 2 cores), never a speed claim, and a failure that
names what was awaited. Never a fixed sleep, never a count of tries."""

from __future__ import annotations

import time
from collections.abc import Callable

DEADLINE_S = 30.0


def wait_until(
    check: Callable[[], bool], timeout_s: float = DEADLINE_S, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError(f"{what} not reached within {timeout_s} s")
