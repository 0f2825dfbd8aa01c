"""Disk writes of a running kiosk: idle per hour and per sale, from the kiosk process's own
/proc/<pid>/io `write_bytes` (bytes it sent toward the block device; a page is counted when it
is dirtied, so the SQLite journal's fsynced commits count fully).

Set up as installed: the journal in a state directory on disk, the status file in a tmpfs
RuntimeDirectory (/dev/shm here, /run/kiosk under systemd), PayPay (the simulator) in its own
process, so only the kiosk's writes are counted. Targets: idle < 100 KB/h, a sale < 64 KB.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from bench.common import ROOT, figure, simulator_process
from kiosk.simulator import SimulatorControl

IDLE_S = 60.0
SALES = 10
SETTLE_S = 3.0  # start-up writes (journal open, reconcile) end before the idle window


def write_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise RuntimeError(f"no write_bytes in /proc/{pid}/io")


def run() -> Iterator[dict[str, object]]:
    with (
        simulator_process(control=True) as base_url,
        SimulatorControl(base_url) as control,
        tempfile.TemporaryDirectory(dir="/var/tmp") as state,
        tempfile.TemporaryDirectory(dir="/dev/shm") as runtime,
    ):
        config = Path(state) / "kiosk.toml"
        config.write_text(
            f'state_dir = "{state}/state"\npoll_interval_s = 2\n[simulator]\nurl = "{base_url}"\n',
            encoding="utf-8",
        )
        env = {**os.environ, "PYTHONPATH": str(ROOT), "SDL_VIDEODRIVER": "dummy",
               "SDL_AUDIODRIVER": "dummy", "RUNTIME_DIRECTORY": runtime,
               "PYGAME_HIDE_SUPPORT_PROMPT": "1"}  # fmt: skip
        kiosk = subprocess.Popen(
            [sys.executable, "-m", "bench.kiosk_sales", "--config", str(config)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=env, text=True,
        )  # fmt: skip
        assert kiosk.stdin is not None and kiosk.stdout is not None
        try:
            if answer(kiosk.stdout) != ["ready"]:
                raise RuntimeError(f"the kiosk did not start (exit {kiosk.poll()})")
            time.sleep(SETTLE_S)
            before = write_bytes(kiosk.pid)
            time.sleep(IDLE_S)
            idle = write_bytes(kiosk.pid) - before
            yield figure("idle_disk_write_kb_per_hour", idle / 1024 * 3600 / IDLE_S, "KB/h",
                         window_s=IDLE_S, target="< 100")  # fmt: skip
            per_sale = []
            for _ in range(SALES):
                before = write_bytes(kiosk.pid)
                kiosk.stdin.write("sell 150\n")
                kiosk.stdin.flush()
                pay_when_shown(control)
                outcome = answer(kiosk.stdout)
                if outcome != ["done", "succeeded"]:
                    raise RuntimeError(f"a benchmark sale ended {outcome}")
                per_sale.append(write_bytes(kiosk.pid) - before)
            per_sale.sort()
            yield figure("disk_write_kb_per_sale", per_sale[len(per_sale) // 2] / 1024, "KB",
                         min=per_sale[0] / 1024, max=per_sale[-1] / 1024, sales=SALES,
                         target="< 64")  # fmt: skip
        finally:
            kiosk.stdin.close()
            kiosk.terminate()
            kiosk.wait(60)


def answer(stdout: IO[str]) -> list[str]:
    """The next `bench: ...` line's words, past the kiosk's own log lines; [] at the end."""
    for line in stdout:
        if line.startswith("bench: "):
            return line.split()[1:]
    return []


def pay_when_shown(control: SimulatorControl) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        payable = [c for c in control.ledger()["codes"] if c["payable"]]
        if payable:
            control.pay(payable[0]["code_id"])
            return
        time.sleep(0.05)
    raise RuntimeError("no payable QR within 30 s")
