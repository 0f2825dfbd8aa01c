"""`python -m tools.chaos`: the crash test (`make chaos`).

Why: the journal's promises only count if they survive SIGKILL at the worst moment. The parent
runs a simulator (with a state file) and starts the engine in a child process. The child stops
at every step boundary (state saved, before a call, after a call's answer) and waits for a
"go"; the parent lets it run to a randomly chosen boundary and SIGKILLs it there, plays the
customer (pays shown QRs, sometimes while the kiosk is dead), restarts it, and so on. At the end
a last child reconciles without interruption, and the journal is audited against the
simulator's ledger and the vending log:

    kill points: N, lost: 0, orphan QR: 0, double vend: 0

The exit status is non-zero if any count is not zero (or the engine never settled).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO

from kiosk.domain import FINAL_PHASES, Order, Phase, SaleSettings
from kiosk.engine.clock import ClockGuard, SystemClock
from kiosk.engine.journal import Journal
from kiosk.engine.runner import Runner
from kiosk.hardware.vend import VendRequest, VendResult
from kiosk.opa import Client, RetryPolicy
from kiosk.sale.model import Sale
from kiosk.simulator import (
    DEMO_API_KEY,
    DEMO_API_SECRET,
    SimulatorConfig,
    SimulatorControl,
    start_simulator,
)
from tools.audit import AuditReport, audit

ROOT = Path(__file__).resolve().parent.parent
FINAL_TIMEOUT_S = 120.0
STALL_S = 30.0  # a live engine passes a step boundary far more often than this


# ---- the child: the engine with a scripted screen -----------------------------------------


class LoggingVendor:
    """Goods out = one fsynced line in the vend log, so the parent can count double vends."""

    def __init__(self, path: Path, rng: random.Random, fail_rate: float) -> None:
        self.path = path
        self.rng = rng
        self.fail_rate = fail_rate

    def vend(self, request: VendRequest) -> VendResult:
        if self.rng.random() < self.fail_rate:
            return VendResult(False, "jammed (chaos)")
        with self.path.open("a", encoding="utf-8") as log:
            log.write(request.merchant_payment_id + "\n")
            log.flush()
            os.fsync(log.fileno())
        return VendResult(True, "vended")


def _pause_at_boundary(kind: str, sale: Sale | None) -> None:
    if sale is None:
        line = f"B {kind} - - -\n"
    else:
        code = sale.code_id or "-"
        line = f"B {kind} {sale.state.value} {sale.merchant_payment_id} {code}\n"
    sys.stdout.write(line)
    sys.stdout.flush()
    if not sys.stdin.readline():  # the parent is gone
        os._exit(3)


def child(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    guard = ClockGuard()
    client = Client(
        auth=(DEMO_API_KEY, DEMO_API_SECRET),
        base_url=args.base_url,
        timeout=2.0,
        retry=RetryPolicy(max_attempts=1, max_total_s=4.0),
        on_response=guard.observe,
    )
    settings = SaleSettings(
        terminal_id="CH",
        qr_timeout_s=1.5,
        poll_interval_s=0.15,
        grace_s=0.3,
        retry_s=0.1,
        preauth=args.preauth,
    )
    journal = Journal(Path(args.journal))
    runner = Runner(
        client=client,
        journal=journal,
        vendor=LoggingVendor(Path(args.vend_log), rng, 0.0 if args.final else 0.15),
        settings=settings,
        clock=SystemClock(),
        clock_guard=guard,
        tick_s=0.02,
        boundary=None if args.final else _pause_at_boundary,
        probe_s=0.3,
    )
    runner.start()
    if args.final:
        return _settle_and_exit(runner, journal)
    while True:
        _play_screen(runner, rng)
        time.sleep(0.01)


def _play_screen(runner: Runner, rng: random.Random) -> None:
    runner.pump()
    view = runner.current_sale()
    if view is None:
        if runner.service_issue() is None:
            with contextlib.suppress(ValueError):  # just went out of service: later
                runner.begin_sale(Order.of_amount(rng.choice([100, 150, 500, 1200])))
    elif view.phase in FINAL_PHASES:
        runner.acknowledge()
        if view.phase is Phase.SUCCEEDED and rng.random() < 0.25:
            with contextlib.suppress(ValueError):  # the attendant refunds part of it
                runner.refund(view.merchant_payment_id, rng.choice([50, 100]))
    elif view.phase is Phase.AWAITING_PAYMENT and rng.random() < 0.02:
        runner.cancel_sale()


def _settle_and_exit(runner: Runner, journal: Journal) -> int:
    deadline = time.monotonic() + FINAL_TIMEOUT_S
    while time.monotonic() < deadline:
        runner.pump()
        settled = (
            runner.last_reconcile_summary() is not None
            and not journal.unfinished_sales()
            and not journal.open_refunds()
        )
        if settled:
            runner.stop(5.0)
            return 0
        time.sleep(0.05)
    runner.stop(5.0)
    return 4


# ---- the parent: customer, killer, auditor ------------------------------------------------


class Chaos:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.workdir = workdir
        self.journal = workdir / "journal.sqlite3"
        self.vend_log = workdir / "vend.log"
        self.sim = start_simulator(
            SimulatorConfig(control=True, seed=args.seed, state_file=workdir / "sim.json"),
            port=0,
        )
        self.ctl = SimulatorControl(self.sim.base_url)
        self.kills = 0
        self.offered: set[str] = set()

    def _spawn(self, *, final: bool) -> subprocess.Popen[str]:
        argv = [
            sys.executable,
            "-m",
            "tools.chaos",
            "--child",
            "--base-url",
            self.sim.base_url,
            "--journal",
            str(self.journal),
            "--vend-log",
            str(self.vend_log),
            "--seed",
            str(self.rng.randrange(1 << 30)),
        ]
        if self.rng.random() < 0.4:
            argv.append("--preauth")
        if final:
            argv.append("--final")
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        return subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
            bufsize=1,
        )

    def arm_faults(self) -> None:
        rate = self.args.fault_rate
        if rate <= 0:
            return
        for fault in ({"status": 500}, {"status": 500, "applied": True}, {"drop_response": True}):
            self.ctl.add_fault("*", times=None, probability=rate / 3, **fault)

    def run_until_killed(self) -> None:
        proc = self._spawn(final=False)
        assert proc.stdin is not None and proc.stdout is not None
        lines: queue.Queue[str | None] = queue.Queue()
        reader = threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True)
        reader.start()
        target = self.rng.randint(1, self.args.max_steps)
        seen = 0
        while True:
            try:
                line = lines.get(timeout=STALL_S)
            except queue.Empty:
                proc.kill()
                proc.wait()
                raise Stalled(f"the engine made no step for {STALL_S:g} s") from None
            if line is None:
                break
            parts = line.split()
            if len(parts) != 5 or parts[0] != "B":
                continue
            _, kind, state, mpid, code_id = parts
            seen += 1
            if kind == "saved" and state == "SHOWING" and mpid not in self.offered:
                self.offered.add(mpid)
                if self.rng.random() < 0.6:
                    self._pay(code_id)
            if seen >= target:
                self._kill(proc, code_id if state == "SHOWING" else None)
                return
            proc.stdin.write("go\n")
            proc.stdin.flush()
        proc.wait()
        raise Stalled(f"the engine exited by itself with status {proc.returncode}")

    def _kill(self, proc: subprocess.Popen[str], shown_code: str | None) -> None:
        proc.kill()
        proc.wait()
        if proc.stdin:
            proc.stdin.close()
        if proc.stdout:
            proc.stdout.close()
        self.kills += 1
        roll = self.rng.random()
        if shown_code and roll < 0.3:
            self._pay(shown_code)  # the customer pays while the kiosk is down
        elif roll < 0.15:  # or pays a code the kiosk never got an answer for
            payable = [c for c in self.ctl.ledger()["codes"] if c["payable"]]
            if payable:
                self._pay(self.rng.choice(payable)["code_id"])

    def _pay(self, code_id: str) -> None:
        with contextlib.suppress(RuntimeError):  # no longer payable: the kiosk withdrew it
            self.ctl.pay(code_id)

    def final_audit(self) -> tuple[AuditReport, int]:
        self.ctl.clear_faults()
        proc = self._spawn(final=True)
        try:
            code = proc.wait(timeout=FINAL_TIMEOUT_S + 30)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        journal = Journal(self.journal)
        try:
            sales = journal.all_sales()
        finally:
            journal.close()
        report = audit(sales, self.ctl.ledger(), _vend_counts(self.vend_log))
        for sale in sales:
            if not sale.finished:
                report.lost += 1
                report.problems.append(f"{sale.merchant_payment_id}: never settled ({sale.state})")
        return report, code

    def close(self) -> None:
        self.ctl.close()
        self.sim.stop()


class Stalled(Exception):
    """The engine stopped making progress (or died) without being killed."""


def _read_lines(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _vend_counts(path: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").split():
            counts[line] = counts.get(line, 0) + 1
    return counts


def parent(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="kiosk-chaos-") as tmp:
        chaos = Chaos(args, Path(tmp))
        stalled: str | None = None
        try:
            chaos.arm_faults()
            while chaos.kills < args.kill_points:
                chaos.run_until_killed()
        except Stalled as exc:
            stalled = str(exc)
        try:
            report, final_code = chaos.final_audit()
        finally:
            chaos.close()
        if stalled:
            report.problems.append(stalled)
            final_code = final_code or 5
    sys.stdout.write(report.line(chaos.kills) + "\n")
    for problem in report.problems:
        sys.stderr.write(f"  {problem}\n")
    if final_code != 0:
        sys.stderr.write(f"  the final reconciliation ended with status {final_code}\n")
    return 0 if report.clean and final_code == 0 else 1


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tools.chaos", description=__doc__.split("\n")[0])
    p.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    p.add_argument("--kill-points", type=int, default=200, help="how many SIGKILLs")
    p.add_argument("--max-steps", type=int, default=40, help="most step boundaries per life")
    p.add_argument("--fault-rate", type=float, default=0.06, help="chance of a PayPay fault")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--final", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--preauth", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--base-url", help=argparse.SUPPRESS)
    p.add_argument("--journal", help=argparse.SUPPRESS)
    p.add_argument("--vend-log", help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.child:
        return child(args)
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1 << 30)
        sys.stderr.write(f"seed {args.seed}\n")
    return parent(args)


if __name__ == "__main__":
    raise SystemExit(main())
