"""`kiosk run`'s start-up failures: each stops before selling, with its exit code and a fix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from kiosk.commands.common import ExitCode
from kiosk.ops.lock import KioskLock
from tests.ops.cli_helpers import REPO, clean_env, kiosk


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    state = tmp_path / "state"
    return clean_env(tmp_path, KIOSK_STATE_DIR=str(state), SDL_AUDIODRIVER="dummy", **extra)


def test_no_display_stops_with_a_pointer_to_doctor(tmp_path: Path) -> None:
    done = kiosk("run", env=env_for(tmp_path, SDL_VIDEODRIVER="kmsdrm"))
    assert done.returncode == ExitCode.FAILED
    assert done.stderr.strip().endswith(
        "kiosk: error: cannot open the display (SDL_VIDEODRIVER=kmsdrm): kmsdrm not available; "
        "run kiosk doctor"
    )
    status = json.loads((tmp_path / "state" / "status.json").read_text())
    assert status["state"] == "stopped"


def test_a_second_kiosk_on_the_same_state_refuses(tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    with KioskLock(tmp_path / "state") as lock:
        assert lock.acquire()
        done = kiosk("run", env=env_for(tmp_path))
    assert done.returncode == ExitCode.FAILED
    assert "another kiosk is already running with" in done.stderr


def test_a_damaged_journal_is_exit_4_and_left_alone(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    damaged = b"not a journal" * 300
    (state / "journal.sqlite3").write_bytes(damaged)
    done = kiosk("run", env=env_for(tmp_path))
    assert done.returncode == ExitCode.JOURNAL, done.stderr
    assert "run kiosk doctor, keep a copy of the file" in done.stderr
    assert (state / "journal.sqlite3").read_bytes() == damaged


def test_production_without_keys_is_exit_3(tmp_path: Path) -> None:
    done = kiosk("run", env=env_for(tmp_path, KIOSK_MODE="sandbox", KIOSK_MERCHANT_ID="M"))
    assert done.returncode == ExitCode.CONFIG
    assert "no PayPay credentials were found" in done.stderr
    assert not os.path.exists(tmp_path / "state" / "journal.sqlite3")


def test_the_demo_simulator_has_its_control_api(tmp_path: Path) -> None:
    from kiosk import cli
    from kiosk.config import load_config
    from kiosk.simulator import SimulatorControl

    config = load_config(None, {"KIOSK_STATE_DIR": str(tmp_path), "KIOSK_SIMULATOR_PORT": "0"})
    sim = cli.start_demo_simulator(config, None)
    try:
        with SimulatorControl(sim.base_url) as control:
            ledger = control.ledger()
    finally:
        sim.stop()
    assert ledger["codes"] == []


SHOWS_STARTING_FIRST = """
import sys, pygame
from kiosk import cli
from kiosk.commands.common import load_settings
from kiosk.commands.run import run_kiosk
from kiosk.ops.logs import Redactor
import os

def start_simulator(config, credentials):
    window = pygame.display.get_surface()
    if window is None:
        raise SystemExit("display_at_simulator=none")
    colour = tuple(window.get_at((window.get_width() // 2, window.get_height() // 2)))[:3]
    raise SystemExit(f"display_at_simulator={window.get_size()} centre={colour}")

args = cli.build_parser().parse_args(["run"])
run_kiosk(load_settings(args, os.environ), Redactor(), env=os.environ, demo=cli.demo_auth,
          start_simulator=start_simulator)
"""


def test_the_starting_frame_is_on_screen_before_the_simulator_is_built(tmp_path: Path) -> None:
    env = env_for(
        tmp_path,
        KIOSK_DISPLAY_WIDTH="800",
        KIOSK_DISPLAY_HEIGHT="480",
        KIOSK_DISPLAY_FULLSCREEN="false",
    )
    done = subprocess.run(
        [sys.executable, "-c", SHOWS_STARTING_FIRST],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("display_at_simulator=(800, 480) centre="), done.stderr
    assert not last.endswith("centre=(0, 0, 0)")  # "Starting…" was drawn, not a black window
