"""The attendant PIN check with lockout.

Why: a kiosk stands in public; anyone can try PINs. After MAX_TRIES wrong PINs in a row the pad
locks, each further wrong PIN doubling the wait (30 s, 60 s, 120 s ... capped at an hour). A right
PIN resets everything. The hash is deliberately slow (PBKDF2, ~0.1 s here, more on a Pi), so the
loop hands it to a short-lived thread (`start`, then `poll`) and keeps drawing meanwhile. Time
comes in as a parameter; the PIN itself is never stored or logged.
"""

from __future__ import annotations

import logging
import threading

from kiosk.ops.pin import verify_pin

logger = logging.getLogger(__name__)

MAX_TRIES = 5
FIRST_LOCKOUT_S = 30.0
MAX_LOCKOUT_S = 3600.0


class PinGate:
    def __init__(self, pin_hash: str) -> None:
        self._pin_hash = pin_hash
        self.failures = 0
        self.locked_until_at = 0.0
        self._pending: tuple[threading.Thread, list[bool]] | None = None

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
        if self.failures < MAX_TRIES:
            return 0.0
        return min(MAX_LOCKOUT_S, FIRST_LOCKOUT_S * 2.0 ** (self.failures - MAX_TRIES))

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
            logger.info("attendant action=pin_accepted")
            return True
        self.failures += 1
        self.locked_until_at = now + self.lockout_s()
        logger.warning(
            "attendant action=pin_rejected failures=%d lockout_s=%.0f",
            self.failures,
            self.lockout_s(),
        )
        return False
