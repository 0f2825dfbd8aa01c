"""The PIN lockout across a real restart: a `kiosk run` process takes five wrong PINs typed on
its pad (keyboard events, as an attacker at the panel would), is stopped, and a new process,
given the right PIN at once, keeps the pad locked: power-cycling does not reset the count."""

from __future__ import annotations

from pathlib import Path

from kiosk.engine.journal import Journal
from kiosk.ops.pin import hash_pin
from kiosk.simulator import SimulatorControl
from kiosk.ui.pin_gate import FIRST_LOCKOUT_S, MAX_TRIES
from tests.ops.cli_helpers import wait_for
from tests.ops.test_sigterm import simulator, start_kiosk, stop_kiosk, write_config

__all__ = ["simulator"]  # the fixture, used by name

PIN = "582046"
PIN_HASH = hash_pin(PIN, b"restart-salt-16b", iterations=1000)


def log_of(tmp_path: Path) -> str:
    return (tmp_path / "kiosk.log").read_text(encoding="utf-8", errors="replace")


def run_until_typed(tmp_path: Path, config: Path, pins: list[str], runs_before: int) -> str:
    """One kiosk process typing `pins`; its share of the log once they are typed and checked."""
    process = start_kiosk(tmp_path, config, 0, TEST_TYPE_PIN=",".join(pins))
    try:
        wait_for(
            "the PINs to be typed",
            lambda: log_of(tmp_path).count("test_pins_typed") > runs_before,
        )
    finally:
        returncode, _ = stop_kiosk(process)
    assert returncode == 0, log_of(tmp_path)
    return log_of(tmp_path).split("kiosk_stopped", runs_before)[-1]


def test_a_restart_does_not_reset_the_pin_lockout(
    tmp_path: Path, simulator: tuple[str, SimulatorControl]
) -> None:
    base_url, _ = simulator
    config, state = write_config(tmp_path, base_url, f'[attendant]\npin_hash = "{PIN_HASH}"\n')
    first = run_until_typed(tmp_path, config, ["1111"] * MAX_TRIES, 0)
    assert f"failures={MAX_TRIES} lockout_s={FIRST_LOCKOUT_S:.0f}" in first

    second = run_until_typed(tmp_path, config, [PIN], 1)  # within the 30 s
    assert f"action=pin_lockout_restored failures={MAX_TRIES}" in second
    assert "action=pin_accepted" not in second  # the right PIN found the pad locked
    journal = Journal(state / "journal.sqlite3")
    try:
        assert journal.pin_lockout()[:2] == (MAX_TRIES, FIRST_LOCKOUT_S)
    finally:
        journal.close()
    for secret in (PIN, PIN_HASH):
        assert secret not in log_of(tmp_path)
