"""Issue 11, end to end on the real simulator, a real journal and the real worker: no exception
stops selling silently, a journal that cannot be written stops selling before a QR is shown and
loses nothing, clock steps do not touch the timers, a proven cancel ends at once.

The failing step is made with the worker's own crash-test seam (`boundary`), the read-only
journal with SQLite's own `PRAGMA query_only` (every write then fails inside SQLite, the same
path a full disk's SQLITE_FULL takes)."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.commands.journalcmd import list_sales
from kiosk.commands.run import LoopNotify
from kiosk.domain import Order, Phase, SaleSettings, ServiceIssue
from kiosk.hardware.vend import VendRequest, VendResult
from kiosk.ops.notify import Notifier
from kiosk.ops.status import Status, StatusKeeper
from kiosk.sale.model import Sale, State
from tests.engine.harness import RecordingVendor, kiosk


class Explodes:
    """A boundary that raises once at `kind` (a bug in a step), for the sale numbered `nth`."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.fired = 0

    def __call__(self, kind: str, sale: Sale | None) -> None:
        if kind == self.kind and not self.fired:
            self.fired += 1
            raise RuntimeError(f"bug at {kind}")


def test_a_step_that_raises_holds_that_sale_and_selling_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    with kiosk(tmp_path, boundary=Explodes("before-delete")) as k:
        view = k.sell(300)
        k.runner.cancel_sale()
        with caplog.at_level(logging.WARNING, logger="kiosk.engine.worker"):
            held = k.finish()
        assert (held.phase, held.reason) == (Phase.HELD, "held_unconfirmed")
        sale = k.journal.load_sale(view.merchant_payment_id)
        assert sale is not None and sale.state is State.HELD
        assert sale.end_reason == "engine_error: RuntimeError"
        assert "sale step failed; holding the sale" in caplog.text
        assert f"sale held for the attendant mpid={view.merchant_payment_id}" in caplog.text
        list_sales(k.journal.recent_sales())  # `kiosk journal list` names the reason
        listed = capsys.readouterr().out
        assert "HELD" in listed and "engine_error: RuntimeError" in listed
        code = k.code_of(view.merchant_payment_id)
        assert not code["payable"]  # a held sale's QR is not left payable
        assert k.runner.service_issue() is None  # no vend was involved: selling goes on
        k.sell(500)
        assert k.drive(pay=True).phase is Phase.SUCCEEDED


class RaisingVendor(RecordingVendor):
    def vend(self, request: VendRequest) -> VendResult:
        super().vend(request)
        raise KeyError("KIOSK_AMOUNT_YEN")  # an adapter breaking its never-raise promise


def test_a_vend_adapter_that_raises_gives_the_money_back(tmp_path: Path) -> None:
    with kiosk(tmp_path, vendor=RaisingVendor()) as k:
        view = k.sell(400)
        final = k.drive(pay=True)
        assert (final.phase, final.reason) == (Phase.REFUNDED, "vend_failed")
        assert k.runner.engine_alive() and k.runner.service_issue() is None
        steps = [d for _, kind, _, d in k.journal.steps(view.merchant_payment_id)]
        assert any("vend adapter error: KeyError" in d for d in steps)
        assert k.audit().clean


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(2.0)
    try:
        yield sock, path
    finally:
        sock.close()


def test_a_worker_that_cannot_run_stops_feeding_the_watchdog(
    tmp_path: Path, listener: tuple[socket.socket, str]
) -> None:
    sock, path = listener
    with kiosk(tmp_path, boundary=Explodes("after-attendant-refund")) as k:
        initial = Status("idle", 1, "demo", 0.0, 0.0)
        keeper = StatusKeeper(tmp_path / "status.json", initial, k.clock.now)
        notify = LoopNotify(Notifier(path, 30_000_000), keeper, k.runner)
        notify("WATCHDOG=1")
        assert sock.recv(256) == b"WATCHDOG=1"
        view = k.sell(700)
        k.drive(pay=True)
        k.runner.refund(view.merchant_payment_id)  # the refund follower meets the bug
        k.wait(lambda: not k.runner.engine_alive(), "the worker to stop")
        assert k.runner.service_issue() is ServiceIssue.ENGINE
        assert "bug at after-attendant-refund" in k.runner.worker.fault
        notify("WATCHDOG=1")  # dropped: systemd's watchdog will restart the kiosk
        notify("STATUS=still drawing")
        assert sock.recv(256) == b"STATUS=still drawing"


def test_a_read_only_journal_stops_selling_and_a_paid_sale_is_settled_when_it_returns(
    tmp_path: Path,
) -> None:
    with kiosk(tmp_path) as k:
        view = k.sell(600)
        mpid = view.merchant_payment_id
        k.journal._db.execute("PRAGMA query_only=1")  # SQLite refuses every write from now on
        k.ctl.pay(k.code_of(mpid)["code_id"])  # the customer pays; the kiosk cannot record it
        k.advance(5)
        k.wait(lambda: k.runner.service_issue() is ServiceIssue.JOURNAL, "journal trouble")
        shown = k.runner.current_sale()
        assert shown is not None and shown.phase is Phase.CONFIRMING  # never "failed"
        k.runner.acknowledge()
        with pytest.raises(ValueError):
            k.runner.begin_sale(Order.of_amount(100, "Tea"))  # no QR for the next customer
        assert len(k.ctl.ledger()["codes"]) == 1
        k.journal._db.execute("PRAGMA query_only=0")
        k.advance(6)
        final = k.finish()  # the customer's screen hears how their sale ended
        assert (final.phase, final.reason) == (Phase.REFUNDED, "paid_after_restart")
        assert k.runner.service_issue() is None
        sale = k.journal.load_sale(mpid)
        assert sale is not None and sale.state is State.REFUNDED
        assert not k.vendor.requests
        assert k.audit().clean


def test_an_ntp_step_back_does_not_stop_polling_or_stretch_the_countdown(tmp_path: Path) -> None:
    with kiosk(tmp_path, settings=SaleSettings(terminal_id="K1", grace_s=4)) as k:
        view = k.sell(500)
        k.clock.step_wall(-80)  # inside the clock guard's 90 s
        k.advance(1)
        shown = k.runner.current_sale()
        assert shown is not None and shown.seconds_left is not None
        assert shown.seconds_left <= 120 and shown.seconds_total == 120
        k.ctl.pay(k.code_of(view.merchant_payment_id)["code_id"])
        k.advance(4)  # one poll interval of monotonic time finds it
        final = k.finish()
        assert final.phase is Phase.SUCCEEDED
        k.sell(300)
        k.clock.step_wall(+80)
        k.advance(1)
        shown = k.runner.current_sale()
        assert shown is not None and shown.phase is Phase.AWAITING_PAYMENT
        assert shown.seconds_left is not None and shown.seconds_left >= 118


def test_a_proven_customer_cancel_shows_cancelled_at_once(tmp_path: Path) -> None:
    with kiosk(tmp_path, settings=SaleSettings(terminal_id="K1", grace_s=8)) as k:
        k.sell(500)
        started = k.clock.monotonic()
        k.runner.cancel_sale()
        final = k.finish()  # no kiosk time passes: PayPay's answers prove it
        assert final.phase is Phase.CANCELLED
        assert k.clock.monotonic() - started < 1
