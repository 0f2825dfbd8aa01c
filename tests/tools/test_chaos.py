"""The crash test, small: SIGKILL the engine at 10 step boundaries and audit the result."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ten_kill_points_lose_nothing() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tools.chaos", "--kill-points", "10", "--seed", "5"],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert result.stdout == "kill points: 10, lost: 0, orphan QR: 0, double vend: 0\n", (
        result.stderr
    )
    assert result.returncode == 0
