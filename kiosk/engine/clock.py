"""Time and ids for the engine, injectable; and the clock guard.

Why: the sale machine is pure, so every "now" and every new id comes from here, and tests
swap in `FakeClock`. The guard exists because PayPay rejects a signature whose epoch is more
than 2 minutes off: a kiosk with a wrong clock must stop taking sales with a clear "clock"
reason instead of failing every one of them.

Invariants: merchantPaymentIds are the terminal id, a JST timestamp and random hex, at most
64 characters, unique per terminal; `ClockGuard` only trusts a skew measured from PayPay's own
`Date` header (or a run of 401s), and clears as soon as a response agrees with our clock.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from kiosk.domain import JST


class Clock(Protocol):
    def now(self) -> float:
        """Wall-clock epoch seconds (what PayPay and the journal see)."""
        ...

    def monotonic(self) -> float:
        """Seconds for measuring intervals; never jumps."""
        ...

    def new_id(self, prefix: str) -> str:
        """A fresh merchantPaymentId-style id: prefix, JST time, random part."""
        ...


class SystemClock:
    def __init__(self, token: Callable[[int], str] = secrets.token_hex) -> None:
        self._token = token

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def new_id(self, prefix: str) -> str:
        return make_id(prefix, self.now(), self._token(5))


class FakeClock:
    """Time moves only when a test says so; ids count up."""

    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self._now = start
        self._mono = 0.0
        self._n = 0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds
            self._mono += seconds

    def step_wall(self, seconds: float) -> None:
        """NTP steps the wall clock (either way); monotonic time is untouched."""
        with self._lock:
            self._now += seconds

    def new_id(self, prefix: str) -> str:
        with self._lock:
            self._n += 1
            return make_id(prefix, self._now, f"{self._n:010x}")


def make_id(prefix: str, now: float, random_part: str) -> str:
    stamp = datetime.fromtimestamp(now, JST).strftime("%Y%m%d%H%M%S")
    value = f"{prefix}-{stamp}-{random_part}"
    if len(value) > 56:  # room for the -R0/-C/-V suffixes within PayPay's 64
        raise ValueError(f"id {value!r} is too long; use a shorter terminal id")
    return value


def jst_day_bounds(now: float) -> tuple[float, float]:
    """[start, end) of the JST calendar day containing `now`."""
    day = datetime.fromtimestamp(now, JST).replace(hour=0, minute=0, second=0, microsecond=0)
    return day.timestamp(), (day + timedelta(days=1)).timestamp()


class ResponseLike(Protocol):
    @property
    def server_date_epoch(self) -> float | None: ...
    @property
    def local_epoch(self) -> float: ...


class ClockGuard:
    """Decides whether our clock is fit for signing, from what PayPay's answers say.

    Wire `observe` as the OPA client's `on_response` (it reads the HTTP `Date` of every
    answer); the runner calls `note_auth` after each call (a run of 401s also means "clock").
    """

    def __init__(self, limit_s: float = 90.0, auth_failures_limit: int = 3) -> None:
        self.limit_s = limit_s
        self.auth_failures_limit = auth_failures_limit
        self._lock = threading.Lock()
        self._skew_s: float | None = None
        self._auth_failures = 0

    def observe(self, info: ResponseLike) -> None:
        if info.server_date_epoch is not None:
            with self._lock:
                self._skew_s = info.local_epoch - info.server_date_epoch

    def note_auth(self, failed: bool) -> None:
        with self._lock:
            self._auth_failures = self._auth_failures + 1 if failed else 0

    @property
    def skew_s(self) -> float | None:
        with self._lock:
            return self._skew_s

    def wrong(self) -> bool:
        with self._lock:
            # HTTP Date has 1 s resolution and answers take time: the limit allows for both
            skewed = self._skew_s is not None and abs(self._skew_s) > self.limit_s
            return skewed or self._auth_failures >= self.auth_failures_limit

    def describe(self) -> str:
        with self._lock:
            skew = "unknown" if self._skew_s is None else f"{self._skew_s:+.0f} s"
            return f"clock skew {skew}, consecutive 401s {self._auth_failures}"
