"""A code PayPay will not withdraw, against the real simulator (issue 11, open points C, D).

The simulator refuses the delete (or the cancel) with PayPay's own envelope; the engine must
tell the customer at once, sell to the next customer while the code is watched in the
background, and give back (never vend) a payment made to the watched code.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.domain import Order, Phase, SaleSettings
from kiosk.engine.journal import Journal
from kiosk.sale.model import State
from kiosk.simulator import Simulator, SimulatorConfig, SimulatorControl, start_simulator
from tests.engine.harness import Kiosk, kiosk

REFUSED = {"status": 400, "code": "DYNAMIC_QR_BAD_REQUEST"}


@pytest.fixture(scope="module")
def shared() -> Iterator[Simulator]:
    simulator = start_simulator(SimulatorConfig(control=True, seed=13), port=0)
    yield simulator
    simulator.stop()


@pytest.fixture
def sim(shared: Simulator) -> Iterator[Simulator]:
    """One simulator for the module; each test starts without faults armed."""
    yield shared
    ctl = SimulatorControl(shared.base_url)
    ctl.clear_faults()
    ctl.close()


def state_of(journal: Journal, mpid: str) -> State:
    sale = journal.load_sale(mpid)
    assert sale is not None
    return sale.state


def until_state(k: Kiosk, mpid: str, state: State, limit_s: int = 60) -> None:
    """Let kiosk time pass (a second at a time) until the journal has `mpid` in `state`."""
    for _ in range(limit_s):
        if state_of(k.journal, mpid) is state:
            return
        k.advance(1)
    raise AssertionError(f"{mpid} never {state}: {state_of(k.journal, mpid)}")


def released(k: Kiosk, mpid: str) -> bool:
    sale = k.journal.load_sale(mpid)
    return sale is not None and sale.customer_released and sale.state is State.WATCHING


def test_a_refused_delete_releases_the_customer_and_the_next_one_buys(
    tmp_path: Path, sim: Simulator
) -> None:
    with kiosk(tmp_path, settings=SaleSettings(terminal_id="W1", grace_s=4), sim=sim) as k:
        first = k.sell(300)
        assert first.phase is Phase.AWAITING_PAYMENT
        first_code = k.code_of(first.merchant_payment_id)["code_id"]
        k.ctl.add_fault("delete_code", times=None, **REFUSED)  # every delete refused
        k.runner.cancel_sale()
        told = k.wait_phase(Phase.CANCELLED)  # one poll after the refusal, not minutes
        assert told.reason == "watched" and told.qr_url is None
        assert released(k, first.merchant_payment_id)
        assert k.code_of(first.merchant_payment_id)["payable"]  # PayPay would not withdraw it
        k.runner.acknowledge()
        assert k.runner.current_sale() is None

        second = k.sell(500)  # the next customer's QR while the first code is watched
        assert second.phase is Phase.AWAITING_PAYMENT and second.qr_url
        assert state_of(k.journal, first.merchant_payment_id) is State.WATCHING

        k.ctl.pay(first_code)  # someone pays the watched code: not the customer at the kiosk
        until_state(k, first.merchant_payment_id, State.REFUNDED)  # given back
        view = k.runner.current_sale()  # the screen still shows the second customer's QR
        assert view is not None and view.merchant_payment_id == second.merchant_payment_id
        assert view.phase is Phase.AWAITING_PAYMENT
        k.ctl.clear_faults()
        assert k.drive(pay=True).phase is Phase.SUCCEEDED
        vended = [r.merchant_payment_id for r in k.vendor.requests]
        assert vended == [second.merchant_payment_id]  # the watched code's payment: no goods
        payment = next(
            p
            for p in k.ctl.ledger()["payments"]
            if p["merchant_payment_id"] == first.merchant_payment_id
        )
        assert payment["status"] == "CANCELED"  # given back (cancelled before the cut-off)
        sale = k.journal.load_sale(first.merchant_payment_id)
        assert sale is not None and sale.end_reason == "paid_after_release"
        report = k.audit()
        assert report.clean, report.problems


def test_the_watched_code_ends_once_it_has_surely_expired(tmp_path: Path, sim: Simulator) -> None:
    with kiosk(tmp_path, settings=SaleSettings(terminal_id="W2", grace_s=4), sim=sim) as k:
        first = k.sell(300)
        k.ctl.add_fault("delete_code", times=None, **REFUSED)
        k.advance(120, step_s=4)  # the kiosk's QR timeout
        told = k.wait_phase(Phase.EXPIRED)
        assert told.reason == "watched"
        k.runner.acknowledge()
        k.ctl.advance_clock(300)  # PayPay's clock: the code expires
        k.advance(300, step_s=4)  # ours: expiryDate + the clock guard's margin + a poll
        until_state(k, first.merchant_payment_id, State.EXPIRED)
        assert not k.code_of(first.merchant_payment_id)["payable"]
        assert k.vendor.requests == []
        report = k.audit()
        assert report.clean, report.problems


def test_a_refused_cancel_after_a_lost_create_watches_the_order_it_may_have_made(
    tmp_path: Path, sim: Simulator
) -> None:
    """C: the create applied but its answer was lost, so the code was never shown; PayPay
    refused the cancel. Before: one poll ended the sale FAILED and the code stayed payable."""
    with kiosk(tmp_path, settings=SaleSettings(terminal_id="W3", grace_s=4), sim=sim) as k:
        k.ctl.add_fault("create_code", status=500, applied=True, times=1)
        k.ctl.add_fault("cancel_payment", status=400, code="INVALID_PARAMS", times=1)
        k.ready()
        k.runner.begin_sale(Order.of_amount(400, "Tea"))
        told = k.wait_phase(Phase.FAILED)
        assert told.reason == "create_unknown"  # nobody saw a code: "please try again"
        mpid = told.merchant_payment_id
        assert released(k, mpid) and k.code_of(mpid)["payable"]
        k.runner.acknowledge()
        again = k.sell(400)  # the customer tries again at once
        assert again.phase is Phase.AWAITING_PAYMENT

        k.ctl.pay_by_merchant_payment_id(mpid)  # the code nobody saw is paid after all
        until_state(k, mpid, State.REFUNDED)
        k.runner.cancel_sale()
        k.drive(pay=False)
        assert k.vendor.requests == []
        report = k.audit()
        assert report.clean, report.problems


def test_a_lost_create_is_watched_until_its_code_expired(tmp_path: Path, sim: Simulator) -> None:
    with kiosk(tmp_path, settings=SaleSettings(terminal_id="W4", grace_s=4), sim=sim) as k:
        k.ctl.add_fault("create_code", status=500, applied=True, times=1)
        k.ctl.add_fault("cancel_payment", status=400, code="INVALID_PARAMS", times=1)
        k.ready()
        k.runner.begin_sale(Order.of_amount(400, "Tea"))
        mpid = k.wait_phase(Phase.FAILED).merchant_payment_id
        k.runner.acknowledge()
        assert k.code_of(mpid)["payable"]
        k.advance(200, step_s=4)
        assert state_of(k.journal, mpid) is State.WATCHING  # still payable: still watched
        k.ctl.advance_clock(300)
        k.advance(200, step_s=4)  # created_at + 300 s + the clock guard's margin + a poll
        until_state(k, mpid, State.FAILED)
        assert not k.code_of(mpid)["payable"]  # no code never shown is left payable
        report = k.audit()
        assert report.clean, report.problems
