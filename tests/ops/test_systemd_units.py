"""The unit files pass `systemd-analyze verify` with no output at all, and say what the
kiosk needs: notify + watchdog, its own VT with kmsdrm, devices reachable, credentials."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[2] / "systemd"
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")


def parse(path: Path) -> dict[str, list[str]]:
    """`Section.Key` -> every value, in order (keys may repeat)."""
    found: dict[str, list[str]] = {}
    section = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found.setdefault(f"{section}.{key}", []).append(value)
    return found


def runnable_copy(unit: str, tmp_path: Path, extra: str = "") -> Path:
    """verify insists every Exec binary exists: point them at this Python."""
    text = (UNITS / unit).read_text(encoding="utf-8")
    text = text.replace("/opt/kiosk/current/bin/kiosk", sys.executable)
    text = text.replace("/usr/bin/chvt", sys.executable)
    target = tmp_path / unit
    target.write_text(text + extra, encoding="utf-8")
    return target


def verify(path: Path) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    return subprocess.run(
        [ANALYZE, "verify", "--man=no", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@needs_analyze
@pytest.mark.parametrize("unit", ["kiosk.service", "kiosk-simulator.service"])
def test_unit_verifies_without_any_warning(unit: str, tmp_path: Path) -> None:
    result = verify(runnable_copy(unit, tmp_path))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@needs_analyze
def test_verify_would_catch_a_misspelt_key(tmp_path: Path) -> None:
    result = verify(runnable_copy("kiosk.service", tmp_path, "\n[Service]\nRestat=always\n"))
    assert "Restat" in result.stdout + result.stderr


def test_kiosk_unit_has_what_the_kiosk_needs() -> None:
    unit = parse(UNITS / "kiosk.service")
    assert unit["Service.Type"] == ["notify"]
    assert unit["Service.Restart"] == ["always"]
    assert int(unit["Service.WatchdogSec"][0]) >= 10
    assert set(unit["Service.SupplementaryGroups"][0].split()) >= {"video", "render", "input"}
    assert unit["Service.User"] == ["kiosk"]
    assert unit["Service.StateDirectory"] == ["kiosk"]
    assert unit["Service.ConfigurationDirectory"] == ["kiosk"]
    assert unit["Service.LoadCredential"] == ["paypay:/etc/kiosk/credentials"]
    assert "SDL_VIDEODRIVER=kmsdrm" in unit["Service.Environment"]
    assert unit["Service.TTYPath"] == ["/dev/tty7"]
    assert unit["Service.StandardInput"] == ["tty-fail"]
    assert unit["Service.StandardOutput"] == ["journal"]
    assert unit["Service.PrivateDevices"] == ["no"]
    assert {"char-drm rw", "char-input r"} <= set(unit["Service.DeviceAllow"])
    assert "getty@tty7.service" in unit["Unit.Conflicts"][0].split()
    assert "time-sync.target" in unit["Unit.After"][0].split()
    # deleting a live QR: DELETE /v2/codes (15 s) then perhaps cancel (15 s), then record
    assert int(unit["Service.TimeoutStopSec"][0]) >= 45
    assert unit["Service.ExecStart"][0].split()[1] == "run"
    # status.json on a tmpfs, kept after a stop so `kiosk status` says "stopped"
    assert unit["Service.RuntimeDirectory"] == ["kiosk"]
    assert unit["Service.RuntimeDirectoryPreserve"] == ["yes"]


def test_boot_drop_ins_bound_the_waits() -> None:
    """The hardware watchdog fits the Pi's bcm2835 limit (~15 s); the time-sync wait ends."""
    watchdog = parse(UNITS / "watchdog.conf")
    assert watchdog["Manager.RuntimeWatchdogSec"] == ["14s"]
    wait = parse(UNITS / "time-wait-sync.conf")
    assert wait["Service.TimeoutStartSec"] == ["90s"]


def test_simulator_unit_runs_the_simulator_unprivileged() -> None:
    unit = parse(UNITS / "kiosk-simulator.service")
    assert unit["Service.ExecStart"][0].split()[1] == "simulator"
    assert unit["Service.DynamicUser"] == ["yes"]
    assert unit["Service.PrivateDevices"] == ["yes"]
