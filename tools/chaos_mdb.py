"""`python -m tools.chaos_mdb`: the crash test with a vending machine (`make chaos` runs both).

Why: selection first and credit first put a serial line and a second state machine between a
payment and the goods; SIGKILL must not make them lose money or vend twice. The parent runs
the PayPay simulator and a scripted vending machine on a pseudo-terminal (the machine, like a
real one, outlives the kiosk, and lines it writes while the kiosk is dead wait in the pty). It
starts the kiosk's engine with the MDB driver in a child, SIGKILLs it after a random time,
pays shown QRs (sometimes while the kiosk is dead), restarts it, and so on. A last child
reconciles, then the journal is audited against PayPay's ledger, every approval the child sent
(logged, fsynced, before it reached the wire) and the machine's own record:

    kill points: N, lost: 0, orphan QR: 0, double vend: 0, machine breaches: 0
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from kiosk.domain import FINAL_PHASES, Order, SaleSettings
from kiosk.engine.clock import ClockGuard, SystemClock
from kiosk.engine.journal import Journal
from kiosk.engine.runner import Runner
from kiosk.hardware.mdb.driver import MdbDriver, SerialLines
from kiosk.hardware.mdb.feeder import Feeder
from kiosk.hardware.mdb.model import Rules, Timing
from kiosk.opa import Client, RetryPolicy
from kiosk.simulator import (
    DEMO_API_KEY,
    DEMO_API_SECRET,
    SimulatorConfig,
    SimulatorControl,
    start_simulator,
)
from kiosk.simulator.vmc import PROFILES, Script, Vmc
from kiosk.simulator.vmc.serial_pair import VmcOnPty
from tools.audit import audit
from tools.chaos import _vend_counts

ROOT = Path(__file__).resolve().parent.parent
FINAL_TIMEOUT_S = 120.0
TIMING = Timing(configure_s=1.0, selection_s=4.0, start_s=2.0, session_s=3.0, vend_s=3.0, end_s=1.0)


# ---- the child: engine + MDB driver, the screen played by a loop --------------------------


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
        terminal_id="MD",
        qr_timeout_s=6.0,
        poll_interval_s=0.2,
        grace_s=0.4,
        retry_s=0.1,
        preauth=args.credit,
        vend="mdb",
    )
    log = open(args.vend_log, "a", encoding="utf-8")  # noqa: SIM115 (lives as long as we do)
    driver: MdbDriver

    def approvals(way: str, line: str) -> None:
        if line.startswith("C,VEND,"):  # durable before the machine can hear it
            log.write(f"{driver.slot.merchant_payment_id}\n")
            log.flush()
            os.fsync(log.fileno())

    rules = Rules(credit_first=args.credit, timing=TIMING)
    driver = MdbDriver(lambda: SerialLines(args.port), rules, transcript=approvals, reopen_s=0.2)
    driver.start()
    journal = Journal(Path(args.journal))
    runner = Runner(
        client=client,
        journal=journal,
        vendor=driver,
        settings=settings,
        clock=SystemClock(),
        clock_guard=guard,
        tick_s=0.02,
        probe_s=0.3,
    )
    runner.start()
    feeder = Feeder(driver) if not (args.credit or args.final) else None
    deadline = time.monotonic() + FINAL_TIMEOUT_S
    while True:
        if feeder is not None:
            feeder.feed(runner)
        runner.pump()
        view = runner.current_sale()
        if view is not None and view.phase in FINAL_PHASES:
            runner.acknowledge()
        elif view is None and args.credit and not args.final and runner.service_issue() is None:
            with contextlib.suppress(ValueError):
                runner.begin_sale(Order.of_amount(500, "Vending credit"))
        if args.final and _settled(runner, journal):
            driver.close()
            runner.stop(5.0)
            return 0
        if args.final and time.monotonic() > deadline:
            return 4
        time.sleep(0.02 if rng.random() < 0.9 else 0.1)


def _settled(runner: Runner, journal: Journal) -> bool:
    return (
        runner.last_reconcile_summary() is not None
        and not journal.unfinished_sales()
        and not journal.open_refunds()
    )


# ---- the parent: machine, customer, killer, auditor ---------------------------------------


def _script(credit: bool) -> Script:
    return Script(
        credit=credit, price="120", select_after_s=0.3, give_up_after_s=5.0, sessions=10**6
    )


def parent(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    sim = start_simulator(SimulatorConfig(control=True, seed=args.seed), port=0)
    ctl = SimulatorControl(sim.base_url)
    machine = VmcOnPty(Vmc(_script(args.credit), PROFILES[args.profile])).start()
    stop = threading.Event()
    customer = threading.Thread(target=_customer, args=(ctl, rng, stop), daemon=True)
    customer.start()
    kills, code = 0, 0
    with tempfile.TemporaryDirectory(prefix="kiosk-chaos-mdb-") as tmp:
        work = Path(tmp)
        try:
            while kills < args.kill_points:
                proc = _spawn(args, work, sim.base_url, machine.path, final=False)
                time.sleep(rng.uniform(0.3, 6.0))
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
                time.sleep(rng.uniform(0.0, 0.6))
            stop.set()
            time.sleep(0.5)
            final = _spawn(args, work, sim.base_url, machine.path, final=True)
            code = final.wait(FINAL_TIMEOUT_S + 10)
            journal = Journal(work / "journal.sqlite3")
            try:
                sales = journal.all_sales()
            finally:
                journal.close()
            report = audit(sales, ctl.ledger(), _vend_counts(work / "approvals.log"))
        finally:
            stop.set()
            machine.stop()
            ctl.close()
            sim.stop()
    breaches = list(machine.vmc.violations)
    vended = len(machine.vmc.vends)
    paid = sum(1 for s in sales if s.paid)
    if vended > paid:
        breaches.append(f"{vended} vends for {paid} paid sales")
    sys.stdout.write(f"{report.line(kills)}, machine breaches: {len(breaches)}\n")
    for problem in [*report.problems, *breaches]:
        sys.stderr.write(f"  {problem}\n")
    sys.stderr.write(f"  sales {len(sales)}, paid {paid}, vended {vended}, final status {code}\n")
    return 0 if report.clean and not breaches and code == 0 else 1


def _customer(ctl: SimulatorControl, rng: random.Random, stop: threading.Event) -> None:
    """Pays most QRs a moment after they appear, whether or not the kiosk is alive."""
    seen: set[str] = set()
    while not stop.is_set():
        with contextlib.suppress(Exception):  # the simulator is shutting down
            for code in ctl.ledger()["codes"]:
                if code["payable"] and code["code_id"] not in seen:
                    seen.add(code["code_id"])
                    if rng.random() < 0.8:
                        threading.Timer(rng.uniform(0.1, 2.5), _pay, (ctl, code)).start()
        stop.wait(0.1)


def _pay(ctl: SimulatorControl, code: dict[str, object]) -> None:
    with contextlib.suppress(Exception):  # no longer payable: the customer was too late
        ctl.pay(str(code["code_id"]))


def _spawn(
    args: argparse.Namespace, work: Path, base_url: str, port: str, *, final: bool
) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "tools.chaos_mdb", "--child", "--base-url", base_url]
    argv += ["--port", port, "--journal", str(work / "journal.sqlite3")]
    argv += ["--vend-log", str(work / "approvals.log"), "--seed", str(random.randrange(1 << 30))]
    argv += ["--credit"] * args.credit + ["--final"] * final
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tools.chaos_mdb", description=__doc__.split("\n")[0]
    )
    p.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    p.add_argument("--kill-points", type=int, default=30, help="how many SIGKILLs")
    p.add_argument("--credit", action="store_true", help="credit first (preauth) instead")
    p.add_argument("--profile", choices=sorted(PROFILES), default="plain", help="machine quirks")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--final", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--base-url", help=argparse.SUPPRESS)
    p.add_argument("--port", help=argparse.SUPPRESS)
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
