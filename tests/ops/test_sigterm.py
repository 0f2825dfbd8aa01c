"""SIGTERM while a QR is on screen: a real `kiosk run` process, a real signal, a real
simulator. The QR must be deleted at PayPay, the sale recorded as finished, and the process
gone with exit code 0 well within the unit's TimeoutStopSec."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.engine.journal import Journal
from kiosk.simulator import SimulatorConfig, SimulatorControl, start_simulator
from tests.ops.cli_helpers import REPO, clean_env, wait_for

TIMEOUT_STOP_S = 60  # systemd/kiosk.service


@pytest.fixture
def simulator() -> Iterator[tuple[str, SimulatorControl]]:
    sim = start_simulator(SimulatorConfig(control=True), port=0)
    control = SimulatorControl(sim.base_url)
    try:
        yield sim.base_url, control
    finally:
        control.close()
        sim.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def drain(sock: socket.socket) -> list[str]:
    found = []
    while True:
        try:
            found.append(sock.recv(4096).decode())
        except BlockingIOError:
            return found


def write_config(tmp_path: Path, base_url: str, extra: str = "") -> tuple[Path, Path]:
    state = tmp_path / "state"
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'state_dir = "{state}"\nentry = "amount"\npoll_interval_s = 2\ngrace_s = 2\n{extra}'
        f"[display]\nwidth = 800\nheight = 480\nfullscreen = false\n"
        f'[simulator]\nurl = "{base_url}"\n',
        encoding="utf-8",
    )
    return config, state


def start_kiosk(
    tmp_path: Path, config: Path, amount_yen: int, **extra_env: str
) -> subprocess.Popen[bytes]:
    env = clean_env(tmp_path, SDL_AUDIODRIVER="dummy", PYGAME_HIDE_SUPPORT_PROMPT="1")
    env.update(extra_env)
    with (tmp_path / "kiosk.log").open("ab") as log:
        command = [sys.executable, "-m", "tests.ops.kiosk_with_sale", str(amount_yen)]
        return subprocess.Popen(
            [*command, "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=REPO,
        )


def stop_kiosk(kiosk: subprocess.Popen[bytes]) -> tuple[int, float]:
    """SIGTERM; (exit code, seconds until the process was gone)."""
    sent_at = time.monotonic()
    kiosk.send_signal(signal.SIGTERM)
    try:
        returncode = kiosk.wait(timeout=TIMEOUT_STOP_S)
    finally:
        if kiosk.poll() is None:
            kiosk.kill()
            kiosk.wait()
    return returncode, time.monotonic() - sent_at


def sale_state(state: Path) -> tuple[str, str, list[str]]:
    journal = Journal(state / "journal.sqlite3")
    try:
        [sale] = journal.all_sales()
        calls = [str(step[2]) for step in journal.steps(sale.merchant_payment_id)]
        return sale.merchant_payment_id, sale.state.value, calls
    finally:
        journal.close()


def test_sigterm_with_a_live_qr_deletes_it_records_it_and_exits(
    tmp_path: Path, simulator: tuple[str, SimulatorControl]
) -> None:
    base_url, control = simulator
    port = free_port()
    config, state = write_config(tmp_path, base_url, f"healthz_port = {port}\n")
    systemd = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    systemd.bind(str(tmp_path / "notify.sock"))
    systemd.settimeout(0)
    kiosk = start_kiosk(tmp_path, config, 480, NOTIFY_SOCKET=str(tmp_path / "notify.sock"))
    try:
        [code] = wait_for(
            "a payable QR", lambda: [c for c in control.ledger()["codes"] if c["payable"]]
        )
        status = state / "status.json"
        wait_for(
            "the status file to show the QR",
            lambda: (
                status.exists() and json.loads(status.read_text())["state"] == "awaiting_payment"
            ),
        )
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            assert json.loads(answer.read())["state"] == "awaiting_payment"
    finally:
        returncode, stop_s = stop_kiosk(kiosk)
    log = (tmp_path / "kiosk.log").read_text(encoding="utf-8", errors="replace")
    assert returncode == 0, log
    figure = {"figure": "sigterm_to_exit_with_live_qr", "value": round(stop_s, 3), "unit": "s"}
    print(json.dumps(figure))
    assert "kiosk_stopping signal=SIGTERM" in log
    [after] = [c for c in control.ledger()["codes"] if c["code_id"] == code["code_id"]]
    assert after["payable"] is False and after["deleted_at"] is not None
    mpid, state_after_stop, calls = sale_state(state)
    assert mpid == code["merchant_payment_id"]
    assert "delete_qr" in calls or any("delete" in c.lower() for c in calls), calls
    # the QR is gone, proven by PayPay: one status query settles it, or the next start does
    assert state_after_stop in ("GRACE", "CANCELLED")
    assert json.loads((state / "status.json").read_text())["state"] == "stopped"
    datagrams = drain(systemd)
    systemd.close()
    assert datagrams[0] == "READY=1"  # sent by the UI after its first frame
    assert "WATCHDOG=1" in datagrams
    assert any(d.startswith("STATUS=") for d in datagrams)
    assert datagrams[-1] == "STOPPING=1\nSTATUS=stopping: withdrawing any live QR"

    again = start_kiosk(tmp_path, config, 0)  # the restart reconciles the interrupted sale
    try:
        wait_for("reconciliation", lambda: sale_state(state)[1] == "CANCELLED")
        wait_for(
            "the restarted kiosk in service",
            lambda: json.loads((state / "status.json").read_text())["state"] == "idle",
        )
    finally:
        returncode, _ = stop_kiosk(again)
    assert returncode == 0
