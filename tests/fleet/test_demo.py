"""`make fleet-demo` comes up: its status page lists the demo kiosks and their sales.

The demo's output goes to a file, not a pipe (a pipe nobody reads fills and stalls whoever
writes to it), and it runs in a session of its own: whatever happens, the demo and everything
it started (hub, kiosks, broker, database) are gone when the test ends. Each wait has its own
deadline, and together they stay inside the test's timeout, so a slow machine fails with the
demo's own log instead of a bare timeout."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.fleet.helpers import wait_until
from tools.fleetdemo import PASSWORD

UP_S, SOLD_S = 60.0, 90.0
DOWN_S = 150.0  # within the demo's own bounds (60 s for the kiosks, 60 s for the hub, servers)


def _tail(path: Path) -> str:
    return path.read_text("utf-8", errors="replace")[-3000:]


def _processes(session: int) -> str:
    ps = ["ps", "-s", str(session), "-o", "pid,stat,etime,args"]
    return subprocess.run(ps, capture_output=True, text=True, check=False).stdout


@pytest.mark.slow
@pytest.mark.timeout(UP_S + SOLD_S + DOWN_S + 30)
def test_the_demo_fleet_sells_and_shows_on_the_status_page(tmp_path: Path) -> None:
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        demo = subprocess.Popen(
            [sys.executable, "-m", "tools.fleetdemo", "--kiosks", "2", "--every-s", "2"],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:

        def up() -> bool:
            if demo.poll() is not None:
                raise AssertionError(f"the demo exited ({demo.returncode}): {_tail(log)}")
            return "status page: " in log.read_text()

        wait_until(up, UP_S, "the demo's first line")
        found = re.search(r"status page: (http://127\.0\.0\.1:\d+/)", log.read_text())
        assert found, _tail(log)
        site = found[1]
        with requests.Session() as web:
            deadline = time.monotonic() + SOLD_S
            page = ""
            while time.monotonic() < deadline:
                try:
                    web.post(f"{site}login", data={"password": PASSWORD}, timeout=5)
                    page = web.get(f"{site}?lang=en", timeout=5).text
                except requests.RequestException:
                    page = ""
                sold = re.search(r"<td>demo-1</td><td class=\"n\">([1-9]\d*)</td>", page)
                if "demo-2" in page and sold:
                    break
                time.sleep(1)
            assert 'href="/kiosk/demo-1"' in page and 'href="/kiosk/demo-2"' in page, _tail(log)
            assert re.search(r"<td>demo-1</td><td class=\"n\">[1-9]", page), page
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(DOWN_S)
        except subprocess.TimeoutExpired:
            still = _processes(demo.pid)
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait(10)
            raise AssertionError(
                f"the demo ignored Ctrl-C for {DOWN_S} s; still running:\n{still}\n{_tail(log)}"
            ) from None
    assert demo.returncode == 0, _tail(log)
