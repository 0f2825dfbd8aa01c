"""`kiosk hub` as an operator runs it: migrate, run until SIGTERM, config errors named."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psycopg

from kiosk.fleet.hub.migrate import migrations
from tests.fleet.helpers import wait_until
from tools.fleetservers import Mosquitto

KIOSK = [sys.executable, "-m", "kiosk"]


def write_config(path: Path, broker: Mosquitto, dsn: str, extra: str = "") -> Path:
    path.write_text(
        f'[hub]\nbroker_url = "{broker.url}"\ndatabase = "{dsn}"\nclient_id = "cli-hub"\n'
        f'topic_prefix = "cli"\nsilent_s = 30\n{extra}'
    )
    return path


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*KIOSK, "hub", *args], capture_output=True, text=True, timeout=60, env=env, check=False
    )


def test_migrate_then_run_until_sigterm(broker: Mosquitto, ledger_dsn: str, tmp_path: Path) -> None:
    config = write_config(tmp_path / "hub.toml", broker, ledger_dsn)
    first = run("migrate", "--config", str(config))
    assert first.returncode == 0, first.stderr
    assert "0001_ledger" in first.stdout
    assert "already up to date" in run("migrate", "--config", str(config)).stdout
    env = {**os.environ, "HUB_MQTT_PASSWORD": "s3cret-hub-pw"}
    log = tmp_path / "hub.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [*KIOSK, "hub", "run", "--config", str(config)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        # its own word that it runs (SIGTERM handled from then on); the migrations are no
        # sign of it: `migrate` above applied them already
        wait_until(lambda: "hub started" in log.read_text(), what="'hub started' in its log")
        with psycopg.connect(ledger_dsn) as db:
            row = db.execute("SELECT count(*) FROM schema_migrations").fetchone()
            assert row == (len(migrations()),)
        sent = run("command", "--config", str(config), "kx", "reconcile")
        assert sent.returncode == 0, sent.stderr
        assert "sent reconcile to kx" in sent.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    out = log.read_text()
    assert proc.returncode == 0, out
    assert "hub started" in out and "hub stopped" in out
    assert "s3cret-hub-pw" not in out


def test_bad_settings_are_named(broker: Mosquitto, tmp_path: Path) -> None:
    config = tmp_path / "hub.toml"
    config.write_text("[hub]\nsilent_s = 'soon'\n")
    bad = run("run", "--config", str(config))
    assert bad.returncode != 0
    assert "hub.silent_s = 'soon' is not float" in bad.stderr
    config.write_text('[hub]\nbroker_url = "http://x"\n')
    assert "is not mqtt://" in run("run", "--config", str(config)).stderr
    config.write_text('[hub]\nbrokr_url = "mqtt://x"\n')
    assert "unknown setting(s) brokr_url" in run("run", "--config", str(config)).stderr
    assert "cannot read" in run("run", "--config", str(tmp_path / "none.toml")).stderr


def test_without_the_fleet_extra_the_hub_says_how_to_install_it(tmp_path: Path) -> None:
    """A plain `pip install paypay-kiosk` has no paho/psycopg: `kiosk hub ...` must name the
    extra, exit 3 (configuration), and not crash with a traceback (found by QA on a wheel)."""
    hide = tmp_path / "sitecustomize.py"  # the interpreter starts as if paho were not installed
    hide.write_text("import sys\nsys.modules['paho'] = None\n")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    for args in (["example"], ["migrate"]):
        done = run(*args, env=env)
        assert done.returncode == 3, (args, done.stderr)
        assert "pip install 'paypay-kiosk[fleet]'" in done.stderr
        assert "paho" in done.stderr and "Traceback" not in done.stderr + done.stdout
