"""Relay figures: a real `kiosk hub run` (relay on) before the simulator (its own process),
a real Mosquitto and PostgreSQL, and a kiosk engine (real runner, journal, system clock):

- relay_overhead_ms_median: the same GET (a paid code's details) through the relay minus
  direct to the simulator, calls interleaved, on loopback;
- paid_to_screen_ms_p50 / _p95, with the webhook nudge and without it: from the simulator
  recording the payment (its control call returned) to the kiosk's runner showing the sale
  succeeded; the customer pays at a random moment of the poll interval (seeded).
"""

from __future__ import annotations

import base64
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import requests

from bench.common import ROOT, figure, percentile_ms, simulator_process
from kiosk.domain import Order, Phase, SaleSettings
from kiosk.engine.clock import SystemClock
from kiosk.engine.journal import Journal
from kiosk.engine.runner import Runner
from kiosk.fleet.link import FleetLink
from kiosk.fleet.outbox import OutboxSink
from kiosk.fleet.publisher import BrokerSettings
from kiosk.hardware.vend import VendRequest, VendResult
from kiosk.opa import Client
from kiosk.simulator import DEMO_API_KEY, DEMO_API_SECRET, SimulatorControl
from tools.fleetservers import Mosquitto, Postgres, free_port, remove, scratch_dir

CALLS = int(os.environ.get("BENCH_RELAY_CALLS", "300"))
SALES = int(os.environ.get("BENCH_RELAY_SALES", "20"))
POLL_S = 4.0


def _wait(check: Callable[[], bool], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError("benchmark condition not reached")
        time.sleep(0.001)


class _Vendor:
    def vend(self, request: VendRequest) -> VendResult:
        return VendResult(True, "bench", None)


def _hub(workdir: Path, broker: Mosquitto, dsn: str, sim_url: str, port: int) -> list[str]:
    config = workdir / "hub.toml"
    config.write_text(
        f'[hub]\nbroker_url = "{broker.url}"\ndatabase = "{dsn}"\ntopic_prefix = "bench"\n'
        f'paypay_mode = "simulator"\npaypay_url = "{sim_url}"\nrelay_port = {port}\n'
        'relay_rate_per_min = 100000\nwebhook_sources = "127.0.0.1"\n'
    )
    return [sys.executable, "-m", "kiosk", "hub", "run", "--config", str(config)]


def _issue(command: list[str], env: dict[str, str], kiosk: str) -> tuple[str, str]:
    keys = [*command[:4], "keys", "issue", kiosk, *command[5:]]
    out = subprocess.run(keys, capture_output=True, text=True, env=env, check=True).stdout
    key = re.search(r"PAYPAY_API_KEY=(\S+)", out)
    secret = re.search(r"PAYPAY_API_SECRET=(\S+)", out)
    assert key and secret
    return key[1], secret[1]


def overhead(sim_url: str, relay_url: str, key: str, secret: str) -> list[float]:
    direct = Client((DEMO_API_KEY, DEMO_API_SECRET), base_url=sim_url)
    relayed = Client((key, secret), base_url=relay_url)
    with SimulatorControl(sim_url) as ctl:
        ident = f"BO-20261130120000-{os.getpid():010x}"
        code = relayed.Code.create_qr_code(
            {"merchantPaymentId": ident, "amount": {"amount": 100, "currency": "JPY"},
             "codeType": "ORDER_QR", "orderDescription": "bench", "requestedAt": int(time.time())}
        )["data"]  # fmt: skip
        ctl.pay(code["codeId"])
    differences = []
    for _ in range(CALLS):
        started = time.perf_counter()
        direct.Code.get_payment_details(ident)
        middle = time.perf_counter()
        relayed.Code.get_payment_details(ident)
        differences.append((time.perf_counter() - middle) - (middle - started))
    direct.close()
    relayed.close()
    return differences


def paid_to_screen(
    sim_url: str, relay_url: str, key: str, secret: str, broker: Mosquitto | None, kiosk: str
) -> list[float]:
    """Seconds from payment to the runner's SUCCEEDED, one sale at a time."""
    rng = random.Random(17)
    with tempfile.TemporaryDirectory(prefix="bench-relay-") as tmp:
        journal = Journal(Path(tmp) / "j.sqlite3", facts=OutboxSink() if broker else None)
        client = Client((key, secret), base_url=relay_url)
        settings = SaleSettings(terminal_id=kiosk, poll_interval_s=POLL_S)
        runner = Runner(
            client=client,
            journal=journal,
            vendor=_Vendor(),
            settings=settings,
            clock=SystemClock(),
        )
        link = None
        if broker is not None:
            link = FleetLink(BrokerSettings(url=broker.url, kiosk=kiosk, prefix="bench"),
                             journal, runner)  # fmt: skip
            link.start()
            _wait(link.publisher.connected.is_set)
        runner.start()
        ctl = SimulatorControl(sim_url)
        samples = []
        try:
            for _ in range(SALES):
                _wait(lambda: runner.pump() is not None and runner.service_issue() is None)
                runner.begin_sale(Order.of_amount(100, "bench"))
                _wait(
                    lambda: (
                        runner.pump() is not None
                        and (v := runner.current_sale()) is not None
                        and v.qr_url is not None
                    )
                )
                view = runner.current_sale()
                assert view is not None
                time.sleep(rng.uniform(0, POLL_S))
                ctl.pay_by_merchant_payment_id(view.merchant_payment_id)
                paid = time.monotonic()

                def done() -> bool:
                    runner.pump()
                    v = runner.current_sale()
                    return v is not None and v.phase is Phase.SUCCEEDED

                _wait(done)
                samples.append(time.monotonic() - paid)
                runner.acknowledge()
        finally:
            ctl.close()
            runner.stop(5)
            if link is not None:
                link.stop()
            client.close()
            journal.close()
    return samples


def run() -> Iterator[dict[str, object]]:
    broker_dir, pg_dir = scratch_dir("bench-relay-broker-"), scratch_dir("bench-relay-pg-")
    broker, pg = Mosquitto(broker_dir), Postgres(pg_dir)
    broker.start()
    pg.start()
    port = free_port()
    relay_url = f"http://127.0.0.1:{port}"
    hook = {"PAYPAY_SIM_WEBHOOK_URL": relay_url + "/webhooks/paypay"}
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HUB_RELAY_MASTER_KEY":
           base64.b64encode(os.urandom(32)).decode()}  # fmt: skip
    try:
        with simulator_process(hook, control=True) as sim_url, tempfile.TemporaryDirectory() as d:
            command = _hub(Path(d), broker, pg.create_db("bench_relay"), sim_url, port)
            hub = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)  # fmt: skip
            try:
                _wait(lambda: _up(relay_url), timeout_s=60)
                key, secret = _issue(command, env, "BO")
                diffs = overhead(sim_url, relay_url, key, secret)
                yield figure("relay_overhead_ms_median", statistics.median(diffs) * 1000, "ms",
                             calls=CALLS, p95_ms=round(percentile_ms(diffs, 95), 3))  # fmt: skip
                for nudge in (True, False):
                    kiosk = "BN" if nudge else "BP"
                    key, secret = _issue(command, env, kiosk)
                    samples = paid_to_screen(
                        sim_url, relay_url, key, secret, broker if nudge else None, kiosk
                    )
                    for pct in (50, 95):
                        yield figure(
                            f"paid_to_screen_ms_p{pct}",
                            percentile_ms(samples, pct),
                            "ms",
                            nudge=nudge,
                            sales=SALES,
                            poll_interval_s=POLL_S,
                            min_ms=round(min(samples) * 1000, 1),
                            max_ms=round(max(samples) * 1000, 1),
                        )
            finally:
                hub.send_signal(signal.SIGTERM)
                hub.wait(30)
    finally:
        broker.stop()
        pg.stop()
        remove(broker_dir)
        remove(pg_dir)


def _up(url: str) -> bool:
    try:
        requests.get(url + "/", timeout=1)
        return True
    except requests.ConnectionError:
        return False
