"""The run lock, held by a real second process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kiosk.ops.lock import KioskLock, kiosk_running
from tests.ops.cli_helpers import REPO

HOLDER = """
import sys, time
from pathlib import Path
from kiosk.ops.lock import KioskLock
lock = KioskLock(Path(sys.argv[1]))
assert lock.acquire()
print("held", flush=True)
sys.stdin.readline()
"""


def test_lock_is_exclusive_across_processes_and_freed_when_the_holder_dies(
    tmp_path: Path,
) -> None:
    assert kiosk_running(tmp_path) is False
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(REPO)},
    ) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline() == "held\n"
            assert kiosk_running(tmp_path) is True
            assert KioskLock(tmp_path).acquire() is False
            holder.kill()  # no clean-up code runs: the kernel drops the flock
            holder.wait(timeout=10)
            assert kiosk_running(tmp_path) is False
            with KioskLock(tmp_path) as mine:
                assert mine.acquire() is True
                assert (tmp_path / "kiosk.lock").read_text().strip().isdigit()
        finally:
            if holder.poll() is None:
                holder.kill()
