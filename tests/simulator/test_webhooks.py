"""Optional Transaction webhooks: delivered on payment changes, retried when refused."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from kiosk.simulator import SimulatorConfig, SimulatorControl, start_simulator
from tests.simulator.conftest import KEY, MERCHANT, SECRET, FakeWall
from tests.simulator.signed import Signed
from tests.waiting import wait_until


class Receiver(HTTPServer):
    def __init__(self, refuse_first: int) -> None:
        self.events: list[dict[str, Any]] = []
        self.attempts = 0
        self.refuse_first = refuse_first
        super().__init__(("127.0.0.1", 0), ReceiverHandler)


class ReceiverHandler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.attempts += 1
        refused = self.server.attempts <= self.server.refuse_first
        if not refused:
            self.server.events.append(json.loads(body))
        self.send_response(500 if refused else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(refuse_first=2)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_payment_and_cancel_are_posted_with_retries(receiver: Receiver, wall: FakeWall) -> None:
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    config = SimulatorConfig(
        api_key=KEY,
        api_secret=SECRET,
        merchant_id=MERCHANT,
        control=True,
        wall=wall,
        webhook_url=url,
    )
    sim = start_simulator(config)
    try:
        api = Signed(sim.base_url, KEY, SECRET, MERCHANT, epoch=wall)
        code_id = api.create("W-1", 500, storeId="S-9").json()["data"]["codeId"]
        with SimulatorControl(sim.base_url) as ctl:
            payment_id = ctl.pay(code_id)["paymentId"]
        api.request("DELETE", "/v2/payments/W-1")
        wait_until(lambda: len(receiver.events) == 2, what="both webhooks delivered")
    finally:
        sim.stop()
    paid, cancelled = receiver.events
    assert receiver.attempts == 4  # the first delivery was refused twice, then retried
    assert paid["notification_type"] == "Transaction" and paid["state"] == "COMPLETED"
    assert paid["merchant_order_id"] == "W-1" and paid["order_id"] == payment_id
    assert paid["order_amount"] == 500 and paid["store_id"] == "S-9"
    assert paid["merchant_id"] == MERCHANT and paid["paid_at"].startswith("2023-11-14T22:13:20")
    assert cancelled["state"] == "CANCELED"
