"""The wheel carries everything the kiosk needs: built from a copy of the source, installed
into a fresh venv, run from another directory (no checkout on the path) with the SDL dummy
driver. The venv borrows the dev venv's third-party packages through a .pth line, so the test
needs no network; the kiosk itself comes only from the wheel."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import pytest

from tests.ops.cli_helpers import REPO, clean_env, wait_for

pytestmark = pytest.mark.slow

ASSETS = (
    "kiosk/assets/fonts/ipaexg.ttf",
    "kiosk/assets/fonts/IPA_Font_License_Agreement_v1.0.txt",
    "kiosk/assets/sounds/success.wav",
    "kiosk/assets/sounds/error.wav",
    "kiosk/assets/kiosk.example.toml",
)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv in a temporary directory with the kiosk installed from its wheel only."""
    top = tmp_path_factory.mktemp("wheel")
    source = top / "source"
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (t.decode() for t in tracked)):
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    wheels = top / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("paypay_kiosk-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert set(ASSETS) <= names, set(ASSETS) - names
    venv = top / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    site = venv / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    (site / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [str(venv / "bin/pip"), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    return venv


def env_in(tmp_path: Path) -> dict[str, str]:
    env = clean_env(tmp_path, SDL_AUDIODRIVER="dummy", KIOSK_STATE_DIR=str(tmp_path / "state"))
    del env["PYTHONPATH"]  # the checkout must not be importable
    return env


def kiosk_in(venv: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin/kiosk"), *args],
        capture_output=True,
        text=True,
        env=env_in(tmp_path),
        cwd=tmp_path,
        timeout=60,
        check=False,
    )


def test_the_installed_kiosk_is_the_wheel_not_the_checkout(installed: Path, tmp_path: Path) -> None:
    where = subprocess.run(
        [str(installed / "bin/python"), "-c", "import kiosk.resources as r; print(r.assets_dir())"],
        capture_output=True,
        text=True,
        env=env_in(tmp_path),
        cwd=tmp_path,
        check=True,
    ).stdout.strip()
    assert where.startswith(str(installed)) and where.endswith("site-packages/kiosk/assets")


def test_check_config_and_doctor_from_any_directory(installed: Path, tmp_path: Path) -> None:
    done = kiosk_in(installed, tmp_path, "check-config")
    assert done.returncode == 0, done.stderr
    assert "configuration OK" in done.stdout
    doctor = kiosk_in(installed, tmp_path, "doctor", "--color", "never")
    assert "ok   font       ipaexg.ttf" in doctor.stdout.splitlines(), doctor.stdout
    assert f"state dir: {tmp_path / 'state'} (state_dir setting)" in doctor.stderr


def test_run_draws_and_stops_cleanly(installed: Path, tmp_path: Path) -> None:
    process = subprocess.Popen(
        [str(installed / "bin/kiosk"), "run"],
        env=env_in(tmp_path),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    status = tmp_path / "state" / "status.json"
    try:
        wait_for("the kiosk to reach idle", lambda: idle(status), timeout_s=60)
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert json.loads(status.read_text())["state"] == "stopped"


def test_a_missing_font_is_named_not_blamed_on_the_display(installed: Path, tmp_path: Path) -> None:
    """The old wheel lacked its assets and `kiosk run` said "cannot open the display"."""
    (font,) = installed.glob("lib/python*/site-packages/kiosk/assets/fonts/ipaexg.ttf")
    font.rename(font.with_suffix(".away"))
    try:
        done = kiosk_in(installed, tmp_path, "run")
    finally:
        font.with_suffix(".away").rename(font)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert f"the bundled font {font} is missing" in last
    assert "display" not in last


def idle(status: Path) -> bool:
    try:
        return bool(json.loads(status.read_text())["state"] == "idle")
    except (OSError, ValueError):
        time.sleep(0.2)
        return False
