"""Alerts reach an operator's target through apprise for real: its json:// notifier posting to
a local HTTP server (no network); a target apprise cannot read is refused at start."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kiosk.fleet.hub.alerts import Alert, Announcer, apprise_sender
from tests.fleet.helpers import wait_until


@pytest.fixture
def inbox() -> Iterator[tuple[int, list[dict[str, object]]]]:
    got: list[dict[str, object]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            got.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], got
    server.shutdown()
    server.server_close()


def test_an_alert_is_delivered_through_apprise(inbox: tuple[int, list[dict[str, object]]]) -> None:
    port, got = inbox
    send = apprise_sender([f"json://127.0.0.1:{port}/alerts"])
    assert send is not None
    announcer = Announcer(send)
    alert = Alert("shop-3", "silent", "", "no message since 12:00", True)
    announcer.announce(alert)
    wait_until(lambda: bool(announcer.sent), what="delivered")
    announcer.close()
    assert got[0]["title"] == "kiosk shop-3: silent raised"
    assert "kind=silent kiosk=shop-3" in str(got[0]["message"])


def test_no_targets_no_sender_and_a_bad_target_is_refused() -> None:
    assert apprise_sender([]) is None
    with pytest.raises(ValueError, match="not understood by apprise"):
        apprise_sender(["nosuchscheme://x"])
