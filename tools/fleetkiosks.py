"""Kiosks for the fleet soak and demo, run in child processes: `python -m tools.fleetkiosks`.

Two kinds, both on the real journal, outbox and publisher:
- `gen`: a sale generator stands in for the engine: each sale is written through the journal
  as the engine would (CREATING, SHOWING, then SUCCEEDED, EXPIRED or HELD), one every
  `--every-s` seconds per kiosk on average (seeded jitter);
- `full`: the real engine (Runner, worker, journal) against the PayPay simulator, with a
  customer thread per kiosk that starts a sale, pays it through the simulator's control API
  and waits for the end, and the real FleetLink (commands included).
Selling stops when the file `--stop-file` exists; SIGTERM stops the publishers cleanly (a
SIGKILL is what the soak uses to kill kiosks). Not product code.
"""

from __future__ import annotations

import argparse
import logging
import random
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any

from kiosk.domain import FINAL_PHASES, Order, PaymentStatus, Phase, SaleSettings
from kiosk.engine.clock import ClockGuard, SystemClock
from kiosk.engine.journal import Journal
from kiosk.engine.runner import Runner
from kiosk.fleet.link import FleetLink
from kiosk.fleet.outbox import OutboxReader, OutboxSink
from kiosk.fleet.publisher import BrokerSettings, Publisher
from kiosk.hardware.vend import NoVendor
from kiosk.opa import Client, RetryPolicy
from kiosk.sale.machine import new_sale
from kiosk.sale.model import State
from kiosk.simulator import DEMO_API_KEY, DEMO_API_SECRET, DEMO_MERCHANT_ID, SimulatorControl

log = logging.getLogger("fleetkiosks")
OUTCOMES = ((State.SUCCEEDED, 0.90), (State.EXPIRED, 0.08), (State.HELD, 0.02))


def settings_for(args: argparse.Namespace, kiosk: str) -> BrokerSettings:
    return BrokerSettings(
        url=args.broker,
        kiosk=kiosk,
        prefix=args.prefix,
        max_rate_per_s=args.rate,
        health_s=args.health_s,
    )


def gen_kiosk(args: argparse.Namespace, kiosk: str, stop: threading.Event) -> None:
    journal = Journal(Path(args.dir) / f"{kiosk}.sqlite3", facts=OutboxSink())
    publisher = Publisher(
        settings_for(args, kiosk),
        OutboxReader(journal.path),
        record=journal.record_fact,
        health=lambda: {"screen": "idle", "held": 0},
        tick_s=args.tick_s,
    )
    publisher.start()
    rng = random.Random(f"{args.seed}-{kiosk}")
    stop_file = Path(args.stop_file)
    count = 0
    while not stop.wait(rng.uniform(0.5, 1.5) * args.every_s):
        if stop_file.exists():
            continue
        count += 1
        now = time.time()
        sale, _ = new_sale(
            f"{kiosk}-{count}", rng.randrange(100, 1000, 10), "Soak", preauth=False, now=now
        )
        journal.save_sale(sale, now)
        journal.save_sale(replace(sale, state=State.SHOWING), now + 0.1)
        final = rng.choices([s for s, _ in OUTCOMES], [w for _, w in OUTCOMES])[0]
        paid = final is not State.EXPIRED
        end = replace(
            sale,
            state=final,
            payment_id=f"P-{kiosk}-{count}" if paid else None,
            paid_status=PaymentStatus.COMPLETED if paid else None,
            paid_at=now + 1 if paid else None,
        )
        journal.save_sale(end, now + 1)
    publisher.stop(drain_s=60)
    journal.close()


def full_kiosk(args: argparse.Namespace, kiosk: str, stop: threading.Event) -> None:
    journal = Journal(Path(args.dir) / f"{kiosk}.sqlite3", facts=OutboxSink())
    client = Client(
        (DEMO_API_KEY, DEMO_API_SECRET),
        base_url=args.sim,
        timeout=5.0,
        retry=RetryPolicy(max_attempts=2, max_total_s=10.0),
    )
    client.set_assume_merchant(DEMO_MERCHANT_ID)
    settings = SaleSettings(terminal_id=kiosk, poll_interval_s=2.0, grace_s=2.0, qr_timeout_s=60)
    runner = Runner(
        client=client,
        journal=journal,
        vendor=NoVendor(),
        settings=settings,
        clock=SystemClock(),
        clock_guard=ClockGuard(settings.clock_skew_limit_s),
    )
    runner.start()
    link = FleetLink(settings_for(args, kiosk), journal, runner)
    link.start()
    ctl = SimulatorControl(args.sim)
    rng = random.Random(f"{args.seed}-{kiosk}")
    stop_file = Path(args.stop_file)
    try:
        while not stop.wait(rng.uniform(0.5, 1.5) * args.every_s):
            if not stop_file.exists():
                _one_sale(runner, ctl, rng, stop)
    finally:
        runner.stop(10.0)
        link.stop(drain_s=60)
        client.close()
        ctl.close()
        journal.close()


def _one_sale(
    runner: Runner, ctl: SimulatorControl, rng: random.Random, stop: threading.Event
) -> None:
    try:
        runner.pump()
        runner.begin_sale(Order.of_amount(rng.randrange(100, 1000, 10), "Soak"))
    except ValueError:  # not ready (reconciling, out of service): try later
        return
    pay = rng.random() < 0.9
    paid = False
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not stop.is_set():
        runner.pump()
        view = runner.current_sale()
        if view is None:
            return
        if view.phase in FINAL_PHASES:
            runner.acknowledge()
            return
        if pay and not paid and view.phase is Phase.AWAITING_PAYMENT:
            ctl.pay_by_merchant_payment_id(view.merchant_payment_id)
            paid = True
        elif not pay and view.phase is Phase.AWAITING_PAYMENT:
            runner.cancel_sale()
        time.sleep(0.1)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.fleetkiosks")
    p.add_argument("mode", choices=("gen", "full"))
    p.add_argument("kiosks", nargs="+")
    p.add_argument("--dir", required=True)
    p.add_argument("--broker", required=True)
    p.add_argument("--prefix", default="soak")
    p.add_argument("--sim", default="")
    p.add_argument("--stop-file", required=True)
    p.add_argument("--every-s", type=float, default=20.0)
    p.add_argument("--rate", type=float, default=5.0)
    p.add_argument("--health-s", type=float, default=10.0)
    p.add_argument("--tick-s", type=float, default=0.5)
    p.add_argument("--seed", default="1")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()

    def on_term(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    run: Any = gen_kiosk if args.mode == "gen" else full_kiosk
    threads = [
        threading.Thread(target=run, args=(args, k, stop), name=k, daemon=True) for k in args.kiosks
    ]
    for t in threads:
        t.start()
        time.sleep(0.01)  # spread the connects
    while not stop.wait(0.5):
        pass
    for t in threads:
        t.join(30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
