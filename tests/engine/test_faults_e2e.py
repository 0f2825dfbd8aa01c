"""Every fault the simulator can inject, at every PayPay call the engine makes: whatever
happens, once the network behaves the journal agrees with PayPay's ledger."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.domain import Phase, SaleSettings
from kiosk.simulator import Simulator, SimulatorConfig, start_simulator
from tests.engine.harness import Kiosk, RecordingVendor, kiosk

FAULTS: dict[str, dict[str, Any]] = {
    "500": {"status": 500},
    "500-applied": {"status": 500, "applied": True},
    "502": {"status": 502},
    "503-maintenance": {"status": 503, "code": "MAINTENANCE_MODE"},
    "504": {"status": 504},
    "429": {"status": 429},
    "dropped": {"drop_response": True},
    "slow": {"latency_s": 1.3},  # beyond the client's 1 s timeout
}


def paid_sale(k: Kiosk) -> None:
    k.sell(500)
    k.drive(pay=True)


def cancelled_sale(k: Kiosk) -> None:
    k.sell(300)
    k.runner.cancel_sale()
    k.drive(pay=False)


def refunded_sale(k: Kiosk) -> None:
    k.ctl.clear_faults()  # the sale itself goes through; the refund meets the fault
    view = k.sell(800)
    k.drive(pay=True)
    return_fault(k)
    k.runner.refund(view.merchant_payment_id, 300)


_ARMED: dict[str, Any] = {}


def return_fault(k: Kiosk) -> None:
    k.ctl.add_fault(_ARMED["endpoint"], times=1, **_ARMED["fault"])


SCENARIOS: dict[str, tuple[Callable[[Kiosk], None], bool, bool]] = {
    # endpoint: (scenario, preauth, vend ok)
    "create_code": (paid_sale, False, True),
    "get_code_payment": (paid_sale, False, True),
    "delete_code": (cancelled_sale, False, True),
    "cancel_payment": (paid_sale, False, False),
    "refund": (refunded_sale, False, True),
    "get_refund": (refunded_sale, False, True),
    "capture": (paid_sale, True, True),
    "revert": (paid_sale, True, False),
}


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    simulator = start_simulator(SimulatorConfig(control=True, seed=11), port=0)
    yield simulator
    simulator.stop()


_terminal = itertools.count(1)


@pytest.mark.parametrize("fault_name", list(FAULTS))
@pytest.mark.parametrize("endpoint", list(SCENARIOS))
def test_fault_at_call_keeps_journal_and_ledger_in_agreement(
    tmp_path: Path, sim: Simulator, endpoint: str, fault_name: str
) -> None:
    scenario, preauth, vend_ok = SCENARIOS[endpoint]
    settings = SaleSettings(terminal_id=f"F{next(_terminal)}", preauth=preauth, grace_s=4)
    with kiosk(tmp_path, settings=settings, vendor=RecordingVendor(vend_ok), sim=sim) as k:
        _ARMED.update(endpoint=endpoint, fault=FAULTS[fault_name])
        k.ctl.clear_faults()
        return_fault(k)
        scenario(k)
        k.idle()
        assert k.ctl.faults() == [], "the armed fault never fired"
        report = k.audit()
        assert report.clean, report.problems
        assert report.problems == []
        assert k.runner.current_sale() is None
        assert all(s.finished for s in k.journal.all_sales())


def test_an_unknown_create_is_cancelled_so_a_late_payment_cannot_succeed(
    tmp_path: Path, sim: Simulator
) -> None:
    with kiosk(tmp_path, settings=SaleSettings(terminal_id="U1", grace_s=4), sim=sim) as k:
        k.ctl.add_fault("create_code", status=500, applied=True, times=1)
        k.sell(500)
        view = k.drive(pay=False)
        assert view.phase is Phase.FAILED and view.reason == "create_unknown"
        code = k.code_of(view.merchant_payment_id)
        assert not code["payable"] and code["cancel_requested_at"] is not None
        assert k.ctl.ledger()["creates_applied"][view.merchant_payment_id] == 1


def test_faults_at_any_call_over_many_sales(tmp_path: Path, sim: Simulator) -> None:
    """Faults fire at random calls (the 2nd poll, a retried delete, ...), not only the first."""
    settings = SaleSettings(terminal_id="SOAK", grace_s=3)
    with kiosk(tmp_path, settings=settings, sim=sim) as k:
        k.ctl.clear_faults()
        for fault in FAULTS.values():
            if "latency_s" not in fault:
                k.ctl.add_fault("*", times=None, probability=0.05, **fault)
        for n in range(12):
            k.sell(100 + n)
            if n % 3 == 2:
                k.runner.cancel_sale()
            k.drive(pay=n % 3 != 2)
        k.ctl.clear_faults()
        k.idle()
        report = k.audit()
        assert report.clean and report.problems == [], report.problems
        phases = {r.status for r in k.journal.recent_sales(50)}
        assert "SUCCEEDED" in phases
