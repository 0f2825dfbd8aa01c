"""Service state against the real simulator: the clock guard, a dead journal, a graceful stop."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.domain import Order, Phase, ServiceIssue
from kiosk.engine.runner import timing_of
from kiosk.engine.worker import Begin
from kiosk.sale.machine import new_sale
from kiosk.simulator import Simulator, SimulatorConfig, start_simulator
from tests.engine.harness import kiosk


class Skew:
    """The simulator's wall clock, offset from ours by `seconds`."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self) -> float:
        return time.time() + self.seconds


@pytest.fixture
def skew() -> Skew:
    return Skew()


@pytest.fixture
def sim(skew: Skew) -> Iterator[Simulator]:
    simulator = start_simulator(SimulatorConfig(control=True, wall=skew), port=0)
    yield simulator
    simulator.stop()


def test_a_wrong_clock_stops_sales_with_a_clock_reason_then_resumes(
    tmp_path: Path, sim: Simulator, skew: Skew
) -> None:
    with kiosk(tmp_path, sim=sim) as k:
        k.ready()
        skew.seconds = 600.0  # our clock is now 10 minutes behind PayPay's
        k.runner.begin_sale(Order.of_amount(200))
        view = k.wait_phase(Phase.FAILED)
        assert view.reason == "create_auth"  # PayPay refused the signature: nothing created
        k.runner.acknowledge()
        k.wait(lambda: k.runner.service_issue() is ServiceIssue.CLOCK, "clock issue")
        with pytest.raises(ValueError, match="clock"):
            k.runner.begin_sale(Order.of_amount(200))
        assert k.guard.skew_s is not None and k.guard.skew_s < -500
        skew.seconds = 0.0  # the clock is set right (NTP caught up)
        k.ready()
        k.sell(200)


def test_a_journal_that_fails_stops_selling_before_any_call(tmp_path: Path, sim: Simulator) -> None:
    with kiosk(tmp_path, sim=sim) as k:
        k.ready()
        k.journal.close()  # the journal became unusable under the running kiosk
        k.runner.begin_sale(Order.of_amount(200))
        view = k.wait_phase(Phase.FAILED)
        assert view.reason == "journal"  # the intent could not be recorded: nothing was sent
        assert k.runner.service_issue() is ServiceIssue.JOURNAL
        assert k.ctl.ledger()["codes"] == []
        k.runner.acknowledge()
        with pytest.raises(ValueError, match="journal"):
            k.runner.begin_sale(Order.of_amount(200))


def test_stop_withdraws_a_live_qr_and_records_it(tmp_path: Path, sim: Simulator) -> None:
    path = tmp_path / "j.sqlite3"
    with kiosk(tmp_path, sim=sim, journal_path=path) as k:
        view = k.sell(400)
        assert k.code_of(view.merchant_payment_id)["payable"]
        k.runner.stop(5.0)
        assert not k.code_of(view.merchant_payment_id)["payable"]
        sale = k.journal.load_sale(view.merchant_payment_id)
        assert sale is not None and sale.qr_dead


def test_no_network_says_network_then_recovers(tmp_path: Path) -> None:
    first = start_simulator(SimulatorConfig(control=True), port=0)
    port = int(first.base_url.rsplit(":", 1)[1])
    with kiosk(tmp_path, sim=first) as k:
        k.ready()
        first.stop()  # PayPay unreachable: connections refused
        k.runner.begin_sale(Order.of_amount(200))
        view = k.wait_phase(Phase.FAILED)
        assert view.reason == "create_try_later"  # nothing left the kiosk: a plain failure
        k.runner.acknowledge()
        k.wait(lambda: k.runner.service_issue() is ServiceIssue.NETWORK, "network issue")
        second = start_simulator(SimulatorConfig(control=True), port=port)
        try:
            k.ready()  # the idle probe finds PayPay again
            k.sell(200)
        finally:
            k.runner.stop(5.0)
            second.stop()


def test_a_journal_lost_mid_sale_withdraws_the_qr_and_never_shows_failure(
    tmp_path: Path, sim: Simulator
) -> None:
    with kiosk(tmp_path, sim=sim) as k:
        view = k.sell(400)
        k.journal.close()
        k.clock.advance(5)  # the next poll's outcome cannot be recorded
        k.wait(lambda: k.runner.service_issue() is ServiceIssue.JOURNAL, "journal issue")
        shown = k.wait_phase(Phase.CONFIRMING)
        assert shown.qr_url is None
        assert not k.code_of(view.merchant_payment_id)["payable"]


def test_a_sale_begun_as_the_journal_fails_is_answered_not_left_waiting(
    tmp_path: Path, sim: Simulator
) -> None:
    """The journal fails on an idle read (the refund scan) while the screen's Begin is already
    queued: the worker is gone, but the screen is told "journal", not left on CREATING."""
    with kiosk(tmp_path, sim=sim) as k:
        k.ready()
        k.journal.close()
        k.clock.advance(2)  # the next refund scan reads the journal and fails
        k.wait(lambda: k.runner.worker.journal_failed, "the worker to stop selling")
        timing = timing_of(k.runner.settings)
        mpid = "K1-raced-0001"
        k.runner._shown = new_sale(mpid, 200, "Tea", preauth=False, now=k.clock.now())[0]
        k.runner.worker.inbox.put(Begin(mpid, Order.of_amount(200), timing))  # as begin_sale
        view = k.wait_phase(Phase.FAILED)
        assert (view.merchant_payment_id, view.reason) == (mpid, "journal")
        assert k.ctl.ledger()["codes"] == []
