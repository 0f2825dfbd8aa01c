"""End to end, no mocks of our own code: the real runner and journal, the PayPay simulator over
HTTP, the MDB driver over a pseudo-terminal to the scripted vending machine (the HAT is the
only missing part), with the selection feeder as `kiosk run` wires it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kiosk.commands.mdb import MdbRunner
from kiosk.domain import FINAL_PHASES, Order, Phase, SaleSettings, SaleView
from kiosk.engine.clock import SystemClock
from kiosk.engine.journal import Journal
from kiosk.engine.runner import Runner
from kiosk.hardware.mdb.driver import MdbDriver, SerialLines
from kiosk.hardware.mdb.feeder import Feeder
from kiosk.hardware.mdb.model import Rules, Timing
from kiosk.simulator import SimulatorConfig, SimulatorControl, start_simulator
from kiosk.simulator.vmc import SCRIPTS, Script, Vmc
from kiosk.simulator.vmc.serial_pair import VmcOnPty
from tests.engine.harness import make_client
from tools.audit import audit

WAIT_S = 30.0  # a bound for "eventually", not a timing assertion
TIMING = Timing(selection_s=8.0, session_s=5.0, vend_s=4.0, end_s=1.0)


@dataclass
class Rig:
    runner: Runner
    ctl: SimulatorControl
    machine: VmcOnPty
    journal: Journal

    def until(self, predicate: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            self.runner.pump()
            if predicate():
                return
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}: {self.runner.current_sale()}")

    def phase(self, *phases: Phase) -> SaleView:
        self.until(
            lambda: (v := self.runner.current_sale()) is not None and v.phase in phases, str(phases)
        )
        view = self.runner.current_sale()
        assert view is not None
        return view

    def pay(self, view: SaleView) -> None:
        codes = self.ctl.ledger()["codes"]
        code = next(c for c in codes if c["merchant_payment_id"] == view.merchant_payment_id)
        self.ctl.pay(code["code_id"])

    def payment(self, mpid: str) -> dict[str, Any]:
        return next(p for p in self.ctl.ledger()["payments"] if p["merchant_payment_id"] == mpid)


@contextmanager
def rig(
    tmp_path: Path, script: Script, *, preauth: bool = False, poll_s: float = 0.3
) -> Iterator[Rig]:
    sim = start_simulator(SimulatorConfig(control=True, seed=3), port=0)
    machine = VmcOnPty(Vmc(script)).start()
    driver = MdbDriver(
        lambda: SerialLines(machine.path), Rules(credit_first=script.credit, timing=TIMING)
    )
    driver.start()
    journal = Journal(tmp_path / "journal.sqlite3")
    client = make_client(sim.base_url)
    settings = SaleSettings(
        terminal_id="E2",
        qr_timeout_s=20,
        poll_interval_s=poll_s,
        grace_s=1,
        preauth=preauth,
        vend="mdb",
    )
    parts: dict[str, Any] = {"client": client, "journal": journal, "vendor": driver}
    parts |= {"settings": settings, "clock": SystemClock(), "tick_s": 0.02}
    runner = Runner(**parts) if script.credit else MdbRunner(feeder=Feeder(driver), **parts)
    ctl = SimulatorControl(sim.base_url)
    runner.start()
    try:
        yield Rig(runner, ctl, machine, journal)
        report = audit(journal.all_sales(), ctl.ledger(), {})
        assert report.clean, report.problems
        assert machine.inspect(lambda v: v.violations) == []
    finally:
        driver.close()
        runner.stop(5.0)
        client.close()
        journal.close()
        ctl.close()
        machine.stop()
        sim.stop()


def test_selection_first_the_machines_price_is_paid_and_vended(tmp_path: Path) -> None:
    with rig(tmp_path, replace(SCRIPTS["selection"], select_after_s=0.5)) as r:
        view = r.phase(Phase.AWAITING_PAYMENT)
        assert (view.amount_yen, view.description) == (150, "Vending machine item 5")
        r.pay(view)
        assert r.phase(*FINAL_PHASES).phase is Phase.SUCCEEDED
        assert r.machine.inspect(lambda v: v.vends) == [(5, "150")]
        assert r.payment(view.merchant_payment_id)["status"] == "COMPLETED"


def test_a_payment_after_the_machine_gave_up_is_given_back(tmp_path: Path) -> None:
    # paid at once, but the kiosk learns it only at its next poll (3 s), after the machine gave
    # up (1 s): the engine withdraws the QR, finds it paid, asks to vend, the reader refuses
    script = replace(SCRIPTS["selection-timeout"], select_after_s=0.5, give_up_after_s=1.0)
    with rig(tmp_path, script, poll_s=3.0) as r:
        view = r.phase(Phase.AWAITING_PAYMENT)
        r.pay(view)
        final = r.phase(*FINAL_PHASES)
        assert final.phase is Phase.REFUNDED, final  # never "succeeded", never kept
        assert r.payment(view.merchant_payment_id)["status"] in ("CANCELED", "REFUNDED")
        assert r.machine.inspect(lambda v: v.vends) == []


def test_credit_first_captures_the_vended_price_and_releases_the_rest(tmp_path: Path) -> None:
    with rig(tmp_path, replace(SCRIPTS["credit"], select_after_s=0.3), preauth=True) as r:
        r.until(lambda: r.runner.service_issue() is None, "the kiosk to be ready")
        r.runner.begin_sale(Order.of_amount(500, "Vending credit"))
        view = r.phase(Phase.AWAITING_PAYMENT)
        r.pay(view)
        assert r.phase(*FINAL_PHASES).phase is Phase.SUCCEEDED
        payment = r.payment(view.merchant_payment_id)
        assert payment["status"] == "COMPLETED"
        assert [c["amount"] for c in payment["captures"]] in (
            [120],
            [{"amount": 120, "currency": "JPY"}],
        )
        record = r.journal.sale_record(view.merchant_payment_id)
        assert record is not None and record.amount_yen == 120
