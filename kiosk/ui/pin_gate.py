"""The attendant PIN check with lockout.

Why: a kiosk stands in public; anyone can try PINs. After MAX_TRIES wrong PINs in a row the pad
locks, each further wrong PIN doubling the wait (30 s, 60 s, 120 s ... capped at an hour). A right
PIN resets everything. The hash is deliberately slow (PBKDF2, ~0.1 s here, more on a Pi), so the
loop hands it to a short-lived thread (`start`, then `poll`) and keeps drawing meanwhile. Time
comes in as a parameter; the PIN itself is never stored or logged.

A restart must not reset an attacker's count: with a `store` (the journal) the count and the
wait are saved, and a try is saved as wrong *before* it is checked, so cutting the power during
the check does not make it free either; a right PIN then saves the reset. The wait runs on the
wall clock across a restart; a clock that went back leaves the whole wait, never more.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from kiosk.ops.pin import verify_pin

logger = logging.getLogger(__name__)

MAX_TRIES = 5
FIRST_LOCKOUT_S = 30.0
MAX_LOCKOUT_S = 3600.0


class LockoutStore(Protocol):
    """Keeps the count across restarts: `kiosk.engine.journal.Journal` is one."""

    def pin_lockout(self) -> tuple[int, float, float]: ...  # failures, locked_s, saved at (wall)
    def save_pin_lockout(self, failures: int, locked_s: float, now: float) -> None: ...


def lockout_for(failures: int) -> float:
    """The lockout after `failures` wrong PINs in a row (0 below MAX_TRIES)."""
    if failures < MAX_TRIES:
        return 0.0
    return min(MAX_LOCKOUT_S, FIRST_LOCKOUT_S * 2.0 ** min(failures - MAX_TRIES, 32))


def remaining_s(locked_s: float, saved_at: float, wall_now: float) -> float:
    """What is left of a wait of `locked_s` saved at `saved_at`: the wall clock has run on
    while the kiosk was off; a clock now behind `saved_at` leaves the whole wait."""
    elapsed = wall_now - saved_at
    return locked_s if elapsed < 0 else max(0.0, locked_s - elapsed)


class PinGate:
    def __init__(
        self,
        pin_hash: str,
        now: float = 0.0,
        *,
        store: LockoutStore | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._pin_hash = pin_hash
        self._store, self._wall = store, wall
        self.failures = 0
        self.locked_until_at = 0.0
        self._pending: tuple[threading.Thread, list[bool]] | None = None
        if store is not None:
            failures, locked_s, saved_at = store.pin_lockout()
            left = remaining_s(min(locked_s, lockout_for(failures)), saved_at, wall())
            self.failures, self.locked_until_at = failures, now + left
            if failures:
                logger.warning(
                    "attendant action=pin_lockout_restored failures=%d locked_s=%.0f",
                    failures,
                    left,
                )

    def locked_s(self, now: float) -> float:
        """Seconds until the next try is allowed (0 when a try is allowed now)."""
        return max(0.0, self.locked_until_at - now)

    @property
    def tries_left(self) -> int:
        return max(0, MAX_TRIES - self.failures)

    @property
    def checking(self) -> bool:
        return self._pending is not None

    def lockout_s(self) -> float:
        """The lockout after the current number of failures (0 below MAX_TRIES)."""
        return lockout_for(self.failures)

    def start(self, pin: str, now: float) -> bool:
        """Begin checking `pin` off the loop's thread; False (nothing started) while locked
        or while another check runs."""
        if self._pending is not None:
            return False
        if self.locked_s(now) > 0:
            logger.warning(
                "attendant action=pin_refused reason=locked locked_s=%.0f", self.locked_s(now)
            )
            return False
        self._save(self.failures + 1, lockout_for(self.failures + 1))  # wrong until proven right
        result: list[bool] = []

        def check() -> None:
            try:
                result.append(verify_pin(pin, self._pin_hash))
            except ValueError:
                logger.exception("attendant action=pin_check_failed")

        thread = threading.Thread(target=check, name="pin-check", daemon=True)
        self._pending = (thread, result)
        thread.start()
        return True

    def poll(self, now: float) -> bool | None:
        """The finished check's verdict (once), or None while none has finished."""
        if self._pending is None or self._pending[0].is_alive():
            return None
        _, result = self._pending
        self._pending = None
        return self._record(bool(result and result[0]), now)

    def try_pin(self, pin: str, now: float) -> bool:
        """Check synchronously (tools and tests): start, wait, poll."""
        if not self.start(pin, now):
            return False
        assert self._pending is not None
        self._pending[0].join()
        return bool(self.poll(now))

    def _record(self, right: bool, now: float) -> bool:
        if right:
            self.failures = 0
            self.locked_until_at = 0.0
            self._save(0, 0.0)
            logger.info("attendant action=pin_accepted")
            return True
        self.failures += 1
        self.locked_until_at = now + self.lockout_s()
        self._save(self.failures, self.lockout_s())
        logger.warning(
            "attendant action=pin_rejected failures=%d lockout_s=%.0f",
            self.failures,
            self.lockout_s(),
        )
        return False

    def _save(self, failures: int, locked_s: float) -> None:
        if self._store is None:
            return
        try:
            self._store.save_pin_lockout(failures, locked_s, self._wall())
        except Exception:  # the engine reports a broken journal; the pad still locks in memory
            logger.exception("attendant action=pin_lockout_not_saved")
