"""Issue 11: a real `kiosk run` process whose whole state directory (journal, status file, lock)
is on a small tmpfs that really fills up, against the real simulator's HTTP server.

The customer pays after the disk filled: the kiosk cannot record it, so it stops selling with
the reason "journal" (healthz says so), keeps running (no traceback, no restart loop), and once
the space is freed it gives the money back and sells again. Nothing recorded is damaged. A kiosk
started on a full disk (SQLite cannot make its -wal and -shm files) exits 4 naming the full
disk, leaves the journal as it was, and the start after space is freed settles the sale."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from kiosk.commands.common import ExitCode
from kiosk.engine.journal import Journal
from kiosk.simulator import SimulatorConfig, SimulatorControl, start_simulator
from tests.engine.harness import crashed_sale
from tests.engine.small_disk import fill, integrity, small_disk, truncate_wal
from tests.ops.cli_helpers import clean_env, kiosk, wait_for
from tests.ops.test_sigterm import free_port, simulator, start_kiosk, stop_kiosk, write_config

__all__ = ["simulator"]  # the fixture


def healthz(port: int) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            return dict(json.loads(answer.read()))
    except urllib.error.HTTPError as refused:  # 503: out of service, still a JSON answer
        return dict(json.loads(refused.read()))
    except urllib.error.URLError:  # not listening yet, or gone
        return {}


def sale_states(journal: Path) -> dict[str, str]:
    reader = Journal(journal, readonly=True)
    try:
        return {s.merchant_payment_id: s.state.value for s in reader.all_sales()}
    finally:
        reader.close()


def test_kiosk_run_on_a_full_disk_stops_selling_and_gives_the_money_back(
    tmp_path: Path, simulator: tuple[str, SimulatorControl]
) -> None:
    base_url, control = simulator
    port = free_port()
    with small_disk(tmp_path / "state") as state:
        config, _ = write_config(tmp_path, base_url, f"healthz_port = {port}\n")
        journal = state / "journal.sqlite3"
        running = start_kiosk(tmp_path, config, 480)  # its log is outside the small disk
        try:
            [code] = wait_for(
                "a payable QR", lambda: [c for c in control.ledger()["codes"] if c["payable"]]
            )
            wait_for("the QR on screen", lambda: healthz(port).get("state") == "awaiting_payment")
            truncate_wal(journal)
            filler = fill(state)
            control.pay(code["code_id"])  # the customer pays; the kiosk cannot record it

            wait_for("healthz to say journal", lambda: healthz(port).get("issue") == "journal")
            assert healthz(port)["ok"] is False
            assert running.poll() is None  # still running: the screen says why it is not selling
            assert not [c for c in control.ledger()["codes"] if c["payable"]]
            mpid = code["merchant_payment_id"]
            assert sale_states(journal)[mpid] == "SHOWING"  # the last durable state, intact

            filler.unlink()  # the attendant frees space
            wait_for("the money back", lambda: sale_states(journal)[mpid] == "REFUNDED")
            wait_for("selling again", lambda: healthz(port).get("state") == "idle")
            assert healthz(port) == {"ok": True, "state": "idle", "issue": None}
            assert json.loads((state / "status.json").read_text())["state"] == "idle"
        finally:
            returncode, _ = stop_kiosk(running)
        log = (tmp_path / "kiosk.log").read_text(encoding="utf-8", errors="replace")
        assert returncode == 0, log
        assert "Traceback" not in log, log
        assert "journal cannot be written; selling stopped" in log
        assert log.count("status file not written; retried") == 1  # said once, not every frame
        assert "status file written again" in log
        [payment] = [p for p in control.ledger()["payments"] if p["merchant_payment_id"] == mpid]
        assert payment["status"] in ("CANCELED", "REFUNDED"), payment
        assert integrity(journal) == "ok"


def test_kiosk_run_started_on_a_full_disk_names_it_and_settles_once_space_returns(
    tmp_path: Path,
) -> None:
    sim = start_simulator(SimulatorConfig(control=True), port=0)
    control = SimulatorControl(sim.base_url)
    try:
        with small_disk(tmp_path / "state") as state:
            config, _ = write_config(tmp_path, sim.base_url)
            journal = state / "journal.sqlite3"
            mpid = "kiosk-1-20260301101502-9f3a1c2b7d"  # power cut with a paid QR on screen
            crashed_sale(sim, journal, mpid, create=True, show=True, pay=True, vend=False)
            truncate_wal(journal)
            filler = fill(state)
            kept = journal.read_bytes()

            env = clean_env(tmp_path, SDL_AUDIODRIVER="dummy")
            done = kiosk("run", "--config", str(config), env=env)
            assert done.returncode == ExitCode.JOURNAL, done.stderr
            assert "Traceback" not in done.stderr, done.stderr
            message = done.stderr.strip().splitlines()[-1]
            assert "its disk has only" in message and "free space and start again" in message
            assert "keep a copy" not in message  # not damaged: space is what is missing
            assert journal.read_bytes() == kept  # left exactly as found
            listed = kiosk("journal", "list", "--config", str(config), env=env)
            assert listed.returncode != 0 and "its disk has only" in listed.stderr, listed.stderr

            filler.unlink()  # systemd's next restart finds space
            assert sale_states(journal) == {mpid: "SHOWING"}
            again = start_kiosk(tmp_path, config, 0)
            try:
                wait_for("the money back", lambda: sale_states(journal)[mpid] == "REFUNDED")
            finally:
                returncode, _ = stop_kiosk(again)
            assert returncode == 0
            [payment] = [
                p for p in control.ledger()["payments"] if p["merchant_payment_id"] == mpid
            ]
            assert payment["status"] in ("CANCELED", "REFUNDED"), payment
            assert integrity(journal) == "ok"
    finally:
        control.close()
        sim.stop()
