"""`kiosk run` with vend.adapter = "mdb", a real process against the PayPay simulator and the
scripted vending machine on a pseudo-terminal (the HAT is the one part that cannot run here):
the machine's selection becomes a QR for its price, the payment vends it, and SIGTERM ends the
session and disables the reader."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

from kiosk.engine.journal import Journal
from kiosk.simulator import SimulatorConfig, SimulatorControl, start_simulator
from kiosk.simulator.vmc import SCRIPTS, Vmc
from kiosk.simulator.vmc.serial_pair import VmcOnPty
from tests.ops.cli_helpers import REPO, clean_env, wait_for


def test_kiosk_run_sells_the_machines_selection_and_stops_cleanly(tmp_path: Path) -> None:
    sim = start_simulator(SimulatorConfig(control=True), port=0)
    control = SimulatorControl(sim.base_url)
    heard: list[str] = []
    lock = threading.Lock()

    def saw(way: str, line: str) -> None:
        with lock:
            heard.append(f"{way} {line}")

    script = replace(SCRIPTS["selection"], select_after_s=1.0)
    machine = VmcOnPty(Vmc(script), transcript=saw).start()
    state = tmp_path / "state"
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'state_dir = "{state}"\npoll_interval_s = 2\ngrace_s = 2\n'
        f'[vend]\nadapter = "mdb"\n[mdb]\nport = "{machine.path}"\n'
        f"[display]\nwidth = 800\nheight = 480\nfullscreen = false\n"
        f'[simulator]\nurl = "{sim.base_url}"\n',
        encoding="utf-8",
    )
    env = clean_env(tmp_path, SDL_AUDIODRIVER="dummy", PYGAME_HIDE_SUPPORT_PROMPT="1")
    with (tmp_path / "kiosk.log").open("ab") as log:
        kiosk = subprocess.Popen(
            [sys.executable, "-m", "kiosk", "run", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=REPO,
        )
    try:
        [code] = wait_for(
            "the selection's QR", lambda: [c for c in control.ledger()["codes"] if c["payable"]]
        )
        assert code["amount"] == 150
        control.pay(code["code_id"])
        wait_for("the vend", lambda: machine.inspect(lambda v: list(v.vends)))
    finally:
        kiosk.send_signal(signal.SIGTERM)
        try:
            returncode = kiosk.wait(timeout=60)
        finally:
            if kiosk.poll() is None:
                kiosk.kill()
                kiosk.wait()
            machine.stop()
            control.close()
            sim.stop()
    output = (tmp_path / "kiosk.log").read_text(encoding="utf-8", errors="replace")
    assert returncode == 0, output
    assert machine.vmc.vends == [(5, "150")] and machine.vmc.violations == []
    sent = [line for line in heard if line.startswith("-> ")]
    assert sent[-1] == "-> C,0", heard  # the reader is disabled on the way out
    assert "-> C,VEND,150" in sent and sent.count("-> C,VEND,150") == 1
    journal = Journal(state / "journal.sqlite3")
    try:
        [sale] = journal.all_sales()
    finally:
        journal.close()
    assert (sale.state.value, sale.amount_yen, sale.description) == (
        "SUCCEEDED",
        150,
        "Vending machine item 5",
    )
