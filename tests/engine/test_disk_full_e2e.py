"""Issue 11: a really full disk (a small tmpfs filled until the kernel says ENOSPC), the real
worker, a real SQLite journal on that disk and the real simulator's HTTP server.

With the disk full, selling stops with the reason "journal" before a QR is shown; a QR on
screen is withdrawn; a sale paid while the journal could not record it is given back as soon as
the journal can record again (the filler file deleted); goods that came out while the disk
filled are not vended again; nothing recorded before is lost or damaged."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kiosk.domain import Order, Phase, ServiceIssue
from kiosk.hardware.vend import VendRequest, VendResult
from kiosk.sale.model import State
from tests.engine.harness import Kiosk, RecordingVendor, kiosk
from tests.engine.small_disk import fill, integrity, small_disk, truncate_wal


def history(k: Kiosk) -> dict[str, tuple[str, int, int]]:
    """Every sale the journal holds: its state, its step lines, its refunds."""
    return {
        s.merchant_payment_id: (
            s.state.value,
            len(k.journal.steps(s.merchant_payment_id)),
            len(k.journal.refunds_for(s.merchant_payment_id)),
        )
        for s in k.journal.all_sales()
    }


def earlier_sales(k: Kiosk) -> None:
    """A paid sale, a cancelled one and one the attendant refunded, all settled."""
    k.sell(300)
    assert k.drive(pay=True).phase is Phase.SUCCEEDED
    k.sell(400)
    k.runner.cancel_sale()
    assert k.finish().phase is Phase.CANCELLED
    refunded = k.sell(500).merchant_payment_id
    assert k.drive(pay=True).phase is Phase.SUCCEEDED
    k.runner.refund(refunded)
    k.idle()


def test_a_full_disk_stops_selling_before_a_qr_and_loses_nothing(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk") as disk:
        journal = disk / "j.db"
        with kiosk(tmp_path, journal_path=journal) as k:
            earlier_sales(k)
            before = history(k)
            assert len(before) == 3
            codes = len(k.ctl.ledger()["codes"])
            truncate_wal(journal)
            filler = fill(disk)

            k.runner.begin_sale(Order.of_amount(600, "Tea"))  # the customer taps
            refused = k.wait_phase(Phase.FAILED)
            assert refused.reason == "journal"  # nothing was recorded or sent: no money involved
            k.runner.acknowledge()
            assert k.runner.service_issue() is ServiceIssue.JOURNAL
            assert "full" in k.runner.worker.journal_problem  # SQLite's own words: disk is full
            with pytest.raises(ValueError, match="journal"):
                k.runner.begin_sale(Order.of_amount(100, "Tea"))  # the screen's tap is refused
            assert len(k.ctl.ledger()["codes"]) == codes  # no QR was created, none is payable
            k.advance(11)  # the kiosk tries a write every 5 s: still full
            assert k.runner.service_issue() is ServiceIssue.JOURNAL

            filler.unlink()  # the attendant frees space
            k.advance(6)
            k.ready()
            assert history(k) == before  # nothing recorded earlier is lost or changed
            k.sell(700)
            assert k.drive(pay=True).phase is Phase.SUCCEEDED
        assert integrity(journal) == "ok"


def test_a_sale_paid_when_the_disk_fills_is_given_back_once_it_can_be_recorded(
    tmp_path: Path,
) -> None:
    with small_disk(tmp_path / "disk") as disk:
        journal = disk / "j.db"
        with kiosk(tmp_path, journal_path=journal) as k:
            earlier_sales(k)
            before = history(k)
            view = k.sell(800)
            mpid = view.merchant_payment_id
            k.ctl.pay(k.code_of(mpid)["code_id"])  # paid; the kiosk has not polled yet
            truncate_wal(journal)
            filler = fill(disk)

            k.advance(5)  # the poll finds it paid; the journal cannot record it
            k.wait(lambda: k.runner.service_issue() is ServiceIssue.JOURNAL, "journal trouble")
            shown = k.runner.current_sale()
            assert shown is not None and shown.phase is Phase.CONFIRMING  # never "failed"

            def vended() -> list[VendRequest]:
                return [r for r in k.vendor.requests if r.merchant_payment_id == mpid]

            assert not vended()  # no goods for a payment the journal does not hold
            k.advance(11)
            assert k.runner.service_issue() is ServiceIssue.JOURNAL

            filler.unlink()
            k.advance(6)
            final = k.finish()  # the customer's screen hears how their sale ended
            assert (final.phase, final.reason) == (Phase.REFUNDED, "paid_after_restart")
            k.idle()
            assert k.runner.service_issue() is None
            sale = k.journal.load_sale(mpid)
            assert sale is not None and sale.state is State.REFUNDED
            after = history(k)
            assert {m: after[m] for m in before} == before
            assert not vended()
            payment = [p for p in k.ctl.ledger()["payments"] if p["merchant_payment_id"] == mpid]
            assert [p["status"] for p in payment] in (["CANCELED"], ["REFUNDED"]), payment
            assert k.audit().clean
        assert integrity(journal) == "ok"


def test_a_qr_on_screen_when_the_disk_fills_is_withdrawn(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk") as disk:
        journal = disk / "j.db"
        with kiosk(tmp_path, journal_path=journal) as k:
            mpid = k.sell(900).merchant_payment_id
            truncate_wal(journal)
            filler = fill(disk)
            k.runner.cancel_sale()  # the customer walks away; the kiosk cannot record it
            k.wait(lambda: k.runner.service_issue() is ServiceIssue.JOURNAL, "journal trouble")
            assert not k.code_of(mpid)["payable"]  # withdrawn before anything else
            shown = k.runner.current_sale()
            assert shown is not None and shown.phase is Phase.CONFIRMING

            filler.unlink()
            k.advance(6)
            assert k.finish().phase is Phase.CANCELLED  # proven gone once it can be recorded
            k.idle()
            sale = k.journal.load_sale(mpid)
            assert sale is not None and sale.state is State.CANCELLED
            assert k.audit().clean
        assert integrity(journal) == "ok"


@dataclass
class FillsTheDisk(RecordingVendor):
    """The goods come out while the disk fills (another writer took the last of it)."""

    disk: Path | None = None
    filler: list[Path] = field(default_factory=list)

    def vend(self, request: VendRequest) -> VendResult:
        result = super().vend(request)
        if self.disk is not None and not self.filler:
            truncate_wal(self.disk / "j.db")
            self.filler.append(fill(self.disk))
        return result


def test_the_disk_filling_while_the_goods_come_out_is_a_vend_not_recorded(tmp_path: Path) -> None:
    """The journal never learns the goods came out: as after a power cut mid-vend the money
    goes back (the merchant's loss, by design), never a second vend, never "failed"."""
    with small_disk(tmp_path / "disk") as disk:
        journal = disk / "j.db"
        vendor = FillsTheDisk(disk=disk)
        with kiosk(tmp_path, journal_path=journal, vendor=vendor) as k:
            mpid = k.sell(650).merchant_payment_id
            k.ctl.pay(k.code_of(mpid)["code_id"])
            k.advance(5)
            k.wait(lambda: k.runner.service_issue() is ServiceIssue.JOURNAL, "journal trouble")
            assert len(vendor.requests) == 1  # out once; the journal could not record it
            shown = k.runner.current_sale()
            assert shown is not None and shown.phase is not Phase.FAILED

            vendor.filler[0].unlink()
            k.advance(6)
            final = k.finish()
            k.idle()
            assert (final.phase, final.reason) == (Phase.REFUNDED, "vend_interrupted")
            sale = k.journal.load_sale(mpid)
            assert sale is not None and sale.state is State.REFUNDED
            assert len(vendor.requests) == 1  # never vended twice
            [payment] = [p for p in k.ctl.ledger()["payments"] if p["merchant_payment_id"] == mpid]
            assert payment["status"] in ("CANCELED", "REFUNDED"), payment
        assert integrity(journal) == "ok"
