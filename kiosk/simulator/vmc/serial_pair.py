"""The scripted vending machine on a pseudo-terminal: the kiosk opens `path` like the HAT's
serial port (pyserial), the machine reads and writes the other end on its own thread.

Why a pty and not a socket: the kiosk's serial code runs unchanged (termios, line reads); only
the HAT itself is missing, which cannot run here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pty
import select
import threading
import time
import tty
from collections.abc import Callable

from kiosk.simulator.vmc.machine import Vmc

log = logging.getLogger(__name__)
Transcript = Callable[[str, str], None]


class VmcOnPty:
    def __init__(
        self,
        vmc: Vmc,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        transcript: Transcript | None = None,
    ) -> None:
        self.vmc = vmc
        self._monotonic = monotonic
        self._transcript = transcript or (lambda way, line: None)
        self._master, self._slave = pty.openpty()
        tty.setraw(self._slave)  # no echo, no line editing: bytes pass as they are
        self.path = os.ttyname(self._slave)
        self._t0 = monotonic()
        self._stop = threading.Event()
        self._lock = threading.Lock()  # the machine is read by tests while it runs
        self._thread = threading.Thread(target=self._run, name="vmc-sim", daemon=True)

    def start(self) -> VmcOnPty:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def now(self) -> float:
        return self._monotonic() - self._t0

    def inspect(self, look: Callable[[Vmc], object]) -> object:
        with self._lock:
            return look(self.vmc)

    def _run(self) -> None:
        buffer = b""
        while not self._stop.is_set():
            with self._lock:
                next_at = self.vmc.next_at()
            # the kiosk's lines wake the select; the timeout only serves the machine's own plans
            wait = 0.5 if next_at is None else max(0.0, min(0.5, next_at - self.now()))
            ready, _, _ = select.select([self._master], [], [], wait)
            if ready:
                try:
                    buffer += os.read(self._master, 4096)
                except OSError:  # the kiosk side closed; the slave fd we hold keeps it usable
                    time.sleep(0.05)
            *lines, buffer = buffer.split(b"\n")
            with self._lock:
                for raw in lines:
                    line = raw.decode("ascii", "replace").rstrip("\r")
                    self._transcript("->", line)  # labels from the kiosk's side: it sent this
                    self.vmc.hear(line, self.now())
                out = self.vmc.due(self.now())
            for line in out:
                self._transcript("<-", line)
                os.write(self._master, line.encode("ascii") + b"\n")
