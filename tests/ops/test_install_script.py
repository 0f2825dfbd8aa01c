"""install.sh --dry-run against a fake root: every action printed, nothing changed, and a
second look at an already-installed root finds nothing left to do."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "systemd" / "install.sh"
RELEASE = "/opt/kiosk/releases/test-1"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def snapshot(root: Path) -> dict[str, tuple[int, bytes | str]]:
    found: dict[str, tuple[int, bytes | str]] = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        content: bytes | str = (
            os.readlink(path) if path.is_symlink() else path.read_bytes() if path.is_file() else b""
        )
        found[str(path.relative_to(root))] = (info.st_mode, content)
    return found


def fresh_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/os-release").write_text("ID=debian\nVERSION_CODENAME=bookworm\n")
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (root / "etc/group").write_text(
        "video:x:44:\nrender:x:105:\ninput:x:104:\naudio:x:29:\ngpio:x:997:\n"
    )
    (root / "boot/firmware").mkdir(parents=True)
    (root / "boot/firmware/cmdline.txt").write_text("console=tty1 root=PARTUUID=1 rootwait\n")
    return root


def actions(output: str) -> list[str]:
    return [line[2:] for line in output.splitlines() if line.startswith("+ ")]


def test_dry_run_on_a_fresh_pi_prints_every_action_and_changes_nothing(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    before = snapshot(root)
    result = run("--dry-run", "--root", str(root), "--release", "test-1")
    assert result.returncode == 0, result.stderr
    assert snapshot(root) == before
    done = actions(result.stdout)
    assert "= platform: Debian/Raspberry Pi OS bookworm" in result.stdout
    assert done[0] == "apt-get update -qq"
    assert re.match(r"env DEBIAN_FRONTEND=noninteractive apt-get install .* python3-venv ", done[1])
    assert (
        "useradd --system --user-group --home-dir /var/lib/kiosk --no-create-home "
        "--shell /usr/sbin/nologin --comment 'PayPay QR kiosk' kiosk"
    ) in done
    for group in ("video", "render", "input", "audio", "gpio"):
        assert f"usermod --append --groups {group} kiosk" in done
    assert "install -d -m 0700 -o root -g root /etc/kiosk/credentials" in done
    assert f"python3 -m venv {RELEASE}" in done
    assert (
        f"{RELEASE}/bin/pip install --quiet --no-cache-dir --editable '{RELEASE}/app[gpio]'" in done
    )
    assert f"ln -sfn {RELEASE} /opt/kiosk/current" in done
    assert (
        f"install -m 0640 -o root -g kiosk {REPO}/kiosk/assets/kiosk.example.toml "
        "/etc/kiosk/kiosk.toml"
    ) in done
    assert (
        "sed -i -E '1 s/ ?consoleblank=[0-9]+//; 1 s/$/ consoleblank=0/' /boot/firmware/cmdline.txt"
    ) in done
    assert "systemctl mask getty@tty7.service" in done
    assert "systemctl mask autovt@tty7.service" in done
    assert f"install -m 0644 {REPO}/systemd/kiosk.service /etc/systemd/system/kiosk.service" in done
    assert done[-5:] == [
        "systemctl daemon-reload",
        "systemctl enable kiosk.service",
        "systemctl enable systemd-timesyncd.service",
        "systemctl enable systemd-time-wait-sync.service",
        "systemctl restart kiosk.service",
    ]
    assert "kiosk-simulator.service" not in " ".join(a for a in done if "enable" in a)


def installed_root(tmp_path: Path) -> Path:
    """What a completed install leaves behind."""
    root = fresh_root(tmp_path)
    (root / "etc/passwd").write_text("root:x:0:0::/root:/bin/bash\nkiosk:x:999:999::/:/x\n")
    (root / "etc/group").write_text(
        "video:x:44:kiosk\nrender:x:105:pi,kiosk\ninput:x:104:kiosk\naudio:x:29:kiosk\n"
        "gpio:x:997:kiosk,pi\n"
    )
    (root / "boot/firmware/cmdline.txt").write_text("console=tty1 rootwait consoleblank=0\n")
    (root / "etc/kiosk/credentials").mkdir(parents=True)
    (root / "etc/kiosk/kiosk.toml").write_text('mode = "demo"\n')
    (root / f"{RELEASE.lstrip('/')}/bin").mkdir(parents=True)
    kiosk = root / f"{RELEASE.lstrip('/')}/bin/kiosk"
    kiosk.write_text("#!/bin/sh\n")
    kiosk.chmod(0o755)
    (root / "opt/kiosk/current").symlink_to(RELEASE)
    system = root / "etc/systemd/system"
    for target in ("multi-user.target.wants", "sysinit.target.wants"):
        (system / target).mkdir(parents=True)
    for unit in ("kiosk.service", "kiosk-simulator.service"):
        (system / unit).write_bytes((REPO / "systemd" / unit).read_bytes())
    (system / "getty@tty7.service").symlink_to("/dev/null")
    (system / "autovt@tty7.service").symlink_to("/dev/null")
    (system / "multi-user.target.wants/kiosk.service").symlink_to("../kiosk.service")
    for unit in ("systemd-timesyncd.service", "systemd-time-wait-sync.service"):
        (system / "sysinit.target.wants" / unit).symlink_to(f"/lib/systemd/system/{unit}")
    return root


def test_second_run_finds_everything_done(tmp_path: Path) -> None:
    root = installed_root(tmp_path)
    before = snapshot(root)
    result = run("--dry-run", "--root", str(root), "--release", "test-1", "--no-start")
    assert result.returncode == 0, result.stderr
    assert snapshot(root) == before
    # only the packages step may still act: the fake root has no dpkg database
    assert [a for a in actions(result.stdout) if "apt-get" not in a] == []
    for line in (
        "= user kiosk exists",
        "= user kiosk in group render",
        "= release test-1 installed in /opt/kiosk/releases/test-1",
        "= current release is test-1",
        "= kept existing /etc/kiosk/kiosk.toml",
        "= console blanking off (consoleblank=0 in /boot/firmware/cmdline.txt)",
        "= getty@tty7.service masked (no login prompt on the kiosk's VT)",
        "= unit kiosk.service up to date",
        "= systemd-time-wait-sync.service enabled",
    ):
        assert line in result.stdout.splitlines()


def test_update_keeps_the_previous_release_for_rollback(tmp_path: Path) -> None:
    root = installed_root(tmp_path)
    result = run("--dry-run", "--root", str(root), "--release", "test-2", "--no-start")
    done = actions(result.stdout)
    assert "ln -sfn /opt/kiosk/releases/test-1 /opt/kiosk/previous" in done
    assert "ln -sfn /opt/kiosk/releases/test-2 /opt/kiosk/current" in done


def test_rollback_swaps_current_and_previous(tmp_path: Path) -> None:
    root = installed_root(tmp_path)
    (root / "opt/kiosk/previous").symlink_to("/opt/kiosk/releases/test-0")
    result = run("--dry-run", "--root", str(root), "--rollback")
    assert actions(result.stdout) == [
        "ln -sfn /opt/kiosk/releases/test-0 /opt/kiosk/current",
        "ln -sfn /opt/kiosk/releases/test-1 /opt/kiosk/previous",
        "systemctl restart kiosk.service",
    ]


def test_refuses_to_change_a_fake_root() -> None:
    result = run("--root", "/tmp/x")
    assert result.returncode == 1
    assert "--root is only for --dry-run" in result.stderr


def test_unknown_option_shows_usage() -> None:
    result = run("--frobnicate")
    assert result.returncode == 1
    assert "unknown option: --frobnicate" in result.stderr
    assert "--dry-run" in result.stderr


def test_with_simulator_also_enables_the_demo_simulator(tmp_path: Path) -> None:
    root = installed_root(tmp_path)
    result = run("--dry-run", "--root", str(root), "--release", "test-1", "--with-simulator")
    done = actions(result.stdout)
    assert "systemctl enable kiosk-simulator.service" in done
    assert done[-1] == "systemctl restart kiosk.service"


def test_syntax_and_help() -> None:
    assert subprocess.run(["bash", "-n", str(SCRIPT)], check=False).returncode == 0
    result = run("--help")
    assert result.returncode == 0
    assert "--rollback" in result.stdout and "Idempotent" in result.stdout
