"""The runner end to end: real simulator, real client, real journal, fake kiosk clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.domain import Order, Phase, SaleSettings
from tests.engine.harness import RecordingVendor, kiosk


def test_a_paid_sale_vends_once_and_is_journaled(tmp_path: Path) -> None:
    with kiosk(tmp_path) as k:
        view = k.sell(500)
        assert view.phase is Phase.AWAITING_PAYMENT and view.qr_url
        code = k.code_of(view.merchant_payment_id)
        assert code["payable"] and code["amount"] == 500
        k.ctl.pay(code["code_id"])
        k.advance(4)
        assert k.finish().phase is Phase.SUCCEEDED
        assert [r.merchant_payment_id for r in k.vendor.requests] == [view.merchant_payment_id]
        record = k.journal.sale_record(view.merchant_payment_id)
        assert record is not None and (record.status, record.refundable_yen) == ("SUCCEEDED", 500)
        assert k.runner.current_sale() is None


def test_the_create_intent_is_journaled_before_the_call_and_its_outcome(tmp_path: Path) -> None:
    with kiosk(tmp_path) as k:
        view = k.sell(500)
        lines = [(kind, call) for _, kind, call, _ in k.journal.steps(view.merchant_payment_id)]
        assert lines[:3] == [("state", None), ("intent", "create"), ("outcome", "create")]


def test_begin_sale_refuses_a_second_sale(tmp_path: Path) -> None:
    with kiosk(tmp_path) as k:
        k.sell(300)
        with pytest.raises(ValueError, match="in progress"):
            k.runner.begin_sale(Order.of_amount(100))


def test_customer_cancel_deletes_the_qr_then_cancelled(tmp_path: Path) -> None:
    with kiosk(tmp_path) as k:
        view = k.sell(300)
        k.runner.cancel_sale()
        assert k.wait_phase(Phase.CONFIRMING, Phase.CANCELLED).qr_url is None
        assert k.finish().phase is Phase.CANCELLED  # proven by PayPay: no grace window
        assert not k.code_of(view.merchant_payment_id)["payable"]
        assert k.vendor.requests == []


def test_timeout_expires_the_sale_and_withdraws_the_qr(tmp_path: Path) -> None:
    with kiosk(tmp_path) as k:
        view = k.sell(300)
        k.advance(121, step_s=4)
        k.advance(6)
        assert k.finish().phase is Phase.EXPIRED
        assert not k.code_of(view.merchant_payment_id)["payable"]


def test_paid_during_the_grace_window_succeeds(tmp_path: Path) -> None:
    with kiosk(tmp_path) as k:
        view = k.sell(300)
        code_id = k.code_of(view.merchant_payment_id)["code_id"]
        k.ctl.add_fault("delete_code", status=500, times=1)  # delete answer lost...
        k.ctl.pay(code_id)  # ...and the customer pays in the last second
        k.runner.cancel_sale()
        k.advance(6)
        assert k.finish().phase is Phase.SUCCEEDED
        assert len(k.vendor.requests) == 1


def test_vend_failure_cancels_the_payment(tmp_path: Path) -> None:
    with kiosk(tmp_path, vendor=RecordingVendor(ok=False)) as k:
        view = k.sell(700)
        k.ctl.pay(k.code_of(view.merchant_payment_id)["code_id"])
        k.advance(4)
        assert k.finish().phase is Phase.REFUNDED
        payments = [
            p
            for p in k.ctl.ledger()["payments"]
            if p["merchant_payment_id"] == view.merchant_payment_id
        ]
        assert [p["status"] for p in payments] in (["CANCELED"], ["REFUNDED"])


def test_preauth_captures_the_vended_amount(tmp_path: Path) -> None:
    settings = SaleSettings(terminal_id="K1", preauth=True, grace_s=4)
    with kiosk(tmp_path, settings=settings) as k:
        view = k.sell(900)
        k.ctl.pay(k.code_of(view.merchant_payment_id)["code_id"])
        k.advance(4)
        assert k.finish().phase is Phase.SUCCEEDED
        payment = next(
            p
            for p in k.ctl.ledger()["payments"]
            if p["merchant_payment_id"] == view.merchant_payment_id
        )
        assert payment["status"] == "COMPLETED"
        assert [c["amount"] for c in payment["captures"]] in (
            [900],
            [{"amount": 900, "currency": "JPY"}],
        )


def test_preauth_captures_only_what_the_machine_vended(tmp_path: Path) -> None:
    settings = SaleSettings(terminal_id="K1", preauth=True, grace_s=4)
    with kiosk(tmp_path, settings=settings, vendor=RecordingVendor(vended_yen=130)) as k:
        view = k.sell(500)
        k.ctl.pay(k.code_of(view.merchant_payment_id)["code_id"])
        k.advance(4)
        assert k.finish().phase is Phase.SUCCEEDED
        payment = next(
            p
            for p in k.ctl.ledger()["payments"]
            if p["merchant_payment_id"] == view.merchant_payment_id
        )
        assert payment["status"] == "COMPLETED"
        assert [c["amount"] for c in payment["captures"]] in (
            [130],
            [{"amount": 130, "currency": "JPY"}],
        )
        record = k.journal.sale_record(view.merchant_payment_id)
        assert record is not None and (record.amount_yen, record.refundable_yen) == (130, 130)


def test_preauth_vend_failure_reverts(tmp_path: Path) -> None:
    settings = SaleSettings(terminal_id="K1", preauth=True, grace_s=4)
    with kiosk(tmp_path, settings=settings, vendor=RecordingVendor(ok=False)) as k:
        view = k.sell(900)
        k.ctl.pay(k.code_of(view.merchant_payment_id)["code_id"])
        k.advance(4)
        assert k.finish().phase is Phase.REFUNDED
        payment = next(
            p
            for p in k.ctl.ledger()["payments"]
            if p["merchant_payment_id"] == view.merchant_payment_id
        )
        assert payment["status"] == "CANCELED" and payment["revert"] is not None


def test_attendant_refund_partial_then_rest_then_refused(tmp_path: Path) -> None:
    with kiosk(tmp_path) as k:
        view = k.sell(1000)
        mpid = view.merchant_payment_id
        k.ctl.pay(k.code_of(mpid)["code_id"])
        k.advance(4)
        k.finish()
        k.runner.refund(mpid, 300)
        with pytest.raises(ValueError, match="only 700 yen"):
            k.runner.refund(mpid, 701)
        k.runner.refund(mpid)
        k.advance(12, step_s=6)  # refunds are followed every 5 s until PayPay says REFUNDED
        assert k.journal.open_refunds() == []
        assert {r.status for r in k.journal.refunds_for(mpid)} == {"REFUNDED"}
        payment = next(p for p in k.ctl.ledger()["payments"] if p["merchant_payment_id"] == mpid)
        assert payment["refunded"] == 1000
        assert k.runner.totals_today().refunded_yen == 1000
        with pytest.raises(ValueError, match="refundable"):
            k.runner.refund(mpid, 1)
