"""The PIN pad's lockout kept in the real journal (SQLite file), reopened as a restart would:
the count and the wait survive, a check cut short counts as wrong, a clock set back gives no
extra time, and the wait doubles up to its cap. Wall time is a parameter, so each wait is exact.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from kiosk.engine.journal import Journal
from kiosk.ui.pin_gate import FIRST_LOCKOUT_S, MAX_LOCKOUT_S, MAX_TRIES, PinGate, lockout_for
from tests.ui.fakes import PIN, PIN_HASH

WRONG = "1111"
WALL = 1_790_000_000.0  # wall time at the first start


class Wall:
    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


def restart(path: Path, wall: Wall, now: float = 0.0) -> tuple[Journal, PinGate]:
    """A fresh process: the journal opened from its file, a new gate on a new monotonic clock."""
    journal = Journal(path)
    return journal, PinGate(PIN_HASH, now, store=journal, wall=wall)


def wrong_pins(gate: PinGate, count: int, now: float) -> None:
    for _ in range(count):
        assert not gate.try_pin(WRONG, now)


def test_five_wrong_pins_stay_locked_across_a_restart(tmp_path: Path) -> None:
    path, wall = tmp_path / "journal.sqlite3", Wall(WALL)
    journal, gate = restart(path, wall)
    wrong_pins(gate, MAX_TRIES, 0.0)
    assert gate.locked_s(0.0) == FIRST_LOCKOUT_S
    journal.close()

    wall.at = WALL + 10  # power back 10 s later; the monotonic clock starts again near 0
    journal, gate = restart(path, wall, now=3.0)
    assert (gate.failures, gate.locked_s(3.0)) == (MAX_TRIES, 20.0)
    assert not gate.try_pin(PIN, 4.0)  # still locked: even the right PIN is not checked
    assert journal.pin_lockout()[0] == MAX_TRIES
    wrong_pins(gate, 1, 23.0)  # the wait is over; one more wrong PIN doubles it
    assert gate.locked_s(23.0) == 2 * FIRST_LOCKOUT_S
    journal.close()

    wall.at = WALL + 100
    journal, gate = restart(path, wall, now=1.0)
    assert (gate.failures, gate.locked_s(1.0)) == (MAX_TRIES + 1, 0.0)
    assert gate.try_pin(PIN, 1.0)
    journal.close()

    _, gate = restart(path, wall)
    assert (gate.failures, gate.locked_s(0.0)) == (0, 0.0)  # the right PIN reset it for good


def test_fewer_than_five_wrong_pins_are_remembered_too(tmp_path: Path) -> None:
    path, wall = tmp_path / "journal.sqlite3", Wall(WALL)
    journal, gate = restart(path, wall)
    wrong_pins(gate, MAX_TRIES - 1, 0.0)
    journal.close()
    journal, gate = restart(path, wall)
    assert (gate.failures, gate.tries_left, gate.locked_s(0.0)) == (MAX_TRIES - 1, 1, 0.0)
    wrong_pins(gate, 1, 0.0)
    assert gate.locked_s(0.0) == FIRST_LOCKOUT_S


def test_a_check_cut_short_by_a_power_cut_counts_as_wrong(tmp_path: Path) -> None:
    path, wall = tmp_path / "journal.sqlite3", Wall(WALL)
    journal, gate = restart(path, wall)
    wrong_pins(gate, MAX_TRIES - 1, 0.0)
    assert gate.start(WRONG, 0.0)  # the fifth try: the verdict never arrives
    journal.close()
    _, again = restart(path, wall)
    assert (again.failures, again.locked_s(0.0)) == (MAX_TRIES, FIRST_LOCKOUT_S)


def test_a_clock_set_back_leaves_the_whole_wait_and_never_more(tmp_path: Path) -> None:
    path, wall = tmp_path / "journal.sqlite3", Wall(WALL)
    journal, gate = restart(path, wall)
    wrong_pins(gate, MAX_TRIES, 0.0)
    wrong_pins(gate, 1, 30.0)
    wrong_pins(gate, 1, 90.0)
    assert gate.locked_s(90.0) == 4 * FIRST_LOCKOUT_S
    journal.close()
    wall.at = WALL - 86_400  # a Pi without a clock battery boots with yesterday's time
    _, gate = restart(path, wall)
    assert gate.locked_s(0.0) == 4 * FIRST_LOCKOUT_S


def test_the_wait_doubles_up_to_an_hour_and_a_tampered_row_cannot_stretch_it(
    tmp_path: Path,
) -> None:
    assert [lockout_for(n) for n in range(4, 9)] == [0.0, 30.0, 60.0, 120.0, 240.0]
    assert lockout_for(MAX_TRIES + 7) == MAX_LOCKOUT_S
    assert lockout_for(10**9) == MAX_LOCKOUT_S  # no float overflow however large the count
    path = tmp_path / "journal.sqlite3"
    journal = Journal(path)
    journal.save_pin_lockout(MAX_TRIES, 10**12, WALL)  # more than 5 failures can ever earn
    _, gate = restart(path, Wall(WALL))
    assert gate.locked_s(0.0) == FIRST_LOCKOUT_S


def test_a_journal_that_cannot_be_written_still_locks_the_pad(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = Journal(tmp_path / "journal.sqlite3")
    gate = PinGate(PIN_HASH, 0.0, store=journal, wall=Wall(WALL))
    journal.close()  # every save now fails
    with caplog.at_level(logging.ERROR):
        wrong_pins(gate, MAX_TRIES, 0.0)
    assert gate.locked_s(0.0) == FIRST_LOCKOUT_S
    assert "action=pin_lockout_not_saved" in caplog.text
    assert PIN not in caplog.text and WRONG not in caplog.text
