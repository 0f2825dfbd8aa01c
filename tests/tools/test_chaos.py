"""The crash test, quick (`make chaos ARGS=--quick`): SIGKILLs, hostile answers, the oracle."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from kiosk.engine.runner import timing_of
from kiosk.sale.model import Now, Sale, State
from kiosk.sale.moves import budget_s
from tools.chaos_child import CODE_EXPIRY_S, sale_settings, settle_limit_s

ROOT = Path(__file__).resolve().parents[2]
T = 1_796_000_000.0
LINE = re.compile(
    r"kill points: (\d+), faulted calls: (\d+), lost: 0, orphan QR: 0, double vend: 0, "
    r"double refund: 0, stranded: 0, told wrong: 0\n"
)


# The lives take about half a minute (several on a busy two-core machine); the last one then
# settles everything. The limit is the worst case: a failure, not a slow pass.
RUN_S = 300.0
QUICK_LIMIT_S = RUN_S + settle_limit_s(sale_settings(True)) + 60.0


@pytest.mark.timeout(QUICK_LIMIT_S + 30)
def test_quick_run_loses_nothing_and_tells_the_truth() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tools.chaos", "--quick", "--seed", "5"],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=QUICK_LIMIT_S,
    )
    said = result.stdout + result.stderr
    match = LINE.fullmatch(result.stdout)
    assert match, said
    kills, faulted = int(match[1]), int(match[2])
    assert kills == 20 and faulted >= 50, said  # every kill point, and the faults really fired
    assert result.returncode == 0, said


@pytest.mark.parametrize("preauth", [False, True])
def test_the_last_life_outlasts_the_longest_watch_and_its_confirmation(preauth: bool) -> None:
    """A code PayPay would not withdraw, just granted (or a lost create, whose code's expiry
    the kiosk never learnt), is watched until it has surely expired; the settle limit covers
    that and a confirmation after it."""
    settings = sale_settings(preauth)
    now = Now(mono=1000.0, wall=T)
    granted = Sale(
        "CH-1",
        500,
        "x",
        preauth,
        T,
        timing=timing_of(settings),
        state=State.WATCHING,
        expiry_at=T + CODE_EXPIRY_S,
        expiry_mono_at=now.mono + CODE_EXPIRY_S,
    )
    lost_create = replace(granted, expiry_at=None, expiry_mono_at=None)
    for watched in (granted, lost_create):
        for state in (State.DELETING, State.WATCHING):
            longest = budget_s(watched, state, now)
            assert longest is not None and longest > CODE_EXPIRY_S
            assert settle_limit_s(settings) >= longest + watched.timing.confirm_s
