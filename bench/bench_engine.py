"""Engine benchmarks: full sales per second against the simulator (fake kiosk clock), and the
median durable journal commit (WAL, synchronous=FULL)."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench.common import figure, median_ms
from kiosk.domain import FINAL_PHASES, Order, Phase, SaleSettings
from kiosk.engine.clock import ClockGuard, FakeClock
from kiosk.engine.journal import Journal
from kiosk.engine.runner import Runner
from kiosk.hardware.vend import NoVendor
from kiosk.opa import Client, RetryPolicy
from kiosk.sale.machine import new_sale
from kiosk.simulator import (
    DEMO_API_KEY,
    DEMO_API_SECRET,
    SimulatorConfig,
    SimulatorControl,
    start_simulator,
)

SALES = 60
COMMITS = 300


def _wait(runner: Runner, clock: FakeClock, done: object) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        runner.pump()
        if callable(done) and done():
            return
        clock.advance(0.5)
        time.sleep(0.001)
    raise RuntimeError("sale did not finish")


def sales_per_second(workdir: Path) -> float:
    sim = start_simulator(SimulatorConfig(control=True, seed=1), port=0)
    ctl = SimulatorControl(sim.base_url)
    clock = FakeClock(start=float(int(time.time())))
    guard = ClockGuard()
    client = Client(
        auth=(DEMO_API_KEY, DEMO_API_SECRET),
        base_url=sim.base_url,
        timeout=5.0,
        retry=RetryPolicy(max_attempts=1),
        on_response=guard.observe,
    )
    runner = Runner(
        client=client,
        journal=Journal(workdir / "journal.sqlite3"),
        vendor=NoVendor(),
        settings=SaleSettings(terminal_id="BENCH"),
        clock=clock,
        clock_guard=guard,
        tick_s=0.001,
    )
    runner.start()
    _wait(runner, clock, lambda: runner.service_issue() is None)
    started = time.perf_counter()
    for _ in range(SALES):
        runner.begin_sale(Order.of_amount(300, "Coffee"))
        _wait(runner, clock, lambda: _phase(runner) is Phase.AWAITING_PAYMENT)
        view = runner.current_sale()
        assert view is not None
        code = next(
            c for c in ctl.ledger()["codes"] if c["merchant_payment_id"] == view.merchant_payment_id
        )
        ctl.pay(code["code_id"])
        _wait(runner, clock, lambda: _phase(runner) in FINAL_PHASES)
        assert _phase(runner) is Phase.SUCCEEDED
        runner.acknowledge()
    elapsed = time.perf_counter() - started
    runner.stop(5)
    ctl.close()
    sim.stop()
    return SALES / elapsed


def _phase(runner: Runner) -> Phase | None:
    view = runner.current_sale()
    return view.phase if view else None


def commit_samples(workdir: Path) -> list[float]:
    journal = Journal(workdir / "commits.sqlite3")
    sale, _ = new_sale("BENCH-1", 300, "Coffee", preauth=False, now=1.0e9)
    samples = []
    for i in range(COMMITS):
        started = time.perf_counter()
        journal.save_sale(sale, 1.0e9 + i)
        samples.append(time.perf_counter() - started)
    journal.close()
    return samples


def run() -> Iterator[dict[str, object]]:
    with tempfile.TemporaryDirectory(prefix="bench-engine-") as tmp:
        workdir = Path(tmp)
        yield figure("journal_commit_ms_median", median_ms(commit_samples(workdir)), "ms")
        yield figure("engine_sales_per_s", sales_per_second(workdir), "sales/s", sales=SALES)
