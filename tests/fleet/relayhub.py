"""A real `kiosk hub run` process with the relay on, in front of a real simulator, and kiosks
(real runner, journal, OPA client) that talk to PayPay only through it."""

from __future__ import annotations

import base64
import itertools
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import requests

from kiosk.domain import SaleSettings
from kiosk.engine.clock import ClockGuard, FakeClock
from kiosk.engine.journal import Journal
from kiosk.engine.runner import Runner
from kiosk.fleet.link import FleetLink
from kiosk.fleet.outbox import OutboxSink
from kiosk.fleet.publisher import BrokerSettings
from kiosk.opa import Client, RetryPolicy
from kiosk.simulator import Simulator, SimulatorConfig, SimulatorControl, start_simulator
from tests.engine.harness import Kiosk, RecordingVendor
from tests.fleet.helpers import counter_keys, wait_until
from tools.fleetservers import Mosquitto, Postgres, free_port

KIOSK = [sys.executable, "-m", "kiosk"]
MASTER_KEY = base64.b64encode(bytes(range(32))).decode()
PREFIX = "rl"


@dataclass
class HubProcess:
    config: Path
    dsn: str
    relay_url: str
    log_path: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [*KIOSK, "hub", "run", "--config", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
            )
        wait_until(self._listening, what="the relay listening")

    def _listening(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"hub exited: {self.log()[-2000:]}")
        try:
            requests.get(self.relay_url + "/", timeout=1)
            return True
        except requests.ConnectionError:
            return False

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)

    def log(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace")

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*KIOSK, "hub", *args, "--config", str(self.config)],
            capture_output=True,
            text=True,
            timeout=60,
            env=self.env,
            check=False,
        )

    def issue(self, kiosk: str, *extra: str) -> tuple[str, str]:
        out = self.cli("keys", "issue", kiosk, *extra)
        assert out.returncode == 0, out.stderr
        key = re.search(r"PAYPAY_API_KEY=(\S+)", out.stdout)
        secret = re.search(r"PAYPAY_API_SECRET=(\S+)", out.stdout)
        assert key and secret, out.stdout
        return key[1], secret[1]

    def refusals(self) -> list[tuple[str, str, str]]:
        with psycopg.connect(self.dsn) as db:
            rows = db.execute("SELECT kiosk, code, reason FROM relay_refusals ORDER BY id")
            return [(str(k), str(c), str(r)) for k, c, r in rows.fetchall()]


_dbs = itertools.count(1)
_ids = itertools.count(1)


def mpid(kiosk: str) -> str:
    """A merchantPaymentId of this kiosk's form (terminal id, JST stamp, random part)."""
    return f"{kiosk}-20261130120000-{next(_ids):010x}"


@contextmanager
def running_hub(
    broker: Mosquitto, postgres: Postgres, tmp: Path, sources: str = "127.0.0.1/32"
) -> Iterator[tuple[Simulator, HubProcess]]:
    """A simulator whose webhooks go to the relay of a running `kiosk hub run`."""
    port = free_port()
    relay_url = f"http://127.0.0.1:{port}"
    sim = start_simulator(
        SimulatorConfig(control=True, seed=7, webhook_url=relay_url + "/webhooks/paypay"), port=0
    )
    dsn = postgres.create_db(f"relay_{next(_dbs)}")
    config = tmp / "hub.toml"
    write_hub_config(config, broker, dsn, sim.base_url, port, sources)
    hub = HubProcess(config, dsn, relay_url, tmp / "hub.log", hub_env())
    hub.start()
    try:
        yield sim, hub
    finally:
        hub.stop()
        sim.stop()


def write_hub_config(
    path: Path, broker: Mosquitto, dsn: str, sim_url: str, relay_port: int, sources: str
) -> None:
    path.write_text(
        f'[hub]\nbroker_url = "{broker.url}"\ndatabase = "{dsn}"\nclient_id = "relay-hub"\n'
        f'topic_prefix = "{PREFIX}"\npaypay_mode = "simulator"\npaypay_url = "{sim_url}"\n'
        f"relay_port = {relay_port}\nrelay_rate_per_min = 600\n"
        f'relay_daily_refund_limit_yen = 5000\nwebhook_sources = "{sources}"\n'
    )


def hub_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAYPAY_", "CREDENTIALS"))}
    return {**env, "HUB_RELAY_MASTER_KEY": MASTER_KEY}


def relay_client(url: str, key: str, secret: str, timeout_s: float = 2.0) -> Client:
    """A kiosk's client: only the base URL and the credentials differ from a direct one."""
    return Client(
        auth=(key, secret),
        base_url=url,
        timeout=timeout_s,
        retry=RetryPolicy(max_attempts=1, max_total_s=timeout_s * 2),
    )


@contextmanager
def relay_kiosk(
    tmp_path: Path,
    sim: Simulator,
    client: Client,
    terminal_id: str,
    broker: Mosquitto | None = None,
) -> Iterator[tuple[Kiosk, FleetLink | None]]:
    """A kiosk (fake clock: its polls run only when a test moves time, or on a nudge)."""
    guard = ClockGuard()
    facts = OutboxSink(counter_keys(terminal_id)) if broker else None
    journal = Journal(tmp_path / f"{terminal_id}.sqlite3", facts=facts)
    clock = FakeClock(start=float(int(time.time())))
    vendor = RecordingVendor()
    runner = Runner(
        client=client,
        journal=journal,
        vendor=vendor,
        settings=SaleSettings(terminal_id=terminal_id, grace_s=4),
        clock=clock,
        clock_guard=guard,
        tick_s=0.02,
    )
    ctl = SimulatorControl(sim.base_url)
    link = None
    if broker is not None:
        settings = BrokerSettings(url=broker.url, kiosk=terminal_id, prefix=PREFIX)
        link = FleetLink(settings, journal, runner, clock=time.time)
        link.start()
        wait_until(link.publisher.connected.is_set, what="kiosk connected")
    runner.start()
    try:
        yield Kiosk(sim, ctl, journal, clock, vendor, runner, guard), link
    finally:
        runner.stop(5.0)
        if link is not None:
            link.stop()
        client.close()
        journal.close()
        ctl.close()
