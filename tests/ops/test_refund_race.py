"""Issue 11: two refunds of one payment at once from two real processes (two `kiosk refund`
commands on the same journal, the kiosk stopped), against the real simulator's HTTP server.

Both processes are held at a barrier after start-up and released together, 20 times: each time
exactly one refund of the full amount is recorded and sent, the other command is refused with
exit 1 and says why, neither crashes, and PayPay's ledger shows exactly one refund."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kiosk.domain import Phase
from kiosk.engine.journal import Journal
from kiosk.ops.lock import KioskLock
from kiosk.simulator import Simulator, SimulatorConfig, SimulatorControl, start_simulator
from tests.engine.harness import kiosk
from tests.ops.cli_helpers import REPO, clean_env
from tests.ops.test_sigterm import write_config

ROUNDS = 20


def paid_sales(tmp_path: Path, sim: Simulator, journal: Path, count: int) -> dict[str, int]:
    """`count` paid sales in the journal, sold by the real engine (then stopped): mpid -> yen."""
    sales: dict[str, int] = {}
    with kiosk(tmp_path, sim=sim, journal_path=journal) as k:
        for n in range(count):
            view = k.sell(100 + 10 * n)
            assert k.drive(pay=True).phase is Phase.SUCCEEDED
            sales[view.merchant_payment_id] = view.amount_yen
    return sales


def refund_at_once(config: Path, env: dict[str, str], mpid: str) -> list[tuple[int, str, str]]:
    """Two `kiosk refund MPID` released together; (exit code, stdout, stderr) of each."""
    command = [
        sys.executable,
        "-m",
        "tests.ops.at_barrier",
        "refund",
        mpid,
        "--config",
        str(config),
    ]
    procs = [
        subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=REPO,
        )
        for _ in range(2)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        for proc in procs:  # the barrier: both go
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            proc.stdin.flush()
        done = [proc.communicate(timeout=60) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return [
        (p.returncode, out.decode(), err.decode())
        for p, (out, err) in zip(procs, done, strict=True)
    ]


def test_two_refund_commands_at_once_one_refund_one_clear_refusal(tmp_path: Path) -> None:
    sim = start_simulator(SimulatorConfig(control=True), port=0)
    control = SimulatorControl(sim.base_url)
    try:
        config, state = write_config(tmp_path, sim.base_url)
        journal = state / "journal.sqlite3"
        sales = paid_sales(tmp_path, sim, journal, ROUNDS)
        env = clean_env(tmp_path)
        took_over = 0  # rounds where the refused command held the lock while the other recorded
        for mpid, yen in sales.items():
            results = sorted(refund_at_once(config, env, mpid))
            (won, out, err), (lost, _, refusal) = results
            assert (won, lost) == (0, 1), results
            what = f"refund {mpid}-R1 of {yen} yen"
            assert out.strip() in (f"{what}: done", f"{what}: accepted by PayPay"), results
            assert refusal.strip().splitlines()[-1] == (
                f"kiosk: error: refund refused: nothing of {mpid} is refundable (state SUCCEEDED)"
            ), results
            assert "Traceback" not in err + refusal and "internal error" not in err + refusal
            took_over += "sending the refund from here" in err
        print(f"rounds: {ROUNDS}, sent after the other command let go of the lock: {took_over}")
        reader = Journal(journal, readonly=True)
        try:
            for mpid, yen in sales.items():
                rows = [
                    (r.merchant_refund_id, r.amount_yen, r.status) for r in reader.refunds_for(mpid)
                ]
                assert rows in ([(f"{mpid}-R1", yen, s)] for s in ("CREATED", "REFUNDED")), rows
        finally:
            reader.close()
        payments = {p["merchant_payment_id"]: p for p in control.ledger()["payments"]}
        for mpid, yen in sales.items():
            refunds = payments[mpid]["refunds"]
            assert [r["amount"] for r in refunds] == [yen], payments[mpid]
            assert payments[mpid]["status"] == "REFUNDED"
    finally:
        control.close()
        sim.stop()


def test_a_refund_recorded_while_the_lock_was_held_is_sent_once_it_is_free(
    tmp_path: Path,
) -> None:
    sim = start_simulator(SimulatorConfig(control=True), port=0)
    control = SimulatorControl(sim.base_url)
    try:
        config, state = write_config(tmp_path, sim.base_url)
        [(mpid, yen)] = paid_sales(tmp_path, sim, state / "journal.sqlite3", 1).items()
        holder = KioskLock(state)  # a kiosk that stops, or a `kiosk refund` that is refused
        assert holder.acquire()
        command = [sys.executable, "-m", "kiosk", "refund", mpid, "--config", str(config)]
        proc = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=clean_env(tmp_path),
            cwd=REPO,
        )
        try:
            assert proc.stderr is not None
            line = proc.stderr.readline().decode()
            while "recorded refund" not in line:
                assert line, "the command ended without recording the refund"
                line = proc.stderr.readline().decode()
            assert "the running kiosk sends it" in line
            holder.release()
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        assert proc.returncode == 0, err
        assert "no kiosk is running any more; sending the refund from here" in err.decode()
        assert out.decode().startswith(f"refund {mpid}-R1 of {yen} yen: ")
        [payment] = [p for p in control.ledger()["payments"] if p["merchant_payment_id"] == mpid]
        assert [r["amount"] for r in payment["refunds"]] == [yen]
    finally:
        control.close()
        sim.stop()
