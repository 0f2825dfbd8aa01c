"""`kiosk run` as a real process with `fleet.url` set: it joins the fleet (its health reaches
the hub's ledger), obeys a command, says offline when stopped, and its broker password never
reaches its output."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import psycopg

from kiosk.fleet.hub.service import Hub, HubSettings
from tests.ops.cli_helpers import REPO, clean_env, wait_for
from tools.fleetservers import Mosquitto

SECRET = "broker-pw-5f2c9e"


def row(dsn: str, sql: str) -> tuple[object, ...] | None:
    with psycopg.connect(dsn) as db:
        return db.execute(sql.encode()).fetchone()


def test_a_fleet_kiosk_joins_obeys_and_leaves(
    broker: Mosquitto, ledger_dsn: str, tmp_path: Path
) -> None:
    hub = Hub(
        HubSettings(broker_url=broker.url, database=ledger_dsn, prefix="run", client_id="run-hub")
    )
    hub.start()
    env = clean_env(
        tmp_path,
        KIOSK_STATE_DIR=str(tmp_path / "state"),
        SDL_AUDIODRIVER="dummy",
        KIOSK_TERMINAL_ID="shop-7",
        KIOSK_FLEET_URL=broker.url,
        KIOSK_FLEET_TOPIC_PREFIX="run",
        KIOSK_FLEET_HEALTH_S="5",
        FLEET_MQTT_PASSWORD=SECRET,  # the test broker lets anyone in; it must still be hidden
    )
    kiosk = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "run", "--windowed", "800x480"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=REPO,
    )
    try:
        wait_for(
            "the kiosk's health in the ledger",
            lambda: (
                row(ledger_dsn, "SELECT screen FROM kiosks WHERE kiosk='shop-7'") is not None
                and row(ledger_dsn, "SELECT health_seq FROM kiosks WHERE kiosk='shop-7'") != (0,)
            ),
            timeout_s=60,
        )
        wait_for("the hub", hub.connected.is_set)
        command = hub.send_command("shop-7", "out_of_service", "cleaning")
        wait_for(
            "the reply",
            lambda: (
                row(ledger_dsn, f"SELECT result FROM commands WHERE command_id='{command}'")
                == ("applied",)
            ),
        )
        wait_for(
            "out of service in the ledger",
            lambda: row(ledger_dsn, "SELECT out_of_service_reason FROM kiosks") == ("cleaning",),
        )
    finally:
        kiosk.send_signal(signal.SIGTERM)
        output, _ = kiosk.communicate(timeout=60)
    try:
        assert kiosk.returncode == 0, output
        wait_for("offline", lambda: row(ledger_dsn, "SELECT online FROM kiosks") == (False,))
        assert SECRET not in output
    finally:
        hub.stop()
