"""The MDB crash test, small: SIGKILL the kiosk (engine + MDB driver) at random moments while a
scripted vending machine and the PayPay simulator carry on; audit journal, ledger, machine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("mode", [[], ["--credit"]], ids=["selection", "credit"])
def test_kills_lose_nothing_and_never_vend_twice(mode: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tools.chaos_mdb", "--kill-points", "5", "--seed", "11", *mode],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert result.stdout == (
        "kill points: 5, lost: 0, orphan QR: 0, double vend: 0, machine breaches: 0\n"
    ), result.stderr
    assert result.returncode == 0
