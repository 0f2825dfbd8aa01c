"""install.sh --dry-run against a fake root: every action printed, nothing changed, and a
second look at an already-installed root finds nothing left to do."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
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
    assert "install -d -m 0755 -o root -g root /etc/kiosk/images" in done
    assert f"python3 -m venv {RELEASE}" in done
    pip = f"{RELEASE}/bin/pip install --quiet --disable-pip-version-check"
    lock = f"--constraint {RELEASE}/app/requirements.lock"
    assert f"{pip} {lock} setuptools" in done
    assert f"{pip} --no-build-isolation {lock} '{RELEASE}/app[gpio]'" in done
    assert f"touch {RELEASE}/.complete" in done
    assert f"ln -sfn {RELEASE} /opt/kiosk/current" in done
    assert "ln -sfn /opt/kiosk/current/bin/kiosk /usr/local/bin/kiosk" in done
    assert (
        f"install -m 0640 -o root -g kiosk {REPO}/kiosk/assets/kiosk.example.toml "
        "/etc/kiosk/kiosk.toml"
    ) in done
    assert (
        "sed -i -E '1 s/ ?consoleblank(=[^ ]*)?( |$)/\\2/; 1 s/$/ consoleblank=0/' "
        "/boot/firmware/cmdline.txt"
    ) in done
    assert (
        "sed -i -E '1 s/(^| )console=tty1( |$)/\\1console=tty3\\2/' /boot/firmware/cmdline.txt"
        in (done)
    )
    assert "systemctl mask getty@tty7.service" in done
    assert "systemctl mask autovt@tty7.service" in done
    assert (
        f"install -D -m 0644 {REPO}/systemd/kiosk.service /etc/systemd/system/kiosk.service" in done
    )
    assert (
        f"install -D -m 0644 {REPO}/systemd/watchdog.conf "
        "/etc/systemd/system.conf.d/kiosk-watchdog.conf"
    ) in done
    assert done[-5:] == [
        "systemctl daemon-reexec",
        "systemctl enable kiosk.service",
        "systemctl enable systemd-timesyncd.service",
        "systemctl enable systemd-time-wait-sync.service",
        "systemctl restart kiosk.service",
    ]
    assert "kiosk-simulator.service" not in " ".join(a for a in done if "enable" in a)


def test_the_quiet_boot_edits_are_right_and_idempotent(tmp_path: Path) -> None:
    """The sed lines the script prints, applied to a Pi's cmdline.txt: one line, our values
    replace old ones, the console leaves tty1, and a second look finds nothing to do."""
    root = fresh_root(tmp_path)
    cmdline = root / "boot/firmware/cmdline.txt"
    cmdline.write_text("console=serial0,115200 console=tty1 root=PARTUUID=1 consoleblank=600\n")
    for action in actions(run("--dry-run", "--root", str(root), "--release", "t").stdout):
        if action.startswith("sed -i"):
            command = action.replace("/boot/firmware/cmdline.txt", str(cmdline))
            subprocess.run(["bash", "-c", command], check=True)
    assert cmdline.read_text() == (
        "console=serial0,115200 console=tty3 root=PARTUUID=1 consoleblank=0 quiet loglevel=3 "
        "logo.nologo vt.global_cursor_default=0\n"
    )
    again = run("--dry-run", "--root", str(root), "--release", "t").stdout
    assert not [a for a in actions(again) if a.startswith("sed")]
    assert "= quiet boot in /boot/firmware/cmdline.txt" in again


def installed_root(tmp_path: Path) -> Path:
    """What a completed install leaves behind."""
    root = fresh_root(tmp_path)
    (root / "etc/passwd").write_text("root:x:0:0::/root:/bin/bash\nkiosk:x:999:999::/:/x\n")
    (root / "etc/group").write_text(
        "video:x:44:kiosk\nrender:x:105:pi,kiosk\ninput:x:104:kiosk\naudio:x:29:kiosk\n"
        "gpio:x:997:kiosk,pi\n"
    )
    (root / "boot/firmware/cmdline.txt").write_text(
        "console=tty3 rootwait consoleblank=0 quiet loglevel=3 logo.nologo "
        "vt.global_cursor_default=0\n"
    )
    for directory in ("etc/kiosk/credentials", "etc/kiosk/images", "opt/kiosk/releases"):
        (root / directory).mkdir(parents=True)
    (root / "etc/kiosk/kiosk.toml").write_text('mode = "demo"\n')
    (root / f"{RELEASE.lstrip('/')}/bin").mkdir(parents=True)
    kiosk = root / f"{RELEASE.lstrip('/')}/bin/kiosk"
    kiosk.write_text("#!/bin/sh\n")
    kiosk.chmod(0o755)
    (root / f"{RELEASE.lstrip('/')}/.complete").touch()
    (root / "opt/kiosk/current").symlink_to(RELEASE)
    (root / "usr/local/bin").mkdir(parents=True)
    (root / "usr/local/bin/kiosk").symlink_to("/opt/kiosk/current/bin/kiosk")
    system = root / "etc/systemd/system"
    for target in ("multi-user.target.wants", "sysinit.target.wants"):
        (system / target).mkdir(parents=True)
    for unit in ("kiosk.service", "kiosk-simulator.service"):
        (system / unit).write_bytes((REPO / "systemd" / unit).read_bytes())
    (system / "systemd-time-wait-sync.service.d").mkdir()
    (system / "systemd-time-wait-sync.service.d/kiosk.conf").write_bytes(
        (REPO / "systemd/time-wait-sync.conf").read_bytes()
    )
    (root / "etc/systemd/system.conf.d").mkdir()
    (root / "etc/systemd/system.conf.d/kiosk-watchdog.conf").write_bytes(
        (REPO / "systemd/watchdog.conf").read_bytes()
    )
    (system / "getty@tty7.service").symlink_to("/dev/null")
    (system / "autovt@tty7.service").symlink_to("/dev/null")
    (system / "multi-user.target.wants/kiosk.service").symlink_to("../kiosk.service")
    for unit in ("systemd-timesyncd.service", "systemd-time-wait-sync.service"):
        (system / "sysinit.target.wants" / unit).symlink_to(f"/lib/systemd/system/{unit}")
    return root


def test_second_run_finds_everything_done(tmp_path: Path) -> None:
    root = installed_root(tmp_path)
    before = snapshot(root)
    result = run("--dry-run", "--root", str(root), "--release", "test-1")
    assert result.returncode == 0, result.stderr
    assert snapshot(root) == before
    # only the packages step may still act (the fake root has no dpkg database), and the
    # restart that any action brings
    assert [a for a in actions(result.stdout) if "apt-get" not in a] == [
        "systemctl restart kiosk.service"
    ]
    for line in (
        "= user kiosk exists",
        "= user kiosk in group render",
        "= release test-1 installed in /opt/kiosk/releases/test-1",
        "= current release is test-1",
        "= kept existing /etc/kiosk/kiosk.toml",
        "= /usr/local/bin/kiosk -> /opt/kiosk/current/bin/kiosk",
        "= getty@tty7.service masked (no login prompt on the kiosk's VT)",
        "= /etc/systemd/system/kiosk.service up to date",
        "= /etc/systemd/system.conf.d/kiosk-watchdog.conf up to date",
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
    assert result.returncode == 1  # test-0 was never completed
    assert "the previous release /opt/kiosk/releases/test-0 is incomplete" in result.stderr
    (root / "opt/kiosk/releases/test-0").mkdir()
    (root / "opt/kiosk/releases/test-0/.complete").touch()
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


def release_dir(output: str) -> str:
    (line,) = [a for a in actions(output) if a.startswith("copy ")]
    return line.split(" to ")[1].split("/app ")[0].removeprefix("/opt/kiosk/releases/")


def test_release_name_is_version_and_commit_or_a_hash_of_the_source(tmp_path: Path) -> None:
    """The commit names a clean clone (git run as root in the admin's clone is allowed by
    safe.directory); a copy without git, or local changes, is named by its content, so an
    update from a copied source is never mistaken for the installed release."""
    source = tmp_path / "src"
    for name in ("kiosk/__init__.py", "pyproject.toml", "requirements.lock", "README.md",
                 "LICENSE", "systemd/kiosk.service"):  # fmt: skip
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes((REPO / name).read_bytes())
    git = ["git", "-C", str(source), "-c", "user.name=a", "-c", "user.email=a@b.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    commit = subprocess.run(
        [*git, "rev-parse", "--short=10", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    root = fresh_root(tmp_path)

    def name() -> str:
        return release_dir(run("--dry-run", "--root", str(root), "--source", str(source)).stdout)

    assert name() == f"0.1.0-g{commit}"
    (source / "kiosk/__init__.py").write_text("# changed\n")
    changed = name()
    assert re.fullmatch(r"0\.1\.0-s[0-9a-f]{10}", changed)
    shutil.rmtree(source / ".git")
    assert name() == changed  # the same content, with or without git
    (source / "kiosk/__init__.py").write_text("# changed again\n")
    assert name() not in (changed, f"0.1.0-g{commit}")


def test_the_lock_pins_every_dependency_and_the_build_backend() -> None:
    """install.sh installs with --constraint requirements.lock: a dependency missing from it
    would float, so every kiosk of a fleet could run a different version."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    wanted = [*project["dependencies"], *extras["gpio"], *extras["fleet"], "setuptools"]
    names = {re.split(r"[<>=!~ \[;]", spec, maxsplit=1)[0].lower() for spec in wanted}
    pinned = dict(
        line.split("==")
        for line in (REPO / "requirements.lock").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )
    assert names <= set(pinned), f"{names - set(pinned)} not pinned: run make lock"
    assert all(re.fullmatch(r"[0-9][0-9a-z.+]*", version) for version in pinned.values())


def test_fleet_installs_the_fleet_extra_as_a_release_of_its_own(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    done = actions(run("--dry-run", "--root", str(root), "--fleet").stdout)
    name = release_dir("\n".join(f"+ {a}" for a in done))
    assert name.endswith("-fleet")
    assert any(a.endswith(f"'/opt/kiosk/releases/{name}/app[gpio,fleet]'") for a in done)
