"""`python -m tools.chaos`: the crash test (`make chaos`; `make chaos ARGS=--quick` for CI).

Why: the money-safety promises only count if they survive hostile answers and SIGKILL at the
worst moment. The parent runs a simulator (with a state file) whose fault menu (FAULTS) spoils
a share of PayPay's answers: 500s, 500-but-applied, dropped answers, latency past the client's
timeout, maintenance, a proxy's envelope-less HTML 404/502, definite refusals, statuses the
client does not know and answers about another sale. It starts the engine in a child process
(tools.chaos_child), which stops at every step boundary (state saved, before a call, after its
answer) and steps its wall clock both ways now and then. The parent lets it run to a randomly
chosen boundary and SIGKILLs it there, plays the customer (pays at once, pays late, declines,
never pays, pays while the kiosk is dead), restarts it, and so on. A last child settles without
faults, and the oracle (tools.audit) judges money from the simulator's ledger, goods from the
vend log and what the customer was told from the screen log; the journal is audited too:

    kill points: N, faulted calls: M, lost: 0, orphan QR: 0, double vend: 0, double refund: 0,
    stranded: 0, told wrong: 0

(one line). `--workers 4` (the full run's default) runs independent runs in parallel and adds
them up. The exit status is non-zero if any count is not zero (or the engine stalled, or never
settled).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import random
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from kiosk.engine.journal import Journal
from kiosk.simulator import SimulatorConfig, SimulatorControl, start_simulator
from tools.audit import COUNTS, AuditReport, ScreenLog, audit, oracle
from tools.chaos_child import (
    CODE_EXPIRY_S,
    FINAL_GIVE_BACKS,
    add_child_arguments,
    child,
    sale_settings,
    settle_limit_s,
)

ROOT = Path(__file__).resolve().parent.parent
UNSETTLED = {  # the last life's exit status when it could not settle
    4: "did not settle within {limit:.0f} s; still unfinished or held",
    5: "settled, but held sales stayed held after the attendant gave them back "
    + f"{FINAL_GIVE_BACKS} times",
}
FINAL_SLACK_S = 30.0  # the last life's start and stop, around its settle limit
STALL_S = 60.0  # a live engine passes a step boundary far more often than this, even when busy
# A life ends at a random step boundary up to max_steps: longer lives make more calls (and
# faults) per kill; the full run's 200 give the 10,000 faulted calls in 1,000 kills.
QUICK = {"kill_points": 20, "workers": 1, "preauth_share": 0.4, "max_steps": 120}
# four kiosks at once: the run waits on customers (QR timeouts, late payments), not on the CPU
FULL = {"kill_points": 1000, "workers": 4, "preauth_share": 0.4, "max_steps": 200}

# (weight, fault): each call is spoiled with chance fault_rate, shared out by weight (a fault
# for one endpoint only draws on that endpoint's calls).
FAULTS: tuple[tuple[float, dict[str, Any]], ...] = (
    (2.0, {"status": 500}),
    (2.0, {"status": 500, "applied": True}),
    (2.0, {"drop_response": True}),
    (1.0, {"latency_s": 0.3}),
    (0.5, {"latency_s": 1.2}),  # past the child's 1 s timeout; applied all the same
    (1.0, {"status": 503, "code": "MAINTENANCE_MODE"}),
    (1.0, {"status": 502, "envelope": False}),
    (1.0, {"status": 404, "envelope": False}),
    (1.0, {"endpoint": "delete_code", "status": 400, "code": "DYNAMIC_QR_BAD_REQUEST"}),
    (1.0, {"endpoint": "cancel_payment", "status": 400, "code": "INVALID_PARAMS"}),
    (0.5, {"endpoint": "refund", "status": 400, "code": "INVALID_PARAMS"}),
    (0.5, {"endpoint": "get_code_payment", "data": {"status": "PENDING_REVIEW"}}),
    (0.3, {"endpoint": "get_code_payment", "data": {"merchantPaymentId": "CH-OTHER"}}),
    (0.3, {"endpoint": "get_code_payment", "data": {"amount": {"amount": 1, "currency": "JPY"}}}),
)


class Stalled(Exception):
    """The engine stopped making progress (or died) without being killed."""


class Run:
    """One simulator, one journal, many lives of the engine."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.workdir = workdir
        self.logs = {name: workdir / f"{name}.log" for name in ("vend", "screen")}
        self.sim = start_simulator(
            SimulatorConfig(
                control=True,
                seed=args.seed,
                state_file=workdir / "sim.json",
                expiry_s=CODE_EXPIRY_S,
            ),
            port=0,
        )
        self.ctl = SimulatorControl(self.sim.base_url)
        self.kills = 0
        self.offered: set[str] = set()
        self.vend_unrecorded: set[str] = set()  # killed between the vend and its record

    def _spawn(self, *, final: bool) -> subprocess.Popen[str]:
        argv = [sys.executable, "-m", "tools.chaos", "--child", "--base-url", self.sim.base_url]
        argv += ["--journal", str(self.workdir / "journal.sqlite3")]
        argv += ["--vend-log", str(self.logs["vend"]), "--screen-log", str(self.logs["screen"])]
        argv += ["--seed", str(self.rng.randrange(1 << 30))]
        if self.rng.random() < self.args.preauth_share:
            argv.append("--preauth")
        if final:
            argv.append("--final")
        else:
            offset = self.rng.choice([0.0, 0.0, self.rng.uniform(-60, 60)])
            argv += ["--clock-offset", f"{offset:.3f}"]
            argv += ["--clock-step-rate", str(self.args.clock_step_rate)]
        return subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            bufsize=1,
        )

    def arm_faults(self) -> None:
        total = sum(weight for weight, _ in FAULTS)
        for weight, fault in FAULTS:
            chance = self.args.fault_rate * weight / total
            if chance > 0:
                self.ctl.add_fault(**{"endpoint": "*", **fault}, times=None, probability=chance)

    def run_until_killed(self) -> None:
        proc = self._spawn(final=False)
        assert proc.stdin is not None and proc.stdout is not None
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True).start()
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
                self._customer(code_id)
            if seen >= target:
                if kind == "after-vend":  # goods out, unrecorded: the customer is owed nothing
                    self.vend_unrecorded.add(mpid)
                self._kill(proc, code_id if state == "SHOWING" else None)
                return
            proc.stdin.write("go\n")
            proc.stdin.flush()
        proc.wait()
        raise Stalled(f"the engine exited by itself with status {proc.returncode}")

    def _customer(self, code_id: str) -> None:
        """A QR is on the screen: pay now, pay late, decline, or walk away."""
        roll = self.rng.random()
        try:
            if roll < 0.4:
                self.ctl.pay(code_id)
            elif roll < 0.55:
                self.ctl.pay(code_id, after_s=self.rng.uniform(0.3, 2.5))
            elif roll < 0.65:
                self.ctl.decline(code_id)
        except RuntimeError:  # no longer payable: the kiosk withdrew it
            pass

    def _kill(self, proc: subprocess.Popen[str], shown_code: str | None) -> None:
        proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream:
                stream.close()
        self.kills += 1
        roll = self.rng.random()
        try:
            if shown_code and roll < 0.3:
                self.ctl.pay(shown_code)  # the customer pays while the kiosk is down
            elif roll < 0.15:  # or pays another code it saw earlier, still payable
                codes = self.ctl.ledger()["codes"]
                payable = [
                    c for c in codes if c["payable"] and c["merchant_payment_id"] in self.offered
                ]
                if payable:
                    self.ctl.pay(self.rng.choice(payable)["code_id"])
        except RuntimeError:
            pass

    def final_audit(self) -> tuple[AuditReport, int, list[str]]:
        """(report, faulted calls, what went wrong with the last life: nothing if it settled)."""
        self.ctl.clear_faults()
        faulted = self.ctl.faults_fired()
        limit = max(settle_limit_s(sale_settings(p)) for p in (False, True))
        proc = self._spawn(final=True)
        try:
            out, _ = proc.communicate(timeout=limit + FINAL_SLACK_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        unsettled = []
        if proc.returncode != 0:
            why = UNSETTLED.get(proc.returncode, f"ended with {proc.returncode}")
            unsettled.append(f"the last life (no faults) {why.format(limit=limit)}:")
            unsettled += [f"    {line[2:]}" for line in out.splitlines() if line.startswith("U ")]
        journal = Journal(self.workdir / "journal.sqlite3")
        try:
            sales = journal.all_sales()
        finally:
            journal.close()
        ledger = self.ctl.ledger()
        vends = _vend_counts(self.logs["vend"])
        screen = ScreenLog.parse(_read(self.logs["screen"]))
        shown = self.offered | screen.shown()
        watching = {s.merchant_payment_id for s in sales if not s.finished}
        report = oracle(
            ledger,
            vends,
            screen,
            shown=shown,
            watching=watching,
            vend_unrecorded=self.vend_unrecorded,
        )
        # payable codes are the oracle's to count (once); the journal's view is named
        states = {s.merchant_payment_id: s.state.value for s in sales}
        for c in ledger["codes"]:
            if c["payable"]:
                mpid = c["merchant_payment_id"]
                report.problems.append(f"note: {mpid}: payable, journal says {states.get(mpid)}")
        codes = [c | {"payable": False} for c in ledger["codes"]]
        report.add(audit(sales, ledger | {"codes": codes}, vends))
        for sale in sales:
            if not sale.finished:
                report.flag("lost", sale.merchant_payment_id, f"never settled ({sale.state})")
        return report, faulted, unsettled

    def close(self) -> None:
        self.ctl.close()
        self.sim.stop()


def _read_lines(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _scratch() -> str | None:
    """RAM when there is some: SIGKILL, not a power cut, is under test, so fsyncs need not
    wait for a disk (the journal's fsync tests are elsewhere)."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


@contextlib.contextmanager
def _workdir(keep: str | None) -> Iterator[Path]:
    if keep is None:
        with tempfile.TemporaryDirectory(prefix="kiosk-chaos-", dir=_scratch()) as tmp:
            yield Path(tmp)
        return
    Path(keep).mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="kiosk-chaos-", dir=keep))
    sys.stderr.write(f"keeping {path}\n")
    yield path


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


def _vend_counts(path: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in _read(path).split():
        counts[line] = counts.get(line, 0) + 1
    return counts


def one_run(args: argparse.Namespace) -> dict[str, Any]:
    """A whole run in this process: the result as JSON-able counts and problems."""
    with _workdir(args.keep) as tmp:
        run = Run(args, tmp)
        failures: list[str] = []  # the run itself went wrong: stalled, or never settled
        try:
            run.arm_faults()
            while run.kills < args.kill_points:
                run.run_until_killed()
        except Stalled as exc:
            failures.append(f"seed {args.seed}: {exc}")
        try:
            report, faulted, unsettled = run.final_audit()
        finally:
            run.close()
    failures += [f"seed {args.seed}: {line}" for line in unsettled]
    counts = {name: getattr(report, name) for name in COUNTS}
    return {
        "kills": run.kills,
        "faulted": faulted,
        "counts": counts,
        "problems": [f"seed {args.seed}: {p}" for p in report.problems],
        "failures": failures,
    }


def parent(args: argparse.Namespace) -> int:
    results = [one_run(args)] if args.workers <= 1 else _in_parallel(args)
    total = AuditReport()
    kills = faulted = 0
    problems: list[str] = []
    failures: list[str] = []
    for result in results:
        kills += result["kills"]
        faulted += result["faulted"]
        for name, value in result["counts"].items():
            setattr(total, name, getattr(total, name) + value)
        problems += result["problems"]
        failures += result["failures"]
    sys.stdout.write(total.line(kills, faulted) + "\n")
    for problem in problems + failures:
        sys.stderr.write(f"  {problem}\n")
    return 0 if total.clean and not failures else 1


def _in_parallel(args: argparse.Namespace) -> list[dict[str, Any]]:
    """`workers` independent runs (own simulator and journal), seeds seed, seed+1, ..."""
    procs = []
    share, extra = divmod(args.kill_points, args.workers)
    for i in range(args.workers):
        argv = [sys.executable, "-m", "tools.chaos", "--json", "--workers", "1"]
        argv += ["--seed", str(args.seed + i), "--kill-points", str(share + (i < extra))]
        argv += ["--max-steps", str(args.max_steps), "--fault-rate", str(args.fault_rate)]
        argv += ["--clock-step-rate", str(args.clock_step_rate)]
        argv += ["--preauth-share", str(args.preauth_share)]
        argv += ["--keep", args.keep] if args.keep else []
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        procs.append(subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env))
    results = []
    for proc in procs:
        out, _ = proc.communicate()
        try:
            results.append(json.loads(out))
        except ValueError:
            failure = f"a worker ended with {proc.returncode} and no result"
            results.append(
                {"kills": 0, "faulted": 0, "counts": {}, "problems": [], "failures": [failure]}
            )
    return results


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tools.chaos", description=__doc__.split("\n")[0])
    p.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    p.add_argument("--quick", action="store_true", help="a short run for CI (about a minute)")
    p.add_argument("--kill-points", type=int, default=None, help="how many SIGKILLs (1000)")
    p.add_argument("--workers", type=int, default=None, help="parallel runs (2)")
    p.add_argument("--preauth-share", type=float, default=None, help="lives in preauth (0.4)")
    p.add_argument("--max-steps", type=int, default=None, help="most boundaries per life (200)")
    p.add_argument("--fault-rate", type=float, default=0.5, help="chance a call is spoiled")
    p.add_argument("--clock-step-rate", type=float, default=0.01, help="per step boundary")
    p.add_argument("--keep", metavar="DIR", help="keep each run's journal, logs and ledger here")
    p.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    add_child_arguments(p)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.child:
        return child(args)
    preset = QUICK if args.quick else FULL
    args.kill_points = args.kill_points if args.kill_points is not None else preset["kill_points"]
    args.workers = args.workers if args.workers is not None else preset["workers"]
    if args.preauth_share is None:
        args.preauth_share = preset["preauth_share"]
    if args.max_steps is None:
        args.max_steps = int(preset["max_steps"])
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1 << 30)
        sys.stderr.write(f"seed {args.seed}\n")
    if args.json:
        sys.stdout.write(json.dumps(one_run(args)) + "\n")
        return 0
    return parent(args)


if __name__ == "__main__":
    raise SystemExit(main())
