"""`kiosk doctor`'s PayPay line against a real simulator: a signed, harmless status query."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kiosk.commands.doctorcmd import paypay_probe
from kiosk.commands.paypay import DemoAuth
from kiosk.config.load import load_config
from kiosk.opa.errors import NotFound
from kiosk.ops.logs import Redactor
from kiosk.simulator import DEMO_MERCHANT_ID, SimulatorConfig, start_simulator
from tests.ops.cli_helpers import clean_env, kiosk

KEY, SECRET = "doctor-key-4411", "doctor-secret-8a8a8a"


def paypay_line(tmp_path: Path, base_url: str, key: str, secret: str) -> str:
    config = tmp_path / "kiosk.toml"
    config.write_text(f'state_dir = "{tmp_path}"\n[simulator]\nurl = "{base_url}"\n')
    env = clean_env(tmp_path, PAYPAY_API_KEY=key, PAYPAY_API_SECRET=secret)
    done = kiosk("doctor", "--config", str(config), env=env)
    [line] = [line for line in done.stdout.splitlines() if " paypay " in line]
    assert secret not in done.stdout + done.stderr
    return line


def test_accepted_and_rejected_credentials(tmp_path: Path) -> None:
    sim = start_simulator(SimulatorConfig(api_key=KEY, api_secret=SECRET), port=0)
    try:
        good = paypay_line(tmp_path, sim.base_url, KEY, SECRET)
        assert (
            good == f"ok   paypay     simulator at {sim.base_url}: reachable, credentials accepted"
        )
        bad = paypay_line(tmp_path, sim.base_url, KEY, "not-the-secret")
        assert bad == (
            f"FAIL paypay     simulator at {sim.base_url}: credentials rejected (UNAUTHORIZED); "
            "fix: check api_key, api_secret and merchant_id in the PayPay panel"
        )
    finally:
        sim.stop()
    gone = paypay_line(tmp_path, sim.base_url, KEY, SECRET)
    assert gone == f"FAIL paypay     simulator at {sim.base_url}: not reachable; " + (
        "fix: check the network, DNS and firewall (HTTPS to PayPay)"
    )


def test_the_probe_closes_its_connection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`kiosk doctor` makes one call and leaves no socket open behind it."""
    sim = start_simulator(SimulatorConfig(api_key=KEY, api_secret=SECRET), port=0)
    try:
        config_file = tmp_path / "kiosk.toml"
        config_file.write_text(f'state_dir = "{tmp_path}"\n[simulator]\nurl = "{sim.base_url}"\n')
        monkeypatch.setenv("PAYPAY_API_KEY", KEY)
        monkeypatch.setenv("PAYPAY_API_SECRET", SECRET)
        config = load_config(config_file, {})
        demo = DemoAuth(KEY, SECRET, DEMO_MERCHANT_ID)
        target, probe = paypay_probe(config, Redactor(), lambda: demo)
        assert target == f"simulator at {sim.base_url}" and probe is not None
        with pytest.raises(NotFound):  # a payment that does not exist: reachable, accepted
            probe()
        # the probe is still referenced, so only closing the client can end the connection
        deadline = time.monotonic() + 5
        while sim._server.open_sockets and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not sim._server.open_sockets
    finally:
        sim.stop()
