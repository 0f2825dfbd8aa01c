"""``kiosk simulator`` as a real process: prints its URL, serves, exits 0 on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.simulator.signed import Signed

ROOT = Path(__file__).resolve().parents[2]


def test_command_serves_with_env_credentials_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = os.environ | {
        "PYTHONPATH": str(ROOT),
        "PAYPAY_API_KEY": "cli_key",
        "PAYPAY_API_SECRET": "cli_secret",
        "PAYPAY_MERCHANT_ID": "cli_merchant",
    }
    state = tmp_path / "state.json"
    command = [sys.executable, "-m", "kiosk", "simulator", "--port", "0", "--control"]
    with subprocess.Popen(
        [*command, "--state", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            base_url = process.stdout.readline().strip()
            assert base_url.startswith("http://127.0.0.1:")
            api = Signed(base_url, "cli_key", "cli_secret", "cli_merchant", epoch=time.time)
            assert api.create("CLI-1").status_code == 201
            assert requests.get(base_url + "/_sim/ledger", timeout=5).status_code == 200
            api.session.close()
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=10)
            assert process.returncode == 0
            assert "CLI-1" in state.read_text()
            assert "cli_secret" not in stderr
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()


def test_bad_state_file_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text("not json")
    done = subprocess.run(
        [sys.executable, "-m", "kiosk", "simulator", "--port", "0", "--state", str(state)],
        capture_output=True,
        text=True,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "cannot start" in done.stderr and "Traceback" not in done.stderr
