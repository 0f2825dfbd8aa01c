"""The status file: what the running kiosk is doing, for `kiosk status` and `/healthz`.

Why a file: `kiosk status` runs as another process (often over ssh while the kiosk is busy)
and must not touch the kiosk's screen, journal locks or PayPay. Invariants: the file is
replaced atomically (write a temporary file in the same directory, rename), so a reader sees the
old or the new status, never half of one. It is never fsynced: it says what is happening now and
means nothing after a power cut; under systemd it lives on /run (RuntimeDirectory, a tmpfs) with
a symlink in the state directory, so its heartbeat never wears the SD card and the journal is the
only file that syncs. It holds no secrets; `updated_at` is refreshed at least every
`HEARTBEAT_S` while the kiosk runs, so a stale file means a stopped or frozen kiosk. A write
the filesystem refuses (a full disk) is logged once and tried again later, never raised: the
kiosk must go on saying on its screen and on /healthz (served from memory) why it stops selling.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, tzinfo
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

from kiosk.domain import JST, Totals

FILENAME = "status.json"
HEARTBEAT_S = 10.0
STALE_AFTER_S = 60.0  # several missed heartbeats: the kiosk is stopped or frozen
log = logging.getLogger(__name__)


class StatusError(Exception):
    """The status file is missing or unreadable. The message says what to do."""


@dataclass(frozen=True)
class Status:
    state: str  # starting, idle, a sale phase, out_of_service, stopping, stopped
    pid: int
    mode: str
    started_at: float
    updated_at: float
    last_paypay_ok_at: float | None = None
    journal: str = "ok"  # "ok" or what is wrong with it
    issue: str | None = None  # a ServiceIssue value while out of service
    merchant_payment_id: str | None = None  # the sale in progress
    totals: Totals = field(default_factory=Totals)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Status:
        """Raises ValueError (or TypeError) on anything but a status object of the right types."""
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("totals", {}), dict):
            raise ValueError("not a JSON object of a status")
        data["totals"] = _typed(Totals(**data.get("totals", {})))
        return _typed(cls(**data))

    @property
    def healthy(self) -> bool:
        return self.issue is None and self.journal == "ok" and self.state != "out_of_service"


_Record = TypeVar("_Record", "Status", Totals)
MAX_EPOCH = 1e11  # the year 5138: a bigger time is no time a kiosk wrote
_KINDS: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "float | None": (int, float, type(None)),
    "str | None": (str, type(None)),
    "Totals": (Totals,),
}


def _typed(record: _Record) -> _Record:
    """`record` unchanged when every field holds its annotated type (a file a person or a
    bug wrote may not); else TypeError naming the field."""
    for item in fields(record):
        value: Any = getattr(record, item.name)
        if isinstance(value, bool) or not isinstance(value, _KINDS[str(item.type)]):
            raise TypeError(f"{item.name} is {value!r:.40}, not {item.type}")
        timed = str(item.type).startswith("float") and value is not None
        if timed and not 0 <= float(getattr(record, item.name)) < MAX_EPOCH:
            raise ValueError(f"{item.name} is {value!r:.40}, not a time")
    return record


def write_status(path: Path, status: Status) -> None:
    """Atomically replace ``path`` with ``status``."""
    fd, temporary = tempfile.mkstemp(prefix=".status-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(status.to_json() + "\n")
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def place_status(state: Path, runtime_directory: str | None) -> Path:
    """The file the running kiosk writes. With systemd's $RUNTIME_DIRECTORY: there, and
    ``state``/status.json becomes a symlink to it (readers only need the state directory);
    otherwise ``state``/status.json itself."""
    link = state / FILENAME
    if not runtime_directory:
        if link.is_symlink():
            link.unlink()
        return link
    target = Path(runtime_directory.split(":")[0]) / FILENAME
    if not (link.is_symlink() and os.readlink(link) == str(target)):
        link.unlink(missing_ok=True)
        link.symlink_to(target)
    return target


def read_status(path: Path) -> Status:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        where = f"{path} -> {os.readlink(path)}" if path.is_symlink() else str(path)
        raise StatusError(
            f"{where} does not exist: the kiosk has not run with this state directory since "
            "boot; start it (systemctl start kiosk) or pass the right --config"
        ) from None
    except PermissionError:
        raise StatusError(f"cannot read {path}: permission denied; run with sudo") from None
    try:
        return Status.from_json(text)
    except (ValueError, TypeError, KeyError) as exc:
        raise StatusError(f"{path} is not a kiosk status file ({exc})") from None


def _when(epoch: float | None, now: float, zone: tzinfo) -> str:
    if epoch is None:
        return "never"
    stamp = datetime.fromtimestamp(epoch, zone).isoformat(timespec="seconds")
    return f"{stamp} ({int(now - epoch)} s ago)"


def describe(status: Status, now: float, zone: tzinfo = JST) -> list[str]:
    """The lines `kiosk status` prints, times in `zone` (the day's totals are Japan's day)."""
    age = now - status.updated_at
    if status.state == "stopped":
        running = "NOT RUNNING (stopped)"
    elif age > STALE_AFTER_S:
        running = f"NOT RUNNING (no update for {int(age)} s)"
    else:
        running = "running"
    t = status.totals
    lines = [
        f"kiosk:            {running}, pid {status.pid}, mode {status.mode}",
        f"state:            {status.state}"
        + (f" ({status.issue})" if status.issue else "")
        + (f" sale {status.merchant_payment_id}" if status.merchant_payment_id else ""),
        f"last PayPay call: {_when(status.last_paypay_ok_at, now, zone)}",
        f"today ({t.day or '-'}): {t.count} sales, {t.amount_yen} yen, "
        f"{t.refunded_yen} yen refunded",
        f"journal:          {status.journal}",
        f"status updated:   {_when(status.updated_at, now, zone)}",
    ]
    return lines


def is_running(status: Status, now: float) -> bool:
    return now - status.updated_at <= STALE_AFTER_S and status.state != "stopped"


class StatusKeeper:
    """Holds the current status and writes it when it changes, or at least every
    `HEARTBEAT_S` when `heartbeat()` is called (from the UI loop). Thread-safe."""

    def __init__(self, path: Path, initial: Status, clock: Callable[[], float]) -> None:
        self._path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._status = initial
        self._written_at = float("-inf")
        self._failing = False  # the last write was refused (logged once, until one succeeds)
        self._write(replace(initial, updated_at=clock()))

    @property
    def current(self) -> Status:
        with self._lock:
            return self._status

    def update(self, **changes: Any) -> None:
        with self._lock:
            changed = replace(self._status, **changes)
            if changed == self._status:
                return
            self._write(replace(changed, updated_at=self._clock()))

    def heartbeat(self) -> None:
        with self._lock:
            now = self._clock()
            if now - self._written_at >= HEARTBEAT_S:
                self._write(replace(self._status, updated_at=now))

    def _write(self, status: Status) -> None:
        self._status = status
        self._written_at = status.updated_at  # refused or not: the next try is a heartbeat away
        try:
            write_status(self._path, status)
        except OSError as exc:
            if not self._failing:
                log.error("status file not written; retried path=%s error=%s", self._path, exc)
            self._failing = True
            return
        if self._failing:
            log.warning("status file written again path=%s", self._path)
        self._failing = False


class _HealthHandler(BaseHTTPRequestHandler):
    server: HealthServer

    def do_GET(self) -> None:
        if self.path != "/healthz":
            self.send_error(404)
            return
        status = self.server.current()
        ok = status.healthy and is_running(status, self.server.clock())
        body = json.dumps({"ok": ok, "state": status.state, "issue": status.issue}).encode()
        self.send_response(200 if ok else 503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return  # health probes every few seconds would flood the journal


class HealthServer(ThreadingHTTPServer):
    """GET /healthz on 127.0.0.1 only: 200 when running and in service, else 503."""

    daemon_threads = True

    def __init__(
        self, port: int, current: Callable[[], Status], clock: Callable[[], float]
    ) -> None:
        self.current = current
        self.clock = clock
        super().__init__(("127.0.0.1", port), _HealthHandler)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="healthz", daemon=True)
        thread.start()
        return thread
