"""A running simulator: configuration, state, faults, the server thread; ``start_simulator``.

Why: the kiosk (demo mode), the tests and ``kiosk simulator`` all start the same object, in
process, on a daemon thread. Two clocks: signatures are checked against ``wall`` alone (as
PayPay checks real time), payment semantics (expiry, cancel window) use ``now()`` = wall plus
the offset that ``POST /_sim/clock`` moves forward.
"""

from __future__ import annotations

import contextlib
import logging
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.simulator import oracle, persist
from kiosk.simulator.faults import Faults
from kiosk.simulator.ledger import Ledger
from kiosk.simulator.routes import Route
from kiosk.simulator.server import SimServer
from kiosk.simulator.webhooks import WebhookSender

log = logging.getLogger(__name__)

DEMO_API_KEY = "sim_demo_key"
DEMO_API_SECRET = "sim_demo_secret"
DEMO_MERCHANT_ID = "sim_demo_merchant"


@dataclass
class SimulatorConfig:
    api_key: str = DEMO_API_KEY
    api_secret: str = DEMO_API_SECRET
    merchant_id: str = DEMO_MERCHANT_ID
    control: bool = False  # serve the /_sim/ control API (tests, demo; never production)
    public_url: str | None = None  # base URL phones use for the pay page
    state_file: str | Path | None = None
    expiry_s: int = 300
    wall: Callable[[], float] = field(default=time.time)
    seed: int | None = None  # ids and fault probabilities; None: unpredictable
    require_merchant: bool = False  # reject requests without X-ASSUME-MERCHANT
    max_body_bytes: int = 64 * 1024
    max_skew_s: int = 120
    refund_settle_s: int = 0  # a refund reads CREATED for this long, then REFUNDED
    webhook_url: str | None = None

    def __repr__(self) -> str:  # never print the secret
        return (
            f"SimulatorConfig(api_key={self.api_key!r}, merchant_id={self.merchant_id!r}, "
            f"control={self.control}, public_url={self.public_url!r})"
        )


class Simulator:
    def __init__(self, config: SimulatorConfig, host: str, port: int) -> None:
        self.config = config
        rng = random.Random(config.seed) if config.seed is not None else random.Random()
        self.rng = rng
        self.ledger = Ledger(
            merchant_id=config.merchant_id, rng=rng, refund_settle_s=config.refund_settle_s
        )
        self.faults = Faults(rng)
        self.extra_routes: list[Route] = _extra_routes()
        self.request_counts: dict[str, int] = {}
        self._counts_lock = threading.Lock()
        self._state_path = Path(config.state_file) if config.state_file else None
        if self._state_path is not None:
            saved = persist.load(self._state_path)
            if saved is not None:
                oracle.load(self.ledger, saved)
            self.save()  # a file that cannot be written stops the start, not the first payment
            self.ledger.on_change = self.save
        self._server = SimServer((host, port), self)
        bound_host, bound_port = self._server.server_address[:2]
        local = "127.0.0.1" if bound_host in ("0.0.0.0", "", "::") else str(bound_host)
        self.base_url = f"http://{local}:{bound_port}"
        self._address = (local, int(bound_port))
        self.qr_base = (config.public_url or self.base_url).rstrip("/")
        self._webhooks = _webhook_sender(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="paypay-simulator", daemon=True
        )

    def now(self) -> int:
        """The payment clock: wall time plus the control offset, in whole seconds."""
        return int(self.config.wall() + self.ledger.clock_offset_s)

    def snapshot(self) -> dict[str, Any]:
        """The ledger as ``GET /_sim/ledger`` answers it (the money-safety oracle)."""
        data = oracle.snapshot(self.ledger, self.now())
        with self._counts_lock:
            data["requests"] = dict(self.request_counts)
        return data

    def count_request(self, endpoint: str) -> None:
        with self._counts_lock:
            self.request_counts[endpoint] = self.request_counts.get(endpoint, 0) + 1

    def save(self) -> None:
        """Write the state file; under the ledger lock, so two saves never share the temp file."""
        if self._state_path is not None:
            with self.ledger.lock:
                persist.save_atomically(self._state_path, oracle.dump(self.ledger))

    def start(self) -> None:
        self._thread.start()
        log.info("simulator started base_url=%s control=%s", self.base_url, self.config.control)

    def stop(self) -> None:
        """Stop serving, close every connection, save the state."""
        stopper = threading.Thread(target=self._server.shutdown, daemon=True)
        stopper.start()
        while stopper.is_alive():  # wake the accept loop instead of waiting out its poll
            with contextlib.suppress(OSError):
                socket.create_connection(self._address, timeout=0.5).close()
            stopper.join(0.02)
        self._server.server_close()
        self._server.close_all()
        if self._webhooks is not None:
            self._webhooks.stop()
        self.save()
        log.info("simulator stopped base_url=%s", self.base_url)

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _extra_routes() -> list[Route]:
    from kiosk.simulator.extras import EXTRA_ROUTES

    return list(EXTRA_ROUTES)


def _webhook_sender(sim: Simulator) -> WebhookSender | None:
    if not sim.config.webhook_url:
        return None
    sender = WebhookSender(sim.config.webhook_url, merchant_id=sim.config.merchant_id)
    sim.ledger.on_payment = sender.notify
    return sender


def start_simulator(config: SimulatorConfig, host: str = "127.0.0.1", port: int = 0) -> Simulator:
    """Start serving on a daemon thread; returns once the socket listens."""
    sim = Simulator(config, host, port)
    sim.start()
    return sim
