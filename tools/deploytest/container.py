"""Boot a throwaway copy of the cached rootfs with `systemd-nspawn -b` and run commands in it.

Why this shape: on a host whose PID 1 is not systemd (CI containers, this sandbox) nspawn can
still boot a container with `--register=no --keep-unit` (no machined, no scope unit), but
`machinectl shell` is unavailable, so commands enter the container's namespaces with `nsenter`
on its PID 1, with a clean environment (the host's PIP_*, PATH etc. must not leak in). The
container shares the host's network (the Debian mirror and PyPI), nothing else.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

CLEAN_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
    "TERM": "dumb",
}


class ContainerError(Exception):
    pass


class Booted:
    """A booted container; `run()` executes inside it. Use as a context manager."""

    def __init__(self, rootfs: Path, name: str = "kiosk-deploy-test") -> None:
        self.base = rootfs
        self.name = name
        self.work = Path(tempfile.mkdtemp(prefix="kiosk-deploy-"))
        self.root = self.work / "root"
        self.overlay = False
        self.nspawn: subprocess.Popen[bytes] | None = None
        self.pid1 = 0
        self.boot_s = 0.0

    def __enter__(self) -> Booted:
        try:
            self._prepare_root()
            self._boot()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _prepare_root(self) -> None:
        """An overlay on the cached tree (instant); a copy when overlayfs is not allowed."""
        upper, scratch = self.work / "upper", self.work / "scratch"
        for path in (self.root, upper, scratch):
            path.mkdir()
        options = f"lowerdir={self.base},upperdir={upper},workdir={scratch}"
        mounted = subprocess.run(
            ["mount", "-t", "overlay", "overlay", "-o", options, str(self.root)],
            capture_output=True,
            check=False,
        )
        self.overlay = mounted.returncode == 0
        if not self.overlay:
            self.root.rmdir()
            subprocess.run(["cp", "-a", str(self.base), str(self.root)], check=True)

    def _boot(self) -> None:
        started = time.monotonic()
        log = (self.work / "console.log").open("wb")
        self.nspawn = subprocess.Popen(
            ["systemd-nspawn", "--quiet", "--boot", "--register=no", "--keep-unit",
             f"--machine={self.name}", "--console=passive", f"--directory={self.root}"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        deadline = started + 120
        while not self.pid1:
            if self.nspawn.poll() is not None or time.monotonic() > deadline:
                raise ContainerError(f"nspawn did not start:\n{self.console()}")
            self.pid1 = self._container_init()
            time.sleep(0.1)
        while True:
            state = self.run("systemctl is-system-running", check=False).stdout.strip()
            if state in ("running", "degraded"):
                break
            if time.monotonic() > deadline:
                raise ContainerError(f"the container's systemd is {state!r}:\n{self.console()}")
            time.sleep(0.3)
        self.boot_s = time.monotonic() - started

    def _container_init(self) -> int:
        """PID of the container's systemd: the nspawn process's child."""
        assert self.nspawn is not None
        children = Path(f"/proc/{self.nspawn.pid}/task/{self.nspawn.pid}/children")
        try:
            pids = children.read_text().split()
        except OSError:
            return 0
        for pid in pids:
            try:
                if Path(f"/proc/{pid}/comm").read_text().strip() == "systemd":
                    return int(pid)
            except OSError:
                continue
        return 0

    def reboot(self) -> float:
        """Power the container off cleanly and boot it again on the same files (nspawn exits
        on a reboot; a Pi's firmware would start it again). Seconds until systemd is up."""
        assert self.nspawn is not None
        self.run("systemctl poweroff", check=False, timeout=60)
        self.nspawn.wait(timeout=120)
        self.pid1 = 0
        self._boot()
        return self.boot_s

    def console(self) -> str:
        path = self.work / "console.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def run(
        self, command: str, *, user: str | None = None, check: bool = True, timeout: float = 900
    ) -> subprocess.CompletedProcess[str]:
        """`command` through bash inside the container: as root, or as ``user`` in a login
        shell (its own HOME and PATH, like ssh)."""
        argv = ["bash", "-c", command]
        if user is not None:
            argv = ["runuser", "--login", user, "--command", command]
        done = subprocess.run(
            ["nsenter", f"--target={self.pid1}", "--mount", "--uts", "--ipc", "--net", "--pid",
             "--cgroup", "--root", "--wd", "--", "env", "-i",
             *(f"{k}={v}" for k, v in CLEAN_ENV.items()), *argv],
            capture_output=True, text=True, timeout=timeout, check=False,
            cwd="/",
        )  # fmt: skip
        if check and done.returncode != 0:
            raise ContainerError(
                f"{shlex.join(argv)} exited {done.returncode}\n"
                f"--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
            )
        return done

    def copy_in(self, source: Path, target: str) -> None:
        """Copy a host directory into the container's file system (root-owned)."""
        destination = self.root / target.lstrip("/")
        shutil.copytree(source, destination, symlinks=True, dirs_exist_ok=True)

    def close(self) -> None:
        if self.nspawn is not None and self.nspawn.poll() is None:
            if self.pid1:
                self.run("systemctl poweroff", check=False, timeout=30)
            try:
                self.nspawn.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.nspawn.pid, signal.SIGKILL)
                self.nspawn.wait(timeout=30)
        if self.overlay:
            self._unmount()
        subprocess.run(["rm", "-rf", "--one-file-system", str(self.work)], check=False)

    def _unmount(self) -> None:
        """Never delete through a live overlay: wait for the container's last users to go."""
        for _ in range(50):
            if subprocess.run(["umount", str(self.root)], capture_output=True).returncode == 0:
                return
            time.sleep(0.2)
        subprocess.run(["umount", "--lazy", str(self.root)], check=False)
