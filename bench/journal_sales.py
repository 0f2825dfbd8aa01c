"""Drive N ordinary paid sales through the engine into a journal (a child of bench_journal).

`python -m bench.journal_sales N DIR`: real simulator (in this process), real client, real
journal, a fake kiosk clock; each sale is shown for about 12 s (3 polls that find nothing) and
then paid. The parent runs this under strace to count fsyncs, and measures the file.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from kiosk.domain import FINAL_PHASES, Order, Phase, SaleSettings
from kiosk.engine.clock import ClockGuard, FakeClock
from kiosk.engine.journal import Journal
from kiosk.engine.runner import Runner
from kiosk.hardware.vend import NoVendor
from kiosk.opa import Client, RetryPolicy
from kiosk.simulator import (
    DEMO_API_KEY,
    DEMO_API_SECRET,
    SimulatorConfig,
    SimulatorControl,
    start_simulator,
)


def _until(runner: Runner, clock: FakeClock, done: object, step_s: float = 0.5) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        runner.pump()
        if callable(done) and done():
            return
        clock.advance(step_s)
        time.sleep(0.001)
    raise RuntimeError("sale did not get there")


def _phase(runner: Runner) -> Phase | None:
    view = runner.current_sale()
    return view.phase if view else None


def main(count: int, workdir: Path) -> int:
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
    journal = Journal(workdir / "journal.sqlite3")
    runner = Runner(
        client=client,
        journal=journal,
        vendor=NoVendor(),
        settings=SaleSettings(terminal_id="BENCH"),
        clock=clock,
        clock_guard=guard,
        tick_s=0.001,
    )
    runner.start()
    _until(runner, clock, lambda: runner.service_issue() is None)
    for _ in range(count):
        runner.begin_sale(Order.of_amount(300, "Coffee"))
        _until(runner, clock, lambda: _phase(runner) is Phase.AWAITING_PAYMENT)
        view = runner.current_sale()
        assert view is not None
        polled_until = clock.now() + 12  # about 3 polls that find nothing
        _until(runner, clock, lambda at=polled_until: clock.now() >= at)
        code = next(
            c for c in ctl.ledger()["codes"] if c["merchant_payment_id"] == view.merchant_payment_id
        )
        ctl.pay(code["code_id"])
        _until(runner, clock, lambda: _phase(runner) in FINAL_PHASES)
        if _phase(runner) is not Phase.SUCCEEDED:
            raise RuntimeError(f"sale ended {_phase(runner)}")
        runner.acknowledge()
    runner.stop(5)
    journal.close()
    ctl.close()
    sim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(int(sys.argv[1]), Path(sys.argv[2])))
