"""A real Mosquitto and a real PostgreSQL in temporary directories, for tests, the demo and soak.

Why: the fleet's promises (nothing lost, nothing counted twice) only mean something against the
real broker and the real database, so the suite starts Debian's own `mosquitto` and
`postgresql` binaries on free 127.0.0.1 ports instead of mocking them. PostgreSQL refuses to
run as root and CI runs as root: then `initdb` and `postgres` run as the unprivileged user
`nobody`, who owns the data directory. Debian's own cluster (if the package started one) is
never used. Nothing here is product code.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

PG_ROOT = Path("/usr/lib/postgresql")
MOSQUITTO = Path("/usr/sbin/mosquitto")
UNPRIVILEGED = "nobody"


class ServerError(RuntimeError):
    """A test server could not be started; the message says which and why."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pg_bin() -> Path:
    """The newest installed PostgreSQL's bin directory (the version is found, not assumed)."""
    found = sorted(
        (p for p in PG_ROOT.glob("*/bin") if (p / "postgres").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if not found:
        raise ServerError(f"no PostgreSQL under {PG_ROOT}: apt-get install postgresql")
    return found[-1]


def _wait_port(port: int, proc: subprocess.Popen[bytes], what: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerError(f"{what} exited ({proc.returncode}): {_tail(log)}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise ServerError(f"{what} did not listen on {port} within 30 s: {_tail(log)}")


def _tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-2000:]
    except OSError:
        return "(no log)"


def _stop(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@dataclass
class Mosquitto:
    """One broker. `stop()`/`start()` again keeps its port and its persistence file, like a
    real broker restart; `extra` is appended to its configuration (ACLs, passwords)."""

    directory: Path
    port: int = field(default_factory=free_port)
    extra: str = ""
    anonymous: bool = True
    proc: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def config_text(self) -> str:
        lines = [
            f"listener {self.port} 127.0.0.1",
            f"allow_anonymous {'true' if self.anonymous else 'false'}",
            "persistence true",
            f"persistence_location {self.directory}/",
            "max_queued_messages 0",  # unlimited: never drop a queued QoS 1 message
            "max_inflight_messages 100",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
        ]
        if os.geteuid() == 0:
            lines.append("user root")  # stay the owner of the temporary directory
        return "\n".join(lines) + "\n" + self.extra

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        conf = self.directory / "mosquitto.conf"
        conf.write_text(self.config_text())
        log_path = self.directory / "mosquitto.log"
        self._log = log_path.open("ab")
        self.proc = subprocess.Popen(
            [str(MOSQUITTO), "-c", str(conf)], stdout=self._log, stderr=subprocess.STDOUT
        )
        _wait_port(self.port, self.proc, "mosquitto", log_path)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        _stop(self.proc, sig)
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None


@dataclass
class Postgres:
    """One PostgreSQL cluster (fsync off: it is a test server), superuser `postgres`, trust
    authentication on 127.0.0.1 only. `dsn(db)` names a database; `create_db` makes one."""

    directory: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    def dsn(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def _as_owner(self) -> dict[str, Any]:
        if os.geteuid() != 0:
            return {}
        user = pwd.getpwnam(UNPRIVILEGED)
        return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}

    def start(self) -> None:
        data = self.directory / "data"
        bindir = pg_bin()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"}
        if not data.exists():
            self.directory.mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0:
                user = pwd.getpwnam(UNPRIVILEGED)
                os.chown(self.directory, user.pw_uid, user.pw_gid)
            init = subprocess.run(
                [
                    *(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"),
                    *("-E", "UTF8", "--locale=C", "--no-sync"),
                ],
                capture_output=True,
                env=env,
                cwd=self.directory,
                check=False,
                **self._as_owner(),
            )
            if init.returncode:
                raise ServerError(f"initdb failed: {init.stderr.decode(errors='replace')}")
        log_path = self.directory / "postgres.log"
        with log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    *(str(bindir / "postgres"), "-D", str(data), "-p", str(self.port)),
                    *("-k", str(self.directory), "-c", "listen_addresses=127.0.0.1"),
                    *("-c", "fsync=off", "-c", "synchronous_commit=off"),
                    *("-c", "full_page_writes=off", "-c", "max_connections=300"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.directory,
                **self._as_owner(),
            )
        _wait_port(self.port, self.proc, "postgres", log_path)
        self._wait_ready()

    def _wait_ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(self.dsn(), connect_timeout=2):
                    return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise ServerError(f"postgres not ready: {exc}") from exc
                time.sleep(0.1)

    def create_db(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def stop(self) -> None:
        _stop(self.proc, signal.SIGINT)  # "fast" shutdown
        self.proc = None


def scratch_dir(prefix: str) -> Path:
    """A fresh directory under the system temp dir (not pytest's root-only one: `nobody` must
    be able to reach a PostgreSQL data directory inside it)."""
    return Path(tempfile.mkdtemp(prefix=prefix))


def remove(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
