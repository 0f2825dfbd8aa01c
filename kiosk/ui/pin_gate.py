"""The attendant PIN check with lockout.

Why: a kiosk stands in public; anyone can try PINs. After MAX_TRIES wrong PINs in a row the pad
locks, each further wrong PIN doubling the wait (30 s, 60 s, 120 s ... capped at an hour). A right
PIN resets everything. Time comes in as a parameter; the PIN itself is never stored or logged.
"""

from __future__ import annotations

import logging

from kiosk.pin import verify_pin

logger = logging.getLogger(__name__)

MAX_TRIES = 5
FIRST_LOCKOUT_S = 30.0
MAX_LOCKOUT_S = 3600.0


class PinGate:
    def __init__(self, pin_hash: str) -> None:
        self._pin_hash = pin_hash
        self.failures = 0
        self.locked_until_at = 0.0

    def locked_s(self, now: float) -> float:
        """Seconds until the next try is allowed (0 when a try is allowed now)."""
        return max(0.0, self.locked_until_at - now)

    @property
    def tries_left(self) -> int:
        return max(0, MAX_TRIES - self.failures)

    def lockout_s(self) -> float:
        """The lockout after the current number of failures (0 below MAX_TRIES)."""
        if self.failures < MAX_TRIES:
            return 0.0
        return min(MAX_LOCKOUT_S, FIRST_LOCKOUT_S * 2.0 ** (self.failures - MAX_TRIES))

    def try_pin(self, pin: str, now: float) -> bool:
        """True when the PIN is right. While locked, nothing is checked and False returned."""
        if self.locked_s(now) > 0:
            logger.warning(
                "attendant action=pin_refused reason=locked locked_s=%.0f", self.locked_s(now)
            )
            return False
        if verify_pin(pin, self._pin_hash):
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
