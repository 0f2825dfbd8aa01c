"""A real headless Debian chromium driven through chromedriver's W3C WebDriver HTTP API.

Only `requests` is needed: each method is one WebDriver call. The browser gets a fresh
profile directory, no network services of its own, and 127.0.0.1 pages only.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from typing import Any

import requests

from tools.fleetservers import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


class Browser:
    def __init__(self, width: int = 1000, height: int = 800) -> None:
        self.port = free_port()
        self.profile = tempfile.mkdtemp(prefix="fleet-chromium-")
        self.driver = subprocess.Popen(
            [CHROMEDRIVER, f"--port={self.port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        self.http = requests.Session()
        self._wait_driver()
        args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-dev-shm-usage",
            f"--user-data-dir={self.profile}",
            f"--window-size={width},{height}",
        ]
        caps = {"browserName": "chrome", "goog:chromeOptions": {"binary": CHROMIUM, "args": args}}
        value = self._call("POST", "/session", {"capabilities": {"alwaysMatch": caps}})
        self.session = f"/session/{value['sessionId']}"

    def _wait_driver(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if self.http.get(f"{self.base}/status", timeout=2).ok:
                    return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("chromedriver did not start")

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        reply = self.http.request(method, f"{self.base}{path}", json=body, timeout=60)
        value = reply.json()["value"]
        if reply.status_code != 200:
            raise RuntimeError(f"webdriver {path}: {value}")
        return value

    def go(self, url: str) -> None:
        self._call("POST", f"{self.session}/url", {"url": url})

    def url(self) -> str:
        return str(self._call("GET", f"{self.session}/url"))

    def wait_url(self, part: str, present: bool = True, timeout_s: float = 20) -> str:
        """The URL once it does (or no longer does) contain `part` (a form post may take a
        moment: the page slows down repeated login attempts)."""
        deadline = time.monotonic() + timeout_s
        while (part in (url := self.url())) != present:
            if time.monotonic() > deadline:
                raise AssertionError(f"URL {url} never {'has' if present else 'lost'} {part}")
            time.sleep(0.1)
        return url

    def source(self) -> str:
        return str(self._call("GET", f"{self.session}/source"))

    def script(self, code: str) -> Any:
        return self._call("POST", f"{self.session}/execute/sync", {"script": code, "args": []})

    def find(self, css: str) -> str:
        found = self._call(
            "POST", f"{self.session}/element", {"using": "css selector", "value": css}
        )
        return str(found[ELEMENT])

    def type(self, css: str, text: str) -> None:
        self._call("POST", f"{self.session}/element/{self.find(css)}/value", {"text": text})

    def click(self, css: str) -> None:
        self._call("POST", f"{self.session}/element/{self.find(css)}/click", {})

    def text(self, css: str) -> str:
        return str(self._call("GET", f"{self.session}/element/{self.find(css)}/text"))

    def screenshot(self) -> bytes:
        import base64

        return base64.b64decode(self._call("GET", f"{self.session}/screenshot"))

    def close(self) -> None:
        try:
            self._call("DELETE", self.session)
        finally:
            self.driver.terminate()
            self.driver.wait(10)
            self.http.close()
            shutil.rmtree(self.profile, ignore_errors=True)
