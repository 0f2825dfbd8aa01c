"""sd_notify: tell systemd we are ready, alive, what we are doing, and that we are stopping.

Why our own: the protocol is one datagram of `KEY=value` lines to the AF_UNIX socket named by
`$NOTIFY_SOCKET` (a path, or an abstract name written with a leading `@`), and a library for it
would be one more dependency on the Pi. Invariants: without `$NOTIFY_SOCKET` every call is a
cheap no-op returning False; a failing send is logged once and never raises, because a kiosk
that cannot reach systemd must still take payments (the watchdog then restarts it, which is
the point).

kiosk.service is `Type=notify` with `WatchdogSec=`: the UI loop calls `ready()` after its first
frame and `watchdog()` at `watchdog_interval_s` (half of `$WATCHDOG_USEC`); `status()` carries
the current state; `stopping()` and `extend_timeout()` cover a shutdown that deletes a live QR.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


def socket_address(name: str) -> str:
    """`$NOTIFY_SOCKET` as a connect() address: `@x` is the abstract name `\\0x`."""
    return "\0" + name[1:] if name.startswith("@") else name


class Notifier:
    """A callable ``notifier("READY=1")``; also has named helpers. Safe to call from any
    thread: each send opens its own socket."""

    def __init__(self, socket_name: str | None, watchdog_usec: int | None = None) -> None:
        self._address = socket_address(socket_name) if socket_name else None
        self._watchdog_usec = watchdog_usec
        self._warned = False

    @classmethod
    def from_env(cls, env: Mapping[str, str], pid: int) -> Notifier:
        """From systemd's variables; the watchdog only if `$WATCHDOG_PID` (when set) is us."""
        usec_text = env.get("WATCHDOG_USEC", "")
        watchdog_pid = env.get("WATCHDOG_PID", "")
        usec = int(usec_text) if usec_text.isdigit() and int(usec_text) > 0 else None
        if watchdog_pid and watchdog_pid != str(pid):
            usec = None
        return cls(env.get("NOTIFY_SOCKET") or None, usec)

    @property
    def enabled(self) -> bool:
        return self._address is not None

    @property
    def watchdog_interval_s(self) -> float | None:
        """How often to send WATCHDOG=1: half the timeout, as sd_watchdog_enabled advises."""
        return None if self._watchdog_usec is None else self._watchdog_usec / 2_000_000

    def __call__(self, *lines: str) -> bool:
        if self._address is None:
            return False
        data = "\n".join(lines).encode("utf-8")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(self._address)
                sock.sendall(data)
        except OSError as exc:
            if not self._warned:
                self._warned = True
                log.warning("sd_notify failed error=%s", type(exc).__name__)
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        return self("READY=1", *self._status_lines(status))

    def status(self, text: str) -> bool:
        return self(*self._status_lines(text))

    def watchdog(self) -> bool:
        return self("WATCHDOG=1")

    def stopping(self, status: str | None = None) -> bool:
        return self("STOPPING=1", *self._status_lines(status))

    def extend_timeout(self, seconds: float) -> bool:
        return self(f"EXTEND_TIMEOUT_USEC={int(seconds * 1_000_000)}")

    @staticmethod
    def _status_lines(text: str | None) -> tuple[str, ...]:
        if text is None:
            return ()
        return ("STATUS=" + " ".join(text.split()),)  # one line: a newline ends the field
