"""The kiosk UI end to end under the SDL dummy driver: touch events drive the real runner, the
real OPA client and the real simulator (paying through its control API); the kiosk clock is
fake and moves only when a test says so.

Bounded waits (`until`) only give the worker thread time; nothing here asserts on timing.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

import pygame
import pytest
from pyzbar.pyzbar import decode

from kiosk.domain import Phase, SaleSettings, ServiceIssue
from kiosk.sale.model import State
from kiosk.simulator import SimulatorConfig, start_simulator
from kiosk.ui.app import App, open_display
from kiosk.ui.i18n import Strings
from kiosk.ui.settings import UiSettings
from kiosk.ui.theme import Theme
from kiosk.ui.views import (
    AttendantMenuView,
    AttractView,
    HeldSalesView,
    MenuView,
    OutOfServiceView,
    PinView,
    SaleScreenView,
)
from tests.engine.harness import Kiosk as Engine
from tests.engine.harness import RecordingVendor, crashed_sale
from tests.engine.harness import kiosk as engine_kiosk
from tests.ui.fakes import PIN, PIN_HASH
from tests.ui.scenes import ITEMS
from tests.ui.snapshot import to_image

WAIT_S = 20.0
ALL = "*"


class QueueEvents:
    """Queued input batches; with none queued, a short real sleep lets the worker run."""

    def __init__(self) -> None:
        self.batches: deque[list[pygame.event.Event]] = deque()

    def __call__(self, timeout_s: float) -> list[pygame.event.Event]:
        if self.batches:
            return self.batches.popleft()
        time.sleep(min(timeout_s, 0.002))
        return []


class Live:
    def __init__(self, engine: Engine, **options: object) -> None:
        self.engine = engine
        self.events = QueueEvents()
        self.notes: list[str] = []
        values: dict[str, object] = {
            "pin_hash": PIN_HASH,
            "catalogue": ITEMS[:4],
            "size": (800, 480),
            "fullscreen": False,
            "default_language": "en",
            "result_screen_s": 5.0,
        }
        values.update(options)
        self.settings = UiSettings(**values)  # type: ignore[arg-type]
        open_display(self.settings)
        self.app = App(
            engine.runner,
            self.settings,
            notify=self.notes.append,
            clock=engine.clock.monotonic,
            event_source=self.events,
        )

    @property
    def screen(self) -> object:
        assert self.app.frame is not None
        return self.app.frame.screen

    def until(self, predicate: Callable[[object], bool], what: str) -> object:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            self.app.turn()
            if predicate(self.screen):
                return self.screen
        raise AssertionError(f"timed out waiting for {what}; screen={self.screen}")

    def phase(self, *phases: Phase) -> SaleScreenView:
        view = self.until(
            lambda s: isinstance(s, SaleScreenView) and s.sale.phase in phases, f"phase {phases}"
        )
        assert isinstance(view, SaleScreenView)
        return view

    def tap(self, action: str, arg: str = "") -> None:
        rect = next(h.rect for h in self.app.hits if h.action == action and h.arg == arg)
        w, h = self.app.window.get_size()
        touch = {"touch_id": 1, "finger_id": 1, "dx": 0.0, "dy": 0.0, "pressure": 1.0}
        x, y = rect.centerx / w, rect.centery / h
        self.events.batches.append(
            [
                pygame.event.Event(pygame.FINGERDOWN, x=x, y=y, **touch),
                pygame.event.Event(pygame.FINGERUP, x=x, y=y, **touch),
            ]
        )
        self.app.turn()

    def pin(self) -> None:
        """Open the PIN pad with the key, type the PIN, wait for the menu."""
        self.key(pygame.K_F12)
        for digit in PIN:
            self.tap("digit", digit)
        self.tap("pin_ok")
        self.until(lambda s: isinstance(s, AttendantMenuView), "the attendant menu")

    def key(self, key: int) -> None:
        event = pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode="", scancode=0)
        self.events.batches.append([event])
        self.app.turn()

    def advance(self, seconds: float, step_s: float = 1.0) -> None:
        """Kiosk time passes; the screen keeps up."""
        left = seconds
        while left > 0:
            self.engine.advance(min(step_s, left))
            left -= step_s
            self.app.turn()

    def buy(self, sku: str) -> SaleScreenView:
        self.until(lambda s: isinstance(s, AttractView), "the attract screen")
        self.tap("start")
        assert isinstance(self.screen, MenuView)
        self.tap("item", sku)
        return self.phase(Phase.AWAITING_PAYMENT)

    def code_id(self, view: SaleScreenView) -> str:
        return str(self.engine.code_of(view.sale.merchant_payment_id)["code_id"])


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    settings = SaleSettings(terminal_id="UI", grace_s=4)
    with engine_kiosk(tmp_path, settings=settings) as engine:
        ui = Live(engine)
        ui.until(lambda s: s is not None, "the first frame")
        engine.ready()
        yield ui


def test_tap_pick_qr_pay_success_and_back_to_attract(live: Live) -> None:
    view = live.buy(ITEMS[1].sku)
    assert view.sale.amount_yen == ITEMS[1].price_yen
    shown = [r.data.decode() for r in decode(to_image(live.app.window).convert("L"))]
    assert shown == [view.sale.qr_url]
    live.engine.ctl.pay(live.code_id(view))
    live.advance(4)
    done = live.phase(Phase.SUCCEEDED)
    assert done.sale.amount_yen == ITEMS[1].price_yen
    assert "STATUS=sale:succeeded" in live.notes
    live.advance(5)
    live.until(lambda s: isinstance(s, AttractView), "back to attract")
    assert live.engine.runner.current_sale() is None
    assert live.engine.audit().clean


def test_cancel_withdraws_the_qr(live: Live) -> None:
    view = live.buy(ITEMS[0].sku)
    live.tap("cancel")
    ended = live.phase(Phase.CANCELLED)  # PayPay proved it: at once, no grace window
    assert ended.sale.reason == "cancelled"
    assert not live.engine.code_of(view.sale.merchant_payment_id)["payable"]
    live.tap("done")
    live.until(lambda s: isinstance(s, AttractView), "back to attract")


def test_cancel_while_a_slow_paypay_creates_the_qr_withdraws_it(live: Live) -> None:
    live.engine.ctl.add_fault("create_code", latency_s=0.6, times=1)  # under the 1 s timeout
    live.until(lambda s: isinstance(s, AttractView), "the attract screen")
    live.tap("start")
    live.tap("item", ITEMS[0].sku)
    assert isinstance(live.screen, MenuView)  # the tapped screen, while a QR would be quick
    live.engine.clock.advance(0.2)  # kiosk time only: the create is still on its way
    creating = live.phase(Phase.CREATING)  # the QR screen, a spinner where the code will be
    live.tap("cancel")
    ended = live.phase(Phase.CANCELLED)
    assert ended.sale.reason == "cancelled"
    code = live.engine.code_of(creating.sale.merchant_payment_id)
    assert code["status"] == "DELETED" and not code["payable"]  # created late, then withdrawn
    assert live.engine.audit().clean


def test_expiry_shows_time_ran_out(live: Live) -> None:
    view = live.buy(ITEMS[2].sku)
    live.advance(121, step_s=4)
    ended = live.phase(Phase.EXPIRED)
    assert not live.engine.code_of(view.sale.merchant_payment_id)["payable"]
    assert ended.sale.amount_yen == ITEMS[2].price_yen


def test_a_payment_in_the_grace_window_still_succeeds(live: Live) -> None:
    view = live.buy(ITEMS[3].sku)
    live.engine.ctl.add_fault("delete_code", status=500, times=1)  # the delete answer is lost
    live.engine.ctl.pay(live.code_id(view))  # ...as the customer pays in the last second
    live.tap("cancel")
    live.advance(6)
    live.phase(Phase.SUCCEEDED)
    assert live.engine.audit().clean


def test_network_loss_is_never_shown_as_failure_and_the_kiosk_recovers(live: Live) -> None:
    view = live.buy(ITEMS[0].sku)
    live.engine.ctl.add_fault(ALL, drop_response=True, times=None)  # connections die
    seen: set[Phase] = set()
    for _ in range(12):
        live.advance(1)
        seen.add(live.phase(*Phase).sale.phase)
    assert live.engine.runner.service_issue() is ServiceIssue.NETWORK
    live.tap("cancel")
    for _ in range(10):
        live.advance(1)
        screen = live.screen
        assert isinstance(screen, SaleScreenView)
        seen.add(screen.sale.phase)
    assert Phase.FAILED not in seen  # an unknown outcome is "checking", never "failed"
    assert Phase.CONFIRMING in seen
    live.engine.ctl.clear_faults()
    for _ in range(30):
        live.advance(1)
        if isinstance(live.screen, SaleScreenView) and live.screen.sale.phase is Phase.CANCELLED:
            break
    assert live.phase(Phase.CANCELLED).sale.merchant_payment_id == view.sale.merchant_payment_id
    live.tap("done")
    for _ in range(30):
        if isinstance(live.screen, AttractView):
            break
        live.advance(1)
    assert isinstance(live.screen, AttractView)
    assert not live.engine.code_of(view.sale.merchant_payment_id)["payable"]


def test_attendant_switches_service_off_and_on(live: Live) -> None:
    live.until(lambda s: isinstance(s, AttractView), "attract")
    live.pin()
    live.tap("toggle_service")
    live.tap("close")
    assert isinstance(live.screen, OutOfServiceView)
    assert live.screen.issue is ServiceIssue.ATTENDANT
    live.pin()
    live.tap("toggle_service")
    live.tap("close")
    live.until(lambda s: isinstance(s, AttractView), "back in service")


def test_attendant_refunds_a_sale_through_the_screen(live: Live) -> None:
    view = live.buy(ITEMS[1].sku)
    mpid = view.sale.merchant_payment_id
    live.engine.ctl.pay(live.code_id(view))
    live.advance(4)
    live.phase(Phase.SUCCEEDED)
    live.tap("done")
    live.pin()
    assert isinstance(live.screen, AttendantMenuView)
    live.tap("recent_sales")
    live.tap("refund", mpid)
    live.tap("refund_partial")
    for digit in "100":
        live.tap("digit", digit)
    live.tap("refund_amount")
    live.tap("refund_yes")
    assert live.app.controller.message == ("refund_requested", {})
    live.engine.idle()
    record = live.engine.journal.sale_record(mpid)
    assert record is not None and record.refundable_yen == ITEMS[1].price_yen - 100
    live.tap("refund", mpid)
    live.tap("refund_full")
    live.tap("refund_yes")
    live.engine.idle()
    record = live.engine.journal.sale_record(mpid)
    assert record is not None and record.refundable_yen == 0
    refunds = [p for p in live.engine.ctl.ledger()["payments"] if p["merchant_payment_id"] == mpid]
    assert refunds and refunds[0]["status"] == "REFUNDED"
    assert live.engine.audit().clean


def test_attendant_pin_lockout_on_the_live_kiosk(live: Live) -> None:
    live.until(lambda s: isinstance(s, AttractView), "attract")
    live.key(pygame.K_F12)
    for _ in range(5):
        for digit in "9999":
            live.tap("digit", digit)
        live.tap("pin_ok")
        live.until(lambda s: isinstance(s, PinView) and not s.checking, "the verdict")
    locked = live.screen
    assert isinstance(locked, PinView) and locked.locked_s == 30
    live.advance(30)
    for digit in PIN:
        live.tap("digit", digit)
    live.tap("pin_ok")
    live.until(lambda s: isinstance(s, AttendantMenuView), "the attendant menu")


def test_a_held_sale_is_handed_out_from_the_attendant_screen_and_selling_resumes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sim = start_simulator(SimulatorConfig(control=True, seed=5), port=0)
    try:
        path = tmp_path / "journal.sqlite3"
        crashed_sale(sim, path, "UI-held", create=True, show=True, pay=True, vend=True)
        settings = SaleSettings(terminal_id="UI", grace_s=4, on_paid_not_vended="hold")
        with engine_kiosk(tmp_path, settings=settings, sim=sim, journal_path=path) as engine:
            live = Live(engine)
            held = live.until(
                lambda s: isinstance(s, OutOfServiceView) and s.issue is ServiceIssue.HELD_SALE,
                "out of service: a held sale",
            )
            assert isinstance(held, OutOfServiceView)
            live.pin()
            with caplog.at_level(logging.INFO, logger="kiosk.ui"):
                live.tap("held_sales")
                assert isinstance(live.screen, HeldSalesView)
                assert [r.merchant_payment_id for r in live.screen.rows] == ["UI-held"]
                assert live.screen.rows[0].amount_yen == 600
                live.tap("held_out", "UI-held")
                live.tap("held_out_yes")
            assert "attendant action=hand_out_held merchant_payment_id=UI-held" in caplog.text
            live.tap("back")
            live.tap("close")
            live.until(lambda s: isinstance(s, AttractView), "back in service")
            sale = engine.journal.load_sale("UI-held")
            assert sale is not None and sale.state is State.SUCCEEDED
            assert sale.end_reason == "handed_out_by_attendant"
            assert engine.runner.held_sales() == []
            view = live.buy(ITEMS[0].sku)  # and the next customer can buy
            live.engine.ctl.pay(live.code_id(view))
            live.advance(4)
            live.phase(Phase.SUCCEEDED)
    finally:
        sim.stop()


def test_a_refused_revert_is_released_from_the_held_screen_and_selling_resumes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = SaleSettings(terminal_id="UI", grace_s=4, preauth=True)
    vendor = RecordingVendor(ok=False)  # the vend jams
    with engine_kiosk(tmp_path, settings=settings, vendor=vendor) as engine:
        live = Live(engine)
        live.until(lambda s: s is not None, "the first frame")
        engine.ready()
        engine.ctl.add_fault("revert", status=400, code="ORDER_NOT_REVERSIBLE", times=1)
        view = live.buy(ITEMS[1].sku)
        mpid = view.sale.merchant_payment_id
        engine.ctl.pay(live.code_id(view))
        for _ in range(30):  # vend jams, revert refused, status asked: held
            live.advance(1)
            if isinstance(live.screen, SaleScreenView) and live.screen.sale.phase is Phase.HELD:
                break
        held = live.phase(Phase.HELD)
        assert held.sale.reason == "held_paid"  # the customer is told the truth
        live.advance(5)
        live.until(
            lambda s: isinstance(s, OutOfServiceView) and s.issue is ServiceIssue.HELD_SALE,
            "out of service: a held sale",
        )
        live.pin()
        with caplog.at_level(logging.INFO, logger="kiosk.ui"):
            live.tap("held_sales")
            assert isinstance(live.screen, HeldSalesView)
            [row] = live.screen.rows
            assert (row.merchant_payment_id, row.give_back) == (mpid, "release")
            live.tap("held_refund", mpid)
            live.tap("held_refund_yes")
            assert isinstance(live.screen, HeldSalesView)
            assert live.screen.message == "Releasing the authorisation at PayPay"
        assert f"attendant action=release_held merchant_payment_id={mpid}" in caplog.text
        live.tap("back")
        live.tap("close")
        live.advance(2)
        live.until(lambda s: isinstance(s, AttractView), "back in service")
        engine.idle()
        sale = engine.journal.load_sale(mpid)
        assert sale is not None and (sale.state, sale.end_reason) == (
            State.REFUNDED,
            "released_by_attendant",
        )
        [payment] = [p for p in engine.ctl.ledger()["payments"] if p["merchant_payment_id"] == mpid]
        assert payment["status"] == "CANCELED" and payment["revert"] is not None
        assert engine.journal.refunds_for(mpid) == []  # reverted, never a refund row
        vendor.ok = True
        view = live.buy(ITEMS[0].sku)  # and the next customer can buy
        engine.ctl.pay(live.code_id(view))


@pytest.mark.parametrize("language", ["en", "ja"])
def test_a_code_paypay_will_not_withdraw_ends_the_sale_truthfully_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, language: str
) -> None:
    """Issue 11 D: the delete is refused; the customer is told at once (not "you have not
    been charged": the code may still be paid, and that money comes back), and the next
    customer buys while the code is watched in the background."""
    drawn: list[str] = []
    text = Theme.text

    def spy(self: Theme, words: str, size_px: int, colour: tuple[int, int, int]) -> object:
        drawn.append(words)
        return text(self, words, size_px, colour)

    monkeypatch.setattr(Theme, "text", spy)
    with engine_kiosk(tmp_path, settings=SaleSettings(terminal_id="UW", grace_s=4)) as engine:
        live = Live(engine, default_language=language)
        engine.ready()
        strings = Strings(language)
        view = live.buy(ITEMS[0].sku)
        engine.ctl.add_fault("delete_code", status=400, code="DYNAMIC_QR_BAD_REQUEST", times=None)
        live.tap("cancel")
        drawn.clear()
        ended = live.phase(Phase.CANCELLED)
        live.app.turn()
        assert ended.sale.reason == "watched"
        said = "".join(drawn).replace(" ", "")
        assert strings("cancelled").replace(" ", "") in said
        assert strings("reason_watched").replace(" ", "") in said
        assert strings("reason_cancelled").replace(" ", "") not in said
        mpid = view.sale.merchant_payment_id
        assert engine.code_of(mpid)["payable"]  # PayPay would not withdraw it: watched
        live.tap("done")
        live.until(lambda s: isinstance(s, AttractView), "back to attract")
        engine.ctl.clear_faults()
        second = live.buy(ITEMS[1].sku)  # the next customer, while the first code is watched
        sale = engine.journal.load_sale(mpid)
        assert sale is not None and sale.state is State.WATCHING and sale.customer_released
        engine.ctl.pay(live.code_id(second))
        live.advance(4)
        live.phase(Phase.SUCCEEDED)
