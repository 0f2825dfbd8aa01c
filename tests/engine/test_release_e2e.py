"""The attendant gives held sales back (`Runner.give_back_held`) against the real simulator:
an authorisation whose revert was refused is released (reverted at PayPay), an unpaid held
sale is checked again, a paid one is refunded; selling resumes. Real client, real journal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kiosk.domain import Phase, SaleSettings, ServiceIssue
from kiosk.engine.refunds import RefundRefused
from kiosk.sale.model import GiveBack, State
from kiosk.simulator import SimulatorConfig, start_simulator
from tests.engine.harness import Kiosk, RecordingVendor, crashed_sale, kiosk

PREAUTH = SaleSettings(terminal_id="K1", preauth=True, grace_s=4)


def payment(k: Kiosk, mpid: str) -> dict[str, Any]:
    return next(p for p in k.ctl.ledger()["payments"] if p["merchant_payment_id"] == mpid)


def held_after_a_refused_revert(k: Kiosk) -> str:
    k.ctl.add_fault("revert", status=400, code="ORDER_NOT_REVERSIBLE", times=1)
    view = k.sell(900)
    mpid = view.merchant_payment_id
    k.ctl.pay(k.code_of(mpid)["code_id"])
    k.advance(4)
    k.wait_phase(Phase.CONFIRMING)  # the revert was refused: it asks PayPay's status next
    k.advance(8)
    assert k.finish().phase is Phase.HELD
    k.wait(lambda: k.runner.service_issue() is ServiceIssue.HELD_SALE, "held sale blocks selling")
    held = k.journal.load_sale(mpid)
    assert held is not None and (held.state, held.end_reason) == (State.HELD, "revert_refused")
    assert held.give_back is GiveBack.RELEASE
    assert payment(k, mpid)["status"] == "AUTHORIZED"
    return mpid


def test_a_refused_revert_is_released_by_the_attendant_and_selling_resumes(
    tmp_path: Path,
) -> None:
    with kiosk(tmp_path, settings=PREAUTH, vendor=RecordingVendor(ok=False)) as k:
        mpid = held_after_a_refused_revert(k)
        with pytest.raises(RefundRefused, match="only authorised") as refused:
            k.runner.refund(mpid)  # the old way: PayPay would refuse it; said clearly now
        assert refused.value.reason == "authorised"
        assert k.journal.refunds_for(mpid) == []
        k.runner.give_back_held(mpid)
        k.wait(lambda: k.runner.service_issue() is None, "selling resumes")
        k.idle()
        sale = k.journal.load_sale(mpid)
        assert sale is not None and (sale.state, sale.end_reason) == (
            State.REFUNDED,
            "released_by_attendant",
        )
        settled = payment(k, mpid)
        assert settled["status"] == "CANCELED" and settled["revert"] is not None
        assert k.runner.held_sales() == []
        steps = [detail for _, _, _, detail in k.journal.steps(mpid)]
        assert any("released by the attendant (held: revert_refused)" in s for s in steps)
        k.vendor.ok = True
        view = k.sell(300)  # the next customer buys
        k.ctl.pay(k.code_of(view.merchant_payment_id)["code_id"])
        k.advance(4)
        assert k.finish().phase is Phase.SUCCEEDED
        assert k.audit().clean


def test_give_back_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    with kiosk(tmp_path) as k:
        with pytest.raises(RefundRefused, match="no sale") as unknown:
            k.runner.give_back_held("K1-nope")
        assert unknown.value.reason == "unknown"
        view = k.sell(300)
        k.ctl.pay(k.code_of(view.merchant_payment_id)["code_id"])
        k.advance(4)
        k.finish()
        with pytest.raises(RefundRefused, match="is not held") as succeeded:
            k.runner.give_back_held(view.merchant_payment_id)
        assert succeeded.value.reason == "not_held"


def test_a_paid_held_sale_is_refunded_and_an_unpaid_one_checked_again(tmp_path: Path) -> None:
    sim = start_simulator(SimulatorConfig(control=True, seed=11), port=0)
    try:
        path = tmp_path / "journal.sqlite3"
        settings = SaleSettings(terminal_id="K1", grace_s=4, on_paid_not_vended="hold")
        with kiosk(tmp_path, settings=settings, sim=sim, journal_path=path) as k:
            view = k.sell(400)
            mpid = view.merchant_payment_id
            k.ctl.add_fault("get_code_payment", status=500, times=None)
            k.runner.cancel_sale()  # deleted; then no status answer ever: held unresolved
            for _ in range(40):
                if (s := k.journal.load_sale(mpid)) is not None and s.state is State.HELD:
                    break
                k.advance(30, step_s=4)
            k.runner.acknowledge()
            unpaid = k.journal.load_sale(mpid)
            assert unpaid is not None and unpaid.state is State.HELD and not unpaid.paid
            assert unpaid.give_back is GiveBack.CHECK
            k.ctl.clear_faults()
            # a paid sale the kiosk lost while vending, found by reconciliation: held
            crashed_sale(sim, path, "K1-paid", create=True, show=True, pay=True, vend=True)
            k.runner.reconcile_now()
            k.wait(lambda: len(k.runner.held_sales()) == 2, "held")
            paid = k.journal.load_sale("K1-paid")
            assert paid is not None and paid.state is State.HELD
            assert paid.give_back is GiveBack.REFUND
            k.runner.give_back_held("K1-paid")
            k.runner.give_back_held(mpid)
            k.idle()
            refunded = k.journal.refunds_for("K1-paid")
            assert [r.status for r in refunded] == ["REFUNDED"]  # the attendant's refund row
            checked = k.journal.load_sale(mpid)
            assert checked is not None
            assert (checked.state, checked.end_reason) == (
                State.CANCELLED,
                "released_by_attendant",
            )
            assert not k.code_of(mpid)["payable"]
            k.wait(lambda: k.runner.held_sales() == [], "both settled")
            k.ready()  # selling resumes
    finally:
        sim.stop()


def test_a_held_authorisation_handed_out_by_the_attendant_is_captured(tmp_path: Path) -> None:
    with kiosk(tmp_path, settings=PREAUTH, vendor=RecordingVendor(ok=False)) as k:
        mpid = held_after_a_refused_revert(k)
        k.runner.hand_out_held(mpid)
        k.wait(lambda: k.runner.service_issue() is None, "selling resumes")
        k.idle()
        sale = k.journal.load_sale(mpid)
        assert sale is not None and sale.state is State.SUCCEEDED
        assert sale.vended and sale.captured
        assert payment(k, mpid)["status"] == "COMPLETED"  # the merchant is paid for the goods
        steps = [detail for _, _, _, detail in k.journal.steps(mpid)]
        assert any("capturing the authorisation" in s for s in steps)
