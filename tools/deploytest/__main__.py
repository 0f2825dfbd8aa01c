"""`make deploy-test`: install the kiosk the way the docs tell a Pi admin to, on Debian 12
booted with systemd in a container, and check what the field needs.

Why here and not in pytest: it needs root, debootstrap, systemd-nspawn and a minute or more;
`.ci/run` calls it after `make test`. It prints one JSON object per check or figure and exits 1
when any check fails. Only difference from a Pi: a drop-in gives the unit SDL's dummy video
driver and no chvt/VT (a container has no DRM device and no virtual terminals).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tools.deploytest.container import Booted, ContainerError
from tools.deploytest.rootfs import ADMIN, CACHE, cache_lock, ensure_rootfs

ROOT = Path(__file__).resolve().parents[2]
CLONE = f"/home/{ADMIN}/paypay-kiosk"
COPY = f"/home/{ADMIN}/kiosk-copy"
WHEELHOUSE = f"/home/{ADMIN}/wheelhouse"
DROP_IN = """\
# deploy-test only: a container has no DRM device and no virtual terminal to switch to
[Service]
Environment=SDL_VIDEODRIVER=dummy
ExecStartPre=
"""
# A container has no /dev/tty7 either: a pseudo-terminal stands in for it (the unit's
# TTYPath=/dev/tty7 and StandardInput=tty-fail stay as shipped), from a unit of its own so it
# is there at every boot before the kiosk starts.
FAKE_TTY7 = """\
import os, pty, time
leader, follower = pty.openpty()
if os.path.lexists("/dev/tty7"):
    os.unlink("/dev/tty7")
os.symlink(os.ttyname(follower), "/dev/tty7")
while True:
    try:
        os.read(leader, 4096)
    except OSError:
        time.sleep(0.5)
"""
FAKE_TTY7_UNIT = """\
[Unit]
Description=deploy-test: a pseudo-terminal as /dev/tty7 (a container has no VTs)
Before=kiosk.service
[Service]
ExecStart=/usr/bin/python3 /usr/local/sbin/fake-tty7
ExecStartPost=/bin/sh -c 'for i in $(seq 100); do [ -e /dev/tty7 ] && exit 0; sleep 0.1; done'
[Install]
WantedBy=multi-user.target
"""


class Report:
    def __init__(self) -> None:
        self.failed: list[str] = []
        self.started = time.monotonic()

    def emit(self, **fields: object) -> None:
        sys.stdout.write(json.dumps(fields, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    def check(self, name: str, ok: bool, detail: object = "") -> bool:
        self.emit(check=name, ok=ok, detail=detail)
        if not ok:
            self.failed.append(name)
        return ok

    def figure(self, name: str, value: float, unit: str) -> None:
        self.emit(figure=name, value=round(value, 2), unit=unit)


def show(box: Booted, *props: str, unit: str = "kiosk.service") -> dict[str, str]:
    out = box.run(f"systemctl show {unit} " + " ".join(f"-p {p}" for p in props)).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def wait_until(what: str, probe: Callable[[], bool], timeout_s: float) -> float:
    """Seconds until ``probe`` held; raises ContainerError past the timeout."""
    started = time.monotonic()
    while not probe():
        if time.monotonic() - started > timeout_s:
            raise ContainerError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.2)
    return time.monotonic() - started


def running(box: Booted) -> dict[str, str]:
    return show(box, "ActiveState", "SubState", "MainPID", "NRestarts", "StatusText")


def release_of(box: Booted, pid: str) -> str:
    """The release a process runs from: its interpreter lives in the release's venv."""
    argv = box.run(f"tr '\\0' ' ' < /proc/{pid}/cmdline").stdout
    found = re.search(r"/opt/kiosk/releases/([^/]+)/", argv)
    return found.group(1) if found else f"? ({argv})"


def admin(box: Booted, command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return box.run(command, user=ADMIN, check=check)


def install(box: Booted, report: Report, label: str, command: str) -> str:
    """Run an install.sh command as the admin; the release it left running."""
    started = time.monotonic()
    done = admin(box, command, check=False)
    report.figure(f"install_s.{label}", time.monotonic() - started, "s")
    ok = report.check(f"{label}: install.sh exits 0", done.returncode == 0, done.stderr[-1500:])
    if not ok:
        report.emit(stdout=done.stdout[-3000:])
        raise ContainerError(f"{label} failed")
    state = running(box)
    report.check(
        f"{label}: kiosk.service running",
        state["ActiveState"] == "active" and state["SubState"] == "running",
        state,
    )
    return release_of(box, state["MainPID"])


def prepare_source(box: Booted, report: Report) -> None:
    """The admin's clone: this tree's tracked files, committed, owned by uid 1000."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout  # fmt: skip
    with tempfile.TemporaryDirectory() as scratch:
        target = Path(scratch) / "src"
        target.mkdir()
        _copy_listed(files, target)
        box.copy_in(target, CLONE)
    box.run(f"chown -R {ADMIN}:{ADMIN} {CLONE}")
    admin(
        box,
        "git config --global user.name Admin && git config --global user.email admin@pi.invalid"
        f" && cd {CLONE} && git init -q && git add -A && git commit -q -m source",
    )
    report.emit(step="source", clone=CLONE)


def _copy_listed(listing: bytes, target: Path) -> None:
    for name in filter(None, listing.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def prepare_wheelhouse(box: Booted, report: Report) -> None:
    """`make wheelhouse` on the host (same Python ABI as the container), cached by the lock."""
    lock = (ROOT / "requirements.lock").read_bytes()
    cached = CACHE / f"wheelhouse-{hashlib.sha256(lock).hexdigest()[:16]}"
    with cache_lock():
        if not (cached / ".complete").exists():
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
                 "--dest", str(cached), "-r", str(ROOT / "requirements.lock")],
                check=True, env={**os.environ, "PIP_CONFIG_FILE": "/dev/null"},
            )  # fmt: skip
            (cached / ".complete").touch()
    box.copy_in(cached, WHEELHOUSE)
    box.run(f"chown -R {ADMIN}:{ADMIN} {WHEELHOUSE}")
    report.emit(step="wheelhouse", wheels=len(list(cached.glob("*.whl"))))


def trust_host_cas(box: Booted, report: Report) -> None:
    """This machine reaches PyPI through a TLS-inspecting proxy whose CA only the host trusts;
    a Pi behind such a proxy needs the same step. Without a proxy this changes nothing."""
    bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    target = box.root / "usr/local/share/ca-certificates/host-bundle.crt"
    shutil.copyfile(bundle, target)
    box.run("update-ca-certificates >/dev/null 2>&1")
    box.run("echo '127.0.1.1 kiosk-pi' >> /etc/hosts")  # as a Pi image has it (sudo asks)
    report.emit(step="host CAs trusted in the container", bundle=str(bundle))


def add_drop_in(box: Booted) -> None:
    (box.root / "usr/local/sbin/fake-tty7").write_text(FAKE_TTY7)
    (box.root / "etc/systemd/system/fake-tty7.service").write_text(FAKE_TTY7_UNIT)
    box.run(
        "systemctl daemon-reload && systemctl enable --now --quiet fake-tty7.service && "
        "for i in $(seq 50); do [ -e /dev/tty7 ] && exit 0; sleep 0.1; done; exit 1"
    )
    box.run(
        "mkdir -p /etc/systemd/system/kiosk.service.d && "
        f"cat > /etc/systemd/system/kiosk.service.d/deploy-test.conf <<'EOF'\n{DROP_IN}EOF"
    )


def scenario(box: Booted, report: Report) -> None:
    report.figure("boot_s", box.boot_s, "s")
    prepare_source(box, report)
    prepare_wheelhouse(box, report)
    trust_host_cas(box, report)
    add_drop_in(box)

    first = install(box, report, "fresh", f"cd {CLONE} && sudo systemd/install.sh")
    report.check(
        "fresh: release named version-gCOMMIT",
        bool(re.match(r"0\.1\.0-g[0-9a-f]{10}$", first)),
        first,
    )
    fresh_state = running(box)
    time.sleep(6)
    later = running(box)
    report.check(
        "demo without credentials: no restarts",
        later["NRestarts"] == "0" and later["MainPID"] == fresh_state["MainPID"],
        later,
    )
    report.check(
        "READY reached systemd (Type=notify active)",
        later["ActiveState"] == "active",
        later["ActiveState"],
    )
    report.check("STATUS reached systemd", bool(later["StatusText"]), later["StatusText"])
    pings = [show(box, "WatchdogTimestampMonotonic")["WatchdogTimestampMonotonic"]]
    time.sleep(3)
    pings.append(show(box, "WatchdogTimestampMonotonic")["WatchdogTimestampMonotonic"])
    report.check("watchdog pings advance", int(pings[1]) > int(pings[0]) > 0, pings)

    check_operator_commands(box, report)
    check_ownership(box, report)
    check_boot_settings(box, report)
    again = admin(box, f"cd {CLONE} && sudo systemd/install.sh", check=False)
    report.check(
        "second run: nothing to do, no restart",
        again.returncode == 0
        and "\n+ " not in "\n" + again.stdout
        and running(box)["MainPID"] == later["MainPID"],
        again.stdout[-800:],
    )

    check_restarts(box, report)

    admin(box, f"cd {CLONE} && echo '# a change' >> kiosk/__init__.py && git commit -qam update")
    second = install(box, report, "update", f"cd {CLONE} && sudo systemd/install.sh")
    report.check(
        "update: a new commit is a new release",
        second != first and second.startswith("0.1.0-g"),
        [first, second],
    )
    rolled = install(box, report, "rollback", f"cd {CLONE} && sudo systemd/install.sh --rollback")
    report.check("rollback returns to the previous release", rolled == first, [rolled, first])

    admin(
        box,
        f"cp -r {CLONE} {COPY} && rm -rf {COPY}/.git"
        f" && echo '# copied' >> {COPY}/kiosk/__init__.py",
    )
    copied = install(
        box, report, "copy-offline",
        f"sudo unshare --net {COPY}/systemd/install.sh --wheelhouse {WHEELHOUSE}",
    )  # fmt: skip
    report.check(
        "copied source without git, offline from a wheelhouse: installed",
        copied.startswith("0.1.0-s") and copied not in (first, second),
        copied,
    )
    check_ownership(box, report)
    check_failure_is_exit_1(box, report, copied)
    check_reboot(box, report, copied)
    check_stop(box, report)


def check_failure_is_exit_1(box: Booted, report: Report, current: str) -> None:
    """install.sh exits 0 only when the kiosk runs: with a broken configuration a rollback
    (which restarts) exits 1 and shows why; fixed, rolling forward again exits 0."""
    box.run(
        "cp /etc/kiosk/kiosk.toml /root/ && "
        "sed -i '0,/^mode = .*/s//mode = \"bogus\"/' /etc/kiosk/kiosk.toml"
    )
    broken = admin(box, f"cd {CLONE} && sudo systemd/install.sh --rollback", check=False)
    report.check(
        "install.sh exits 1 when the kiosk does not run, naming the problem",
        broken.returncode == 1
        and "kiosk.service is not running" in broken.stderr
        and "/etc/kiosk/kiosk.toml: mode: " in broken.stderr,
        broken.stderr[-1200:],
    )
    box.run("cp /root/kiosk.toml /etc/kiosk/kiosk.toml")
    back = install(box, report, "roll-forward", f"cd {CLONE} && sudo systemd/install.sh --rollback")
    report.check("fixed, a second --rollback returns to the newer release", back == current, back)


def check_reboot(box: Booted, report: Report, release: str) -> None:
    """After a power cycle the enabled kiosk comes up by itself, on the same release."""
    report.figure("reboot_to_systemd_up_s", box.reboot(), "s")
    took = wait_until(
        "the kiosk after a reboot",
        lambda: running(box)["SubState"] == "running",
        timeout_s=120,
    )
    report.figure("reboot_systemd_up_to_kiosk_running_s", took, "s")
    state = running(box)
    ok = release_of(box, state["MainPID"]) == release and state["NRestarts"] == "0"
    log = "" if ok else box.run("journalctl -b -u kiosk -u fake-tty7 --no-pager").stdout
    report.check(
        "after a reboot the kiosk runs by itself, same release, no restarts",
        ok,
        {**state, "log": log[-2500:]},
    )


def check_operator_commands(box: Booted, report: Report) -> None:
    said = "state dir: /var/lib/kiosk (the installed service's directory)"
    status = admin(box, "sudo kiosk status", check=False)
    report.check(
        "root's kiosk status reads the service's status",
        status.returncode == 0 and said in status.stderr and "running" in status.stdout,
        status.stdout + status.stderr,
    )
    root_shell = box.run("bash -lc 'kiosk journal list'", check=False)
    report.check(
        "root's kiosk journal list uses /var/lib/kiosk",
        root_shell.returncode == 0 and said in root_shell.stderr,
        root_shell.stdout + root_shell.stderr,
    )
    doctor = admin(box, "sudo kiosk doctor --color never", check=False)
    report.check(
        "root's kiosk doctor checks the service's journal",
        said in doctor.stderr and "ok   journal    /var/lib/kiosk/journal.sqlite3" in doctor.stdout,
        doctor.stdout + doctor.stderr,
    )
    link = box.run(
        "readlink /var/lib/kiosk/status.json; findmnt -no FSTYPE -T /run/kiosk"
    ).stdout.split()
    report.check(
        "status file on /run (tmpfs) behind the state dir's symlink",
        link == ["/run/kiosk/status.json", "tmpfs"],
        link,
    )


def check_ownership(box: Booted, report: Report) -> None:
    paths = (
        "/opt/kiosk /usr/local/bin/kiosk /etc/systemd/system/kiosk.service /etc/kiosk/kiosk.toml"
    )
    writable = admin(
        box, f"find -L {paths} -writable 2>/dev/null | head -5", check=False
    ).stdout.split()
    report.check("service files not writable by the admin", writable == [], writable)
    foreign = box.run("find /opt/kiosk ! -user root | head -5").stdout.split()
    report.check("every file of every release owned by root", foreign == [], foreign)


def check_boot_settings(box: Booted, report: Report) -> None:
    manager = show(box, "RuntimeWatchdogUSec", unit="")
    report.check(
        "hardware watchdog within the Pi's 15 s",
        manager.get("RuntimeWatchdogUSec") == "14s",
        manager,
    )
    wait = show(box, "TimeoutStartUSec", unit="systemd-time-wait-sync.service")
    report.check("time-sync wait bounded", wait.get("TimeoutStartUSec") == "1min 30s", wait)
    cmdline = box.run("cat /boot/firmware/cmdline.txt").stdout
    report.check(
        "quiet boot: console moved off tty1",
        "console=tty3" in cmdline and " quiet" in cmdline,
        cmdline.strip(),
    )
    getty = box.run("systemctl is-enabled getty@tty1.service", check=False).stdout.strip()
    report.check("no login prompt on tty1 at boot", getty == "disabled", getty)


def check_restarts(box: Booted, report: Report) -> None:
    before = running(box)
    box.run(f"kill -STOP {before['MainPID']}")
    took = wait_until(
        "the watchdog to restart a frozen kiosk",
        lambda: (
            (s := running(box))["MainPID"] not in ("0", before["MainPID"])
            and s["SubState"] == "running"
        ),
        timeout_s=90,
    )
    report.figure("frozen_to_running_again_s", took, "s")
    log = box.run("journalctl -u kiosk.service --no-pager -n 60").stdout
    report.check(
        "a frozen kiosk is killed by the watchdog and restarted",
        "Watchdog timeout" in log,
        log[-600:],
    )
    before = running(box)
    box.run(f"kill -9 {before['MainPID']}")
    took = wait_until(
        "a restart after kill -9",
        lambda: (
            (s := running(box))["MainPID"] not in ("0", before["MainPID"])
            and s["SubState"] == "running"
        ),
        timeout_s=60,
    )
    report.figure("kill9_to_running_again_s", took, "s")
    report.check(
        "kill -9 restarts", int(running(box)["NRestarts"]) > int(before["NRestarts"]), running(box)
    )


def check_stop(box: Booted, report: Report) -> None:
    started = time.monotonic()
    box.run("systemctl stop kiosk.service")
    took = time.monotonic() - started
    report.figure("clean_stop_s", took, "s")
    result = show(box, "Result", "ExecMainStatus")
    report.check("clean stop under 10 s", took < 10 and result["Result"] == "success", result)


def main() -> int:
    report = Report()
    install_sh = ROOT / "systemd" / "install.sh"
    started = time.monotonic()
    tree, built = ensure_rootfs(install_sh)
    report.figure("rootfs_s" + (".built" if built else ".cached"), time.monotonic() - started, "s")
    try:
        with Booted(tree) as box:
            scenario(box, report)
    except ContainerError as exc:
        report.check("scenario completed", False, str(exc)[-3000:])
    report.figure("deploy_test_s", time.monotonic() - report.started, "s")
    if report.failed:
        sys.stderr.write(f"deploy-test: {len(report.failed)} check(s) failed: {report.failed}\n")
        return 1
    sys.stderr.write("deploy-test: all checks passed\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
