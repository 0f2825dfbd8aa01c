"""`make fleet-demo` comes up: its status page lists the demo kiosks and their sales."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import pytest
import requests

from tools.fleetdemo import PASSWORD


@pytest.mark.slow
def test_the_demo_fleet_sells_and_shows_on_the_status_page() -> None:
    demo = subprocess.Popen(
        [sys.executable, "-m", "tools.fleetdemo", "--kiosks", "2", "--every-s", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert demo.stdout is not None
        first = demo.stdout.readline()
        found = re.search(r"status page: (http://127\.0\.0\.1:\d+/)", first)
        assert found, first
        site = found[1]
        with requests.Session() as web:
            deadline = time.monotonic() + 90
            page = ""
            while time.monotonic() < deadline:
                try:
                    web.post(f"{site}login", data={"password": PASSWORD}, timeout=5)
                    page = web.get(f"{site}?lang=en", timeout=5).text
                except requests.ConnectionError:
                    page = ""
                sold = re.search(r"<td>demo-1</td><td class=\"n\">([1-9]\d*)</td>", page)
                if "demo-2" in page and sold:
                    break
                time.sleep(1)
            assert 'href="/kiosk/demo-1"' in page and 'href="/kiosk/demo-2"' in page, page
            assert re.search(r"<td>demo-1</td><td class=\"n\">[1-9]", page), page
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(120)
        if demo.stdout is not None:
            demo.stdout.close()
    assert demo.returncode == 0
