"""Clock, ids and the clock guard, without a network."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from kiosk.engine.clock import ClockGuard, FakeClock, SystemClock, jst_day_bounds, make_id


@dataclass(frozen=True)
class Answer:
    server_date_epoch: float | None
    local_epoch: float


def test_ids_carry_the_terminal_and_jst_time_and_fit_paypay() -> None:
    now = datetime(2026, 3, 1, 15, 30, 5, tzinfo=UTC).timestamp()  # 00:30:05 JST on 2 March
    assert make_id("K1", now, "abcdef0123") == "K1-20260302003005-abcdef0123"
    assert len(SystemClock().new_id("KIOSK-TERMINAL-0001")) <= 56
    with pytest.raises(ValueError, match="too long"):
        make_id("T" * 40, now, "abcdef0123")


def test_fake_clock_ids_are_unique_and_time_moves_only_when_told() -> None:
    clock = FakeClock(start=1_790_000_000.0)
    assert clock.new_id("K1") != clock.new_id("K1")
    clock.advance(2.5)
    assert (clock.now(), clock.monotonic()) == (1_790_000_002.5, 2.5)


def test_jst_day_bounds() -> None:
    now = datetime(2026, 3, 1, 16, 0, tzinfo=UTC).timestamp()  # 01:00 JST on 2 March
    start, end = jst_day_bounds(now)
    assert start == datetime(2026, 3, 1, 15, 0, tzinfo=UTC).timestamp()
    assert end - start == 86_400


def test_guard_trusts_paypays_date_and_clears_when_it_agrees() -> None:
    guard = ClockGuard(limit_s=90)
    assert not guard.wrong()
    guard.observe(Answer(server_date_epoch=1000.0, local_epoch=1200.0))
    assert guard.wrong() and guard.skew_s == 200.0
    guard.observe(Answer(server_date_epoch=None, local_epoch=1300.0))  # no Date: no news
    assert guard.wrong()
    guard.observe(Answer(server_date_epoch=1300.0, local_epoch=1301.0))
    assert not guard.wrong()


def test_a_run_of_401s_means_clock_until_an_answer_is_accepted() -> None:
    guard = ClockGuard(auth_failures_limit=3)
    for _ in range(2):
        guard.note_auth(True)
    assert not guard.wrong()
    guard.note_auth(True)
    assert guard.wrong()
    assert "consecutive 401s 3" in guard.describe()
    guard.note_auth(False)
    assert not guard.wrong()
