"""Small helpers shared by the benchmark scripts."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def figure(name: str, value: float, unit: str, **extra: object) -> dict[str, object]:
    return {"name": name, "value": round(value, 3), "unit": unit, **extra}


def median_ms(samples_s: list[float]) -> float:
    return statistics.median(samples_s) * 1000.0


def percentile_ms(samples_s: list[float], pct: float) -> float:
    ordered = sorted(samples_s)
    index = min(len(ordered) - 1, round(pct / 100.0 * (len(ordered) - 1)))
    return ordered[index] * 1000.0


@contextmanager
def simulator_process(env: Mapping[str, str] | None = None, control: bool = False) -> Iterator[str]:
    """`python -m kiosk simulator` in its own process on a free loopback port, as PayPay would
    be (another machine): yields its base URL; stopped (SIGTERM) on exit."""
    command = [sys.executable, "-m", "kiosk", "simulator", "--port", "0"]
    process = subprocess.Popen(
        [*command, "--control"] if control else command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        text=True,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        if not base_url.startswith("http"):
            raise RuntimeError(f"the simulator did not start (exit {process.poll()})")
        yield base_url
    finally:
        process.terminate()
        process.wait(10)
