"""A real simulator, a real OPA client, a real journal and a fake clock, wired like the kiosk."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.domain import FINAL_PHASES, Order, PaymentStatus, Phase, SaleSettings, SaleView
from kiosk.engine.clock import ClockGuard, FakeClock
from kiosk.engine.journal import FactSink, Journal
from kiosk.engine.retention import Retention, RetentionSettings
from kiosk.engine.runner import Runner
from kiosk.engine.worker import Boundary
from kiosk.hardware.vend import VendRequest, VendResult
from kiosk.opa import Client, RetryPolicy
from kiosk.sale.machine import new_sale, step
from kiosk.sale.model import QrCreated, Sale, StatusPolled, Ticked, Timing, Vend
from kiosk.simulator import (
    DEMO_API_KEY,
    DEMO_API_SECRET,
    Simulator,
    SimulatorConfig,
    SimulatorControl,
    start_simulator,
)
from tools.audit import AuditReport, audit

WAIT_S = 20.0  # a bound for "eventually", not a timing assertion


@dataclass
class RecordingVendor:
    """Stands in for the vending machine (hardware that cannot run here)."""

    ok: bool = True
    requests: list[VendRequest] = field(default_factory=list)
    vended_yen: int | None = None  # a machine that chose a cheaper item (MDB credit first)

    def vend(self, request: VendRequest) -> VendResult:
        self.requests.append(request)
        return VendResult(self.ok, "test vendor", self.vended_yen)


def make_client(base_url: str, guard: ClockGuard | None = None, timeout_s: float = 1.0) -> Client:
    return Client(
        auth=(DEMO_API_KEY, DEMO_API_SECRET),
        base_url=base_url,
        timeout=timeout_s,
        retry=RetryPolicy(max_attempts=1, max_total_s=timeout_s * 2),
        on_response=guard.observe if guard else None,
    )


@dataclass
class Kiosk:
    sim: Simulator
    ctl: SimulatorControl
    journal: Journal
    clock: FakeClock
    vendor: RecordingVendor
    runner: Runner
    guard: ClockGuard

    def wait(self, predicate: Callable[[], bool], what: str = "condition") -> None:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            self.runner.pump()
            if predicate():
                return
            time.sleep(0.005)
        raise AssertionError(f"timed out waiting for {what}; view={self.runner.current_sale()}")

    def wait_phase(self, *phases: Phase) -> SaleView:
        self.wait(
            lambda: (v := self.runner.current_sale()) is not None and v.phase in phases,
            f"phase in {phases}",
        )
        view = self.runner.current_sale()
        assert view is not None
        return view

    def ready(self) -> None:
        """Wait (moving kiosk time, so probes run) until the kiosk takes a sale."""
        for _ in range(200):
            if self.runner.service_issue() is None:
                return
            self.advance(1)
        raise AssertionError(f"never ready: {self.runner.service_issue()}")

    def drive(self, *, pay: bool, limit_s: float = 400) -> SaleView:
        """Play the customer (pay when a QR shows) and let time pass until the sale ends."""
        paid = False
        for _ in range(int(limit_s)):
            self.runner.pump()
            view = self.runner.current_sale()
            assert view is not None
            if view.phase in FINAL_PHASES and self.runner._shown is not None:
                self.runner.acknowledge()
                return view
            if pay and not paid and view.phase is Phase.AWAITING_PAYMENT:
                self.ctl.pay(self.code_of(view.merchant_payment_id)["code_id"])
                paid = True
            self.advance(1)
        raise AssertionError(f"sale never ended: {self.runner.current_sale()}")

    def idle(self) -> None:
        """Wait until nothing is left to settle: no sale, no open refund, nothing unfinished."""
        for _ in range(400):
            self.runner.pump()
            done = (
                self.runner.current_sale() is None
                and not self.journal.open_refunds()
                and not self.journal.unfinished_sales()
            )
            if done:
                return
            self.advance(1)
        raise AssertionError("the kiosk never settled")

    def audit(self) -> AuditReport:
        prefix = self.runner.settings.terminal_id + "-"
        ledger = self.ctl.ledger()
        mine = {
            "codes": [c for c in ledger["codes"] if c["merchant_payment_id"].startswith(prefix)],
            "payments": [
                p for p in ledger["payments"] if p["merchant_payment_id"].startswith(prefix)
            ],
            "creates_applied": {
                m: n for m, n in ledger["creates_applied"].items() if m.startswith(prefix)
            },
        }
        vends: dict[str, int] = {}
        for request in self.vendor.requests:
            vends[request.merchant_payment_id] = vends.get(request.merchant_payment_id, 0) + 1
        return audit(self.journal.all_sales(), mine, vends)

    def advance(self, seconds: float, step_s: float = 1.0) -> None:
        """Move kiosk time forward, letting the worker see every step."""
        left = seconds
        while left > 0:
            self.clock.advance(min(step_s, left))
            left -= step_s
            self.settle()

    def settle(self) -> None:
        """Let the worker process a tick at the current fake time."""
        worker = self.runner.worker
        target = worker.loops + 2  # one whole pass that started after the clock moved
        self.wait(lambda: worker.loops >= target, "a worker pass")

    def sell(self, amount_yen: int = 500) -> SaleView:
        self.ready()
        self.runner.begin_sale(Order.of_amount(amount_yen, "Tea"))
        return self.wait_phase(Phase.AWAITING_PAYMENT, Phase.CONFIRMING, Phase.FAILED)

    def code_of(self, merchant_payment_id: str) -> dict[str, Any]:
        codes = [
            c for c in self.ctl.ledger()["codes"] if c["merchant_payment_id"] == merchant_payment_id
        ]
        assert len(codes) == 1, codes
        return codes[0]

    def finish(self) -> SaleView:
        view = self.wait_phase(*FINAL_PHASES)
        self.runner.acknowledge()
        return view


@contextmanager
def kiosk(
    tmp_path: Path,
    *,
    settings: SaleSettings | None = None,
    vendor: RecordingVendor | None = None,
    sim: Simulator | None = None,
    journal_path: Path | None = None,
    retention: RetentionSettings | None = None,
    boundary: Boundary | None = None,
    facts: FactSink | None = None,
) -> Iterator[Kiosk]:
    own_sim = sim is None
    sim = sim or start_simulator(SimulatorConfig(control=True, seed=7), port=0)
    guard = ClockGuard()
    journal = Journal(journal_path or tmp_path / "journal.sqlite3", facts=facts)
    clock = FakeClock(start=float(int(time.time())))
    vendor = vendor or RecordingVendor()
    client = make_client(sim.base_url, guard)
    runner = Runner(
        client=client,
        journal=journal,
        vendor=vendor,
        settings=settings or SaleSettings(terminal_id="K1", grace_s=4),
        clock=clock,
        clock_guard=guard,
        tick_s=0.02,
        retention=Retention(journal, tmp_path / "archive", retention) if retention else None,
        boundary=boundary,
    )
    ctl = SimulatorControl(sim.base_url)
    runner.start()
    try:
        yield Kiosk(sim, ctl, journal, clock, vendor, runner, guard)
    finally:
        runner.stop(5.0)
        client.close()  # its pooled sockets, now, not whenever a later GC finds them
        journal.close()
        ctl.close()
        if own_sim:
            sim.stop()


def crashed_sale(
    sim: Simulator, path: Path, mpid: str, *, create: bool, show: bool, pay: bool, vend: bool
) -> Sale:
    """Play a sale for real up to a point and leave its journal as a crash would."""
    now = float(int(time.time()))
    sale, _ = new_sale(mpid, 600, "Juice", preauth=False, now=now, timing=Timing(grace_s=2))
    client = make_client(sim.base_url)
    ctl = SimulatorControl(sim.base_url)
    if create:
        data = client.Code.create_qr_code(
            {
                "merchantPaymentId": mpid,
                "amount": {"amount": 600, "currency": "JPY"},
                "codeType": "ORDER_QR",
                "orderDescription": "Juice",
                "requestedAt": int(now),
            }
        )["data"]
        if show:
            event = QrCreated(data["codeId"], data["url"], float(data["expiryDate"]))
            sale, _ = step(sale, event, now)
        if pay:
            ctl.pay(data["codeId"])
        if vend:
            status = client.Code.get_payment_details(mpid)["data"]
            sale, _ = step(sale, Ticked(), now + 5)  # the poll that found it paid
            sale, commands = step(
                sale, StatusPolled(PaymentStatus.COMPLETED, status["paymentId"], now), now
            )
            assert any(isinstance(c, Vend) for c in commands)
    client.close()
    ctl.close()
    journal = Journal(path)
    journal.save_sale(sale, now)
    journal.close()
    return sale
