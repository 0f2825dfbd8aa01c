"""Issue 11: two refunds of one payment at once from two real processes on the same journal,
against the real simulator's HTTP server: two `kiosk refund` commands (the kiosk stopped), and
a running `kiosk run` whose attendant Refund is pressed while a `kiosk refund` runs.

Both sides are held at a barrier just before they record the refund (a pipe each) and released
together, 20 times: each time exactly one refund of the full amount is recorded and sent, the
other side is refused (the command with exit 1 and one line saying why, the screen with
RefundRefused "nothing"), nothing crashes, and PayPay's ledger shows exactly one refund. Which
side wins varies from round to round (printed with -s)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kiosk.domain import Phase
from kiosk.engine.journal import Journal
from kiosk.ops.lock import KioskLock
from kiosk.simulator import Simulator, SimulatorConfig, SimulatorControl, start_simulator
from tests.engine.harness import kiosk
from tests.ops.cli_helpers import REPO, clean_env, wait_for
from tests.ops.test_sigterm import stop_kiosk, write_config

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


def at_barrier(config: Path, env: dict[str, str], mpid: str) -> subprocess.Popen[bytes]:
    """`kiosk refund MPID`, imports done, waiting for "go" on its stdin."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.ops.at_barrier", "refund", mpid, "--config", str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=REPO,
    )
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    return proc


def go(proc: subprocess.Popen[bytes], line: bytes = b"go\n") -> None:
    assert proc.stdin is not None
    proc.stdin.write(line)
    proc.stdin.flush()


def finish(proc: subprocess.Popen[bytes]) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of a command released from the barrier."""
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, out.decode(), err.decode()


def refund_at_once(config: Path, env: dict[str, str], mpid: str) -> list[tuple[int, str, str]]:
    """Two `kiosk refund MPID` released together; (exit code, stdout, stderr) of each."""
    procs = [at_barrier(config, env, mpid) for _ in range(2)]
    for proc in procs:  # the barrier: both go
        go(proc)
    return [finish(proc) for proc in procs]


def refused_line(mpid: str) -> str:
    return f"kiosk: error: refund refused: nothing of {mpid} is refundable (state SUCCEEDED)"


def done_line(out: str, mpid: str, yen: int) -> bool:
    what = f"refund {mpid}-R1 of {yen} yen"
    return out.strip() in (f"{what}: done", f"{what}: accepted by PayPay")


def sent_once(journal: Path, control: SimulatorControl, sales: dict[str, int]) -> bool:
    """Each sale has exactly one refund of its full amount, in the journal (sent: accepted or
    done) and in PayPay's ledger. False while one is still to be sent; raises on anything else."""
    reader = Journal(journal, readonly=True)
    try:
        rows = {
            m: [(r.merchant_refund_id, r.amount_yen, r.status) for r in reader.refunds_for(m)]
            for m in sales
        }
    finally:
        reader.close()
    payments = {p["merchant_payment_id"]: p for p in control.ledger()["payments"]}
    for mpid, yen in sales.items():
        [(refund_id, amount, status)] = rows[mpid]
        assert (refund_id, amount) == (f"{mpid}-R1", yen), rows[mpid]
        if status not in ("CREATED", "REFUNDED"):
            assert status in ("PENDING", "UNKNOWN"), rows[mpid]
            return False
        assert [r["amount"] for r in payments[mpid]["refunds"]] == [yen], payments[mpid]
        assert payments[mpid]["status"] == "REFUNDED"
    return True


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
            assert done_line(out, mpid, yen), results
            assert refusal.strip().splitlines()[-1] == refused_line(mpid), results
            assert "Traceback" not in err + refusal and "internal error" not in err + refusal
            took_over += "sending the refund from here" in err
        print(f"rounds: {ROUNDS}, sent after the other command let go of the lock: {took_over}")
        assert sent_once(journal, control, sales)
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


def test_the_attendant_screen_and_kiosk_refund_at_once(tmp_path: Path) -> None:
    """A running kiosk (the real `kiosk run`; its Refund button pressed by a thread) and a
    `kiosk refund` command on the same journal, released together: one refund, one refusal."""
    sim = start_simulator(SimulatorConfig(control=True), port=0)
    control = SimulatorControl(sim.base_url)
    report_from, report_to = os.pipe()
    try:
        config, state = write_config(tmp_path, sim.base_url)
        journal = state / "journal.sqlite3"
        sales = paid_sales(tmp_path, sim, journal, ROUNDS)
        env = clean_env(tmp_path, SDL_AUDIODRIVER="dummy", TEST_REPORT_FD=str(report_to))
        with (tmp_path / "kiosk.log").open("ab") as log:
            running = subprocess.Popen(
                [sys.executable, "-m", "tests.ops.kiosk_refunding", "--config", str(config)],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=REPO,
                pass_fds=(report_to,),
            )
        os.close(report_to)
        screen_said = os.fdopen(report_from, "r", encoding="utf-8")
        try:
            assert screen_said.readline() == "ready\n"
            by_screen = 0
            for mpid, yen in sales.items():
                command = at_barrier(config, env, mpid)
                go(running, f"{mpid}\n".encode())  # the barrier: the button and the command
                go(command)
                screen = screen_said.readline().split()
                code, out, err = finish(command)
                if screen == ["recorded", mpid]:
                    by_screen += 1
                    assert code == 1 and err.strip().splitlines()[-1] == refused_line(mpid), err
                else:
                    assert screen == ["refused", mpid, "nothing"], screen
                    assert code == 0 and done_line(out, mpid, yen), (out, err)
                assert "Traceback" not in err and "internal error" not in err
                assert running.poll() is None  # the kiosk did not crash
            print(f"rounds: {ROUNDS}, won by the attendant screen: {by_screen}")
            wait_for("the kiosk to send its refunds", lambda: sent_once(journal, control, sales))
        finally:
            screen_said.close()
            returncode, _ = stop_kiosk(running)
            assert running.stdin is not None
            running.stdin.close()
        log_text = (tmp_path / "kiosk.log").read_text(encoding="utf-8", errors="replace")
        assert returncode == 0, log_text
        assert "Traceback" not in log_text, log_text
    finally:
        control.close()
        sim.stop()
