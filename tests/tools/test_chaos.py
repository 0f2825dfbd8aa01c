"""The crash test, quick (`make chaos ARGS=--quick`): SIGKILLs, hostile answers, the oracle."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(
    r"kill points: (\d+), faulted calls: (\d+), lost: 0, orphan QR: 0, double vend: 0, "
    r"double refund: 0, stranded: 0, told wrong: 0\n"
)


@pytest.mark.timeout(420)  # about a minute; several on a busy two-core machine
def test_quick_run_loses_nothing_and_tells_the_truth() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tools.chaos", "--quick", "--seed", "5"],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=400,
    )
    said = result.stdout + result.stderr
    match = LINE.fullmatch(result.stdout)
    assert match, said
    kills, faulted = int(match[1]), int(match[2])
    assert kills == 20 and faulted >= 50, said  # every kill point, and the faults really fired
    assert result.returncode == 0, said
