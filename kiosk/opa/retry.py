"""The retry policy: which failures are asked again, after how long, and when to give up.

Why pure and apart: whether a request may be repeated is a money question (a POST sent twice
could charge or refund twice), so the rule is one small function of plain values that tests
check exactly, with no clock, no socket and no randomness of its own (jitter comes in).

- only GET and DELETE are repeated, and only on a connection error (never sent, or lost),
  429 and 503 (with or without PayPay's envelope); a read timeout is not repeated (PayPay may
  still be working on it);
- exponential backoff with "equal jitter", raised to the server's Retry-After when it gives one;
- never past the call's deadline: a pause that would end after it ends the call instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.opa import errors

_RETRYABLE = (errors.NotConnected, errors.ConnectionLost, errors.RateLimited)


@dataclass(frozen=True)
class RetryPolicy:
    """How GET and DELETE are repeated; ``max_total_s`` is every call's deadline, retried or not."""

    max_attempts: int = 3
    backoff_base_s: float = 0.5
    backoff_max_s: float = 8.0
    max_total_s: float = 60.0

    def __post_init__(self) -> None:
        if isinstance(self.max_attempts, bool) or not (
            isinstance(self.max_attempts, int) and self.max_attempts >= 1
        ):
            raise ValueError("max_attempts must be an int >= 1")
        for name in ("backoff_base_s", "backoff_max_s", "max_total_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")

    def delay_s(self, retry_index: int, unit: float) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random (unit in [0, 1))."""
        ceiling: float = min(self.backoff_max_s, self.backoff_base_s * 2.0**retry_index)
        return ceiling / 2 + ceiling / 2 * unit

    def pause_s(
        self,
        *,
        retry_safe: bool,
        error: errors.OpaError,
        attempt: int,
        jitter: float,
        retry_after_s: float | None,
        time_left_s: float,
    ) -> float | None:
        """The pause before attempt ``attempt + 1``, or None: raise ``error`` now."""
        retryable = isinstance(error, _RETRYABLE) or error.status in (429, 503)
        if not (retry_safe and retryable and attempt < self.max_attempts):
            return None
        pause_s = self.delay_s(attempt - 1, jitter)
        if retry_after_s is not None:  # the server's wish, when it fits in the deadline
            pause_s = max(pause_s, retry_after_s)
        return pause_s if pause_s < time_left_s else None
