"""One kiosk per state directory: `kiosk run` holds an exclusive lock on `<state>/kiosk.lock`.

Why: two processes driving the same journal would settle each other's sales (reconciliation
deletes "unfinished" QRs it did not create). Operator commands that send money requests
(`refund`, `reconcile`) use the lock to learn whether the kiosk is running. The lock is an
`flock`, so the kernel releases it when the process dies, even on SIGKILL or power loss.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import suppress
from pathlib import Path

LOCK_NAME = "kiosk.lock"


class KioskLock:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> bool:
        """True when we now hold the lock; False when another process does."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        with suppress(OSError):  # the pid is for people; a full disk must not stop the kiosk
            os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> KioskLock:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def kiosk_running(state_dir: Path) -> bool:
    """Whether some process holds the lock right now (a `kiosk run`)."""
    if not (state_dir / LOCK_NAME).exists():
        return False
    probe = KioskLock(state_dir)
    if probe.acquire():
        probe.release()
        return False
    return True
