"""Reconciliation at start: journals left by a crash at each kind of moment, settled against
the real simulator before the first customer, with a summary for the attendant."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.domain import SaleSettings, ServiceIssue
from kiosk.engine.journal import Journal
from kiosk.sale.model import State
from kiosk.simulator import Simulator, SimulatorConfig, start_simulator
from tests.engine.harness import Kiosk, crashed_sale, kiosk, make_client


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = start_simulator(SimulatorConfig(control=True, seed=3), port=0)
    yield simulator
    simulator.stop()


def settled(k: Kiosk) -> None:
    for _ in range(100):
        if k.runner.last_reconcile_summary() is not None:
            return
        k.advance(1)
    raise AssertionError("reconciliation never finished")


def test_a_shown_qr_is_withdrawn_before_the_first_customer(tmp_path: Path, sim: Simulator) -> None:
    path = tmp_path / "j.sqlite3"
    crashed_sale(sim, path, "R1-show", create=True, show=True, pay=False, vend=False)
    with kiosk(tmp_path, sim=sim, journal_path=path, settings=SaleSettings(terminal_id="R1")) as k:
        assert k.runner.service_issue() in (ServiceIssue.MAINTENANCE, None)
        settled(k)
        assert not k.code_of("R1-show")["payable"]
        sale = k.journal.load_sale("R1-show")
        assert sale is not None and sale.state is State.CANCELLED
        summary = k.runner.last_reconcile_summary()
        assert summary is not None and summary.settled == 1
        assert summary.lines == ("R1-show: 600 yen, was showing -> QR withdrawn, not paid",)
        k.ready()


def test_paid_while_the_kiosk_was_down_is_given_back(tmp_path: Path, sim: Simulator) -> None:
    path = tmp_path / "j.sqlite3"
    crashed_sale(sim, path, "R2-paid", create=True, show=True, pay=True, vend=False)
    with kiosk(tmp_path, sim=sim, journal_path=path, settings=SaleSettings(terminal_id="R2")) as k:
        settled(k)
        sale = k.journal.load_sale("R2-paid")
        assert sale is not None and sale.state is State.REFUNDED
        assert k.vendor.requests == []  # never vend after a restart: the customer has gone
        assert k.audit().clean
        summary = k.runner.last_reconcile_summary()
        assert summary is not None and "money returned" in summary.lines[0]


def test_paid_not_vended_is_held_for_the_attendant_when_configured(
    tmp_path: Path, sim: Simulator
) -> None:
    path = tmp_path / "j.sqlite3"
    crashed_sale(sim, path, "R3-vend", create=True, show=True, pay=True, vend=True)
    settings = SaleSettings(terminal_id="R3", on_paid_not_vended="hold")
    with kiosk(tmp_path, sim=sim, journal_path=path, settings=settings) as k:
        settled(k)
        assert k.runner.service_issue() is ServiceIssue.HELD_SALE
        summary = k.runner.last_reconcile_summary()
        assert (
            summary is not None and summary.held == 1 and "HELD FOR YOU" in summary.lines[0].upper()
        )
        k.runner.refund("R3-vend")
        k.advance(6)
        k.ready()
        sale = k.journal.load_sale("R3-vend")
        assert sale is not None and sale.state is State.REFUNDED
        assert k.audit().clean


def test_an_unanswered_create_is_voided(tmp_path: Path, sim: Simulator) -> None:
    path = tmp_path / "j.sqlite3"
    crashed_sale(sim, path, "R4-made", create=True, show=False, pay=False, vend=False)
    crashed_sale(sim, path, "R4-never", create=False, show=False, pay=False, vend=False)
    with kiosk(tmp_path, sim=sim, journal_path=path, settings=SaleSettings(terminal_id="R4")) as k:
        settled(k)
        assert not k.code_of("R4-made")["payable"]
        states = {s.merchant_payment_id: s.state for s in k.journal.all_sales()}
        assert states == {"R4-made": State.FAILED, "R4-never": State.FAILED}
        assert k.ctl.ledger()["creates_applied"].get("R4-never", 0) == 0
        assert k.audit().clean


def test_nothing_to_settle_says_so(tmp_path: Path, sim: Simulator) -> None:
    with kiosk(tmp_path, sim=sim) as k:
        settled(k)
        summary = k.runner.last_reconcile_summary()
        assert summary is not None and summary.lines == (
            "Nothing to settle: the last run ended cleanly.",
        )


def test_a_held_sale_handed_out_by_hand_resumes_selling(tmp_path: Path, sim: Simulator) -> None:
    path = tmp_path / "j.sqlite3"
    crashed_sale(sim, path, "R5-vend", create=True, show=True, pay=True, vend=True)
    settings = SaleSettings(terminal_id="R5", on_paid_not_vended="hold")
    with kiosk(tmp_path, sim=sim, journal_path=path, settings=settings) as k:
        settled(k)
        assert [s.merchant_payment_id for s in k.runner.held_sales()] == ["R5-vend"]
        k.runner.hand_out_held("R5-vend")
        k.ready()
        sale = k.journal.load_sale("R5-vend")
        assert sale is not None and sale.state is State.SUCCEEDED
        assert sale.end_reason == "handed_out_by_attendant"


def test_a_held_sale_refunded_while_the_kiosk_was_down_is_settled(
    tmp_path: Path, sim: Simulator
) -> None:
    from kiosk.engine.journal import RefundRow
    from kiosk.engine.refunds import RefundFollower

    path = tmp_path / "j.sqlite3"
    crashed_sale(sim, path, "R6-vend", create=True, show=True, pay=True, vend=True)
    settings = SaleSettings(terminal_id="R6", on_paid_not_vended="hold")
    with kiosk(tmp_path, sim=sim, journal_path=path, settings=settings) as k:
        settled(k)
        assert k.runner.service_issue() is ServiceIssue.HELD_SALE
    journal = Journal(path)  # the operator runs `kiosk refund` with the kiosk stopped
    sale = journal.load_sale("R6-vend")
    assert sale is not None and sale.payment_id is not None
    journal.add_refund(RefundRow("R6-vend-R1", "R6-vend", sale.payment_id, 600, "PENDING", 0.0))
    with make_client(sim.base_url) as client:
        follower = RefundFollower(journal, client, lambda error: None)
        follower.follow(time.time())
        follower.follow(time.time() + 10)
    assert journal.open_refunds() == []
    journal.close()
    with kiosk(tmp_path, sim=sim, journal_path=path, settings=settings) as k:
        k.ready()
        sale = k.journal.load_sale("R6-vend")
        assert sale is not None and sale.state is State.REFUNDED
