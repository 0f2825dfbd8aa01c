"""The attendant: opening (corner long press, key, GPIO), PIN lockout, menu actions, refunds
behind a confirm step, exit only from the menu, and a log line for every action (never a PIN)."""

from __future__ import annotations

import logging
import time
from datetime import datetime

import pygame
import pytest

from kiosk.domain import Phase, Totals
from kiosk.ops.pin import hash_pin
from kiosk.ui.actions import Action
from kiosk.ui.app import wait_for_events
from kiosk.ui.input import request_attendant
from kiosk.ui.pin_gate import MAX_TRIES, PinGate
from kiosk.ui.views import (
    AttendantMenuView,
    AttractView,
    ConfirmView,
    HeldSalesView,
    MenuView,
    PinView,
    RefundView,
    SalesListView,
)
from tests.ui.fakes import PIN, PIN_HASH, Held, Record, ScriptedBackend
from tests.ui.test_app import Kiosk
from tests.waiting import DEADLINE_S

WRONG = "1111"


def _records() -> list[Record]:
    return [
        Record("kiosk-a-0001", 420, "SUCCEEDED", datetime(2026, 11, 28, 14, 5), 420),
        Record("kiosk-a-0002", 900, "SUCCEEDED", 1_800_000_000.0, 900),
        Record("kiosk-a-0003", 350, "EXPIRED", "2026-11-28T15:00:00", 0),
    ]


def _enter(kiosk: Kiosk, pin: str) -> None:
    for digit in pin:
        kiosk.tap("digit", digit)
    kiosk.tap("pin_ok")
    _checked(kiosk)


def _checked(kiosk: Kiosk) -> None:
    """Let the PIN check (a thread, a few ms with the test hash) finish and be seen."""
    deadline = time.monotonic() + DEADLINE_S  # a safety net on a loaded machine
    while kiosk.app.controller.gate.checking:
        if time.monotonic() > deadline:
            raise AssertionError(f"the PIN check did not finish within {DEADLINE_S} s")
        time.sleep(0.001)
        kiosk.turn()


def _menu(kiosk: Kiosk) -> None:
    kiosk.key(pygame.K_F12)
    _enter(kiosk, PIN)
    assert isinstance(kiosk.screen, AttendantMenuView)


def test_the_pin_is_checked_off_the_loop_while_the_screen_says_so() -> None:
    kiosk = Kiosk()
    kiosk.key(pygame.K_F12)
    for digit in PIN:
        kiosk.tap("digit", digit)
    gate = kiosk.app.controller.gate
    gate._pin_hash = hash_pin(PIN, b"slow-salt-000001", iterations=400_000)  # a slow Pi
    kiosk.tap("pin_ok")
    assert kiosk.screen == PinView(entered=0, checking=True)
    assert not any(h.action in ("digit", "pin_ok") for h in kiosk.app.hits)
    assert kiosk.events.timeouts[-1] < 0.1  # the loop keeps turning, and soon looks again
    _checked(kiosk)
    assert isinstance(kiosk.screen, AttendantMenuView)


def test_pin_gate_locks_after_five_wrong_pins_with_a_growing_delay() -> None:
    gate = PinGate(PIN_HASH)
    for _ in range(MAX_TRIES - 1):
        assert not gate.try_pin(WRONG, 0.0)
        assert gate.locked_s(0.0) == 0
    assert not gate.try_pin(WRONG, 0.0)
    assert gate.locked_s(0.0) == 30
    assert not gate.try_pin(PIN, 10.0)  # locked: even the right PIN is not checked
    assert not gate.try_pin(WRONG, 30.0)
    assert gate.locked_s(30.0) == 60
    assert not gate.try_pin(WRONG, 90.0)
    assert gate.locked_s(90.0) == 120
    assert gate.try_pin(PIN, 210.0)
    assert gate.failures == 0 and gate.locked_s(210.0) == 0


def test_the_attendant_key_opens_the_pin_pad_and_the_pin_opens_the_menu() -> None:
    kiosk = Kiosk()
    kiosk.key(pygame.K_F12)
    assert kiosk.screen == PinView(entered=0)
    _enter(kiosk, PIN)
    assert isinstance(kiosk.screen, AttendantMenuView)
    assert "STATUS=attendant:menu" in kiosk.notes


def test_the_keyboard_can_type_the_pin() -> None:
    kiosk = Kiosk()
    kiosk.key(pygame.K_F12)
    for digit in PIN:
        kiosk.key(getattr(pygame, f"K_{digit}"))
    kiosk.key(pygame.K_RETURN)
    _checked(kiosk)
    assert isinstance(kiosk.screen, AttendantMenuView)


def test_a_three_second_press_on_the_corner_opens_the_pin_pad() -> None:
    kiosk = Kiosk(attendant_corner="bottom-right")
    corner = (kiosk.app.logical[0] - 5, kiosk.app.logical[1] - 5)
    kiosk.events.push(kiosk.finger(pygame.FINGERDOWN, corner))
    kiosk.turn()
    kiosk.clock.now += 2.6
    kiosk.turn()  # waits a quarter second: 2.85 s held
    assert isinstance(kiosk.screen, AttractView)
    kiosk.turn()
    assert kiosk.events.timeouts[-1] == pytest.approx(0.15)  # wakes exactly at the 3 s mark
    assert isinstance(kiosk.screen, PinView)
    kiosk.events.push(kiosk.finger(pygame.FINGERUP, corner))
    kiosk.turn()
    assert isinstance(kiosk.screen, PinView)  # the release after a long press does nothing


def test_a_short_press_on_the_corner_is_an_ordinary_tap() -> None:
    kiosk = Kiosk(attendant_corner="bottom-right")
    corner = (kiosk.app.logical[0] - 5, kiosk.app.logical[1] - 60)
    kiosk.events.push(
        kiosk.finger(pygame.FINGERDOWN, corner), kiosk.finger(pygame.FINGERUP, corner)
    )
    kiosk.turn()
    assert isinstance(kiosk.screen, MenuView)


def test_a_gpio_button_opens_the_pin_pad_from_any_thread() -> None:
    kiosk = Kiosk()
    kiosk.app.event_source = wait_for_events  # the real SDL queue
    pygame.event.clear()
    request_attendant()
    kiosk.turn()
    assert isinstance(kiosk.screen, PinView)


def test_five_wrong_pins_lock_the_pad_and_it_unlocks_later(
    caplog: pytest.LogCaptureFixture,
) -> None:
    kiosk = Kiosk()
    kiosk.key(pygame.K_F12)
    with caplog.at_level(logging.INFO):
        for tries_left in range(MAX_TRIES - 1, 0, -1):
            _enter(kiosk, WRONG)
            assert kiosk.screen == PinView(entered=0, tries_left=tries_left)
        _enter(kiosk, WRONG)
    assert kiosk.screen == PinView(entered=0, locked_s=30)
    assert not any(h.action == "digit" for h in kiosk.app.hits)  # the pad is disabled
    kiosk.key(pygame.K_2)
    assert kiosk.screen == PinView(entered=0, locked_s=30)
    kiosk.clock.now += 10
    kiosk.turn()
    assert kiosk.screen == PinView(entered=0, locked_s=20)  # the countdown is shown
    kiosk.clock.now += 20
    kiosk.turn()
    _enter(kiosk, PIN)
    assert isinstance(kiosk.screen, AttendantMenuView)
    assert caplog.text.count("action=pin_rejected") == MAX_TRIES
    assert PIN not in caplog.text and WRONG not in caplog.text


def test_refund_full_and_partial_behind_a_confirm_step(caplog: pytest.LogCaptureFixture) -> None:
    backend = ScriptedBackend(records=_records())
    kiosk = Kiosk(backend)
    _menu(kiosk)
    with caplog.at_level(logging.INFO):
        kiosk.tap("recent_sales")
        assert isinstance(kiosk.screen, SalesListView)
        assert [r.time_text for r in kiosk.screen.rows][::2] == ["14:05", "15:00"]
        assert [h.arg for h in kiosk.app.hits if h.action == "refund"] == [
            "kiosk-a-0001",
            "kiosk-a-0002",
        ]
        kiosk.tap("refund", "kiosk-a-0001")
        assert isinstance(kiosk.screen, RefundView)
        kiosk.tap("refund_full")
        assert isinstance(kiosk.screen, ConfirmView) and "¥420" in kiosk.screen.question
        assert not any(c[0] == "refund" for c in backend.calls)  # nothing before yes
        kiosk.tap("refund_yes")
        assert backend.calls[-1] == ("refund", "kiosk-a-0001", None)
        assert isinstance(kiosk.screen, SalesListView)
        assert kiosk.screen.message == "Refund requested"
        kiosk.tap("refund", "kiosk-a-0002")
        kiosk.tap("refund_partial")
        for digit in "300":
            kiosk.tap("digit", digit)
        kiosk.tap("refund_amount")
        assert isinstance(kiosk.screen, ConfirmView) and "¥300" in kiosk.screen.question
        kiosk.tap("confirm_no")
        assert isinstance(kiosk.screen, RefundView)
        kiosk.tap("refund_amount")
        kiosk.tap("refund_yes")
    assert backend.calls[-1] == ("refund", "kiosk-a-0002", 300)
    assert "action=refund merchant_payment_id=kiosk-a-0002 amount_yen=300" in caplog.text


def test_a_refund_the_backend_refuses_shows_its_message() -> None:
    backend = ScriptedBackend(records=_records())
    kiosk = Kiosk(backend)
    _menu(kiosk)
    kiosk.tap("recent_sales")
    kiosk.tap("refund", "kiosk-a-0001")
    backend.records[0] = Record("kiosk-a-0001", 420, "SUCCEEDED", 0.0, 100)  # refunded elsewhere
    kiosk.tap("refund_partial")
    for digit in "400":
        kiosk.tap("digit", digit)
    kiosk.tap("refund_amount")
    kiosk.tap("refund_yes")
    assert isinstance(kiosk.screen, SalesListView)
    assert kiosk.screen.message == "Error: only 100 yen is refundable"


def test_held_sales_are_handed_out_or_refunded_behind_a_confirm_step(
    caplog: pytest.LogCaptureFixture,
) -> None:
    held = [
        Held("kiosk-h-0001", 420, "Caffè latte", datetime(2026, 11, 28, 15, 37)),
        Held("kiosk-h-0002", 900, "Sandwich", "2026-11-28T16:02:00"),
    ]
    backend = ScriptedBackend(records=[Record("kiosk-h-0002", 900, "HELD", 0.0, 900)], held=held)
    kiosk = Kiosk(backend)
    _menu(kiosk)
    with caplog.at_level(logging.INFO):
        kiosk.tap("held_sales")
        assert isinstance(kiosk.screen, HeldSalesView)
        assert [(r.time_text, r.amount_yen) for r in kiosk.screen.rows] == [
            ("15:37", 420),
            ("16:02", 900),
        ]
        kiosk.tap("held_out", "kiosk-h-0001")
        assert isinstance(kiosk.screen, ConfirmView) and "¥420" in kiosk.screen.question
        kiosk.tap("confirm_no")  # "no" goes back to the list and does nothing
        assert isinstance(kiosk.screen, HeldSalesView) and len(kiosk.screen.rows) == 2
        assert not any(c[0] == "hand_out_held" for c in backend.calls)
        kiosk.tap("held_out", "kiosk-h-0001")
        kiosk.tap("held_out_yes")
        assert backend.calls[-1] == ("hand_out_held", "kiosk-h-0001")
        assert isinstance(kiosk.screen, HeldSalesView)
        assert kiosk.screen.message == "Recorded as handed out"
        assert [r.merchant_payment_id for r in kiosk.screen.rows] == ["kiosk-h-0002"]
        kiosk.tap("held_refund", "kiosk-h-0002")
        assert isinstance(kiosk.screen, ConfirmView) and kiosk.screen.question == "Refund ¥900?"
        assert not any(c[0] == "refund" for c in backend.calls)
        kiosk.tap("held_refund_yes")
        assert backend.calls[-1] == ("refund", "kiosk-h-0002", None)  # in full
        assert isinstance(kiosk.screen, HeldSalesView) and kiosk.screen.rows == ()
        assert kiosk.screen.message == "Refund requested"
        kiosk.tap("back")
        assert isinstance(kiosk.screen, AttendantMenuView)
    assert "attendant action=hand_out_held merchant_payment_id=kiosk-h-0001" in caplog.text
    assert "attendant action=refund_held merchant_payment_id=kiosk-h-0002" in caplog.text


def test_menu_cancel_sale_totals_reconcile_and_service(caplog: pytest.LogCaptureFixture) -> None:
    backend = ScriptedBackend(records=_records())
    kiosk = Kiosk(backend)
    kiosk.tap("start")
    kiosk.tap("item", "coffee")
    backend.show(
        Phase.AWAITING_PAYMENT, qr_url="http://x/pay/1", seconds_left=50, seconds_total=120
    )
    with caplog.at_level(logging.INFO):
        _menu(kiosk)
        assert kiosk.screen == AttendantMenuView(sale_in_progress=True, out_of_service=False)
        kiosk.tap("cancel_sale")
        assert backend.calls[-1] == ("cancel_sale",)
        kiosk.tap("totals")
        assert kiosk.screen == Totals(count=2, amount_yen=1320, refunded_yen=0)
        kiosk.tap("back")
        kiosk.tap("reconcile")
        assert backend.reconciled == 1
        kiosk.tap("back")
        kiosk.tap("toggle_service")
        assert backend.calls[-1] == ("set_out_of_service", True)
        assert kiosk.screen == AttendantMenuView(True, True, "Now out of service")
        kiosk.tap("toggle_service")
        assert backend.calls[-1] == ("set_out_of_service", False)
        kiosk.tap("close")
    for action in ("open", "cancel_sale", "totals", "reconcile", "toggle_service", "close"):
        assert f"attendant action={action}" in caplog.text


def test_exit_only_from_the_menu_after_a_confirm() -> None:
    kiosk = Kiosk(fullscreen=True)
    _menu(kiosk)
    kiosk.tap("exit")
    assert isinstance(kiosk.screen, ConfirmView)
    kiosk.tap("confirm_no")
    assert isinstance(kiosk.screen, AttendantMenuView)
    kiosk.tap("exit")
    center = kiosk.target("exit_yes").center
    kiosk.events.push(
        kiosk.finger(pygame.FINGERDOWN, center), kiosk.finger(pygame.FINGERUP, center)
    )
    assert kiosk.turn() == 0


def test_the_attendant_menu_closes_itself_when_left_alone() -> None:
    kiosk = Kiosk()
    _menu(kiosk)
    kiosk.clock.now += 121
    kiosk.turn()
    assert isinstance(kiosk.screen, AttractView)


def test_sale_times_are_japan_time_whatever_the_host_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    """The journal keeps epoch seconds; the attendant reads them in JST like `kiosk journal list`
    and today's totals do, even on a host left on UTC (found by QA: 16:06 on screen, 01:06 in
    the journal list for the same sale)."""
    from kiosk.ui.attendant import time_text

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        assert time_text(1_800_000_000.0) == "17:00"  # 2027-01-15T08:00Z
        assert time_text("2027-01-15T08:00:00+00:00") == "17:00"
        assert time_text("2026-11-28T15:00:00") == "15:00"  # no zone: already wall time
    finally:
        monkeypatch.undo()
        time.tzset()


def test_the_attendants_times_follow_the_display_time_zone() -> None:
    """display_time_zone = "America/New_York": the sales and held lists show New York time
    (Japan time stays the default: the tests above); a time without a zone is taken as is."""
    held = [Held("kiosk-h-0001", 420, "Caffè latte", 1_800_000_000.0, "vend_failed")]
    backend = ScriptedBackend(records=_records(), held=held)
    kiosk = Kiosk(backend, time_zone="America/New_York")
    _menu(kiosk)
    kiosk.tap("recent_sales")
    assert isinstance(kiosk.screen, SalesListView)
    assert [r.time_text for r in kiosk.screen.rows] == ["14:05", "03:00", "15:00"]
    kiosk.tap("back")
    kiosk.tap("held_sales")
    assert isinstance(kiosk.screen, HeldSalesView)
    assert [r.time_text for r in kiosk.screen.rows] == ["03:00"]  # 2027-01-15T08:00Z, EST


def test_a_bad_display_time_zone_stops_the_ui_with_its_name() -> None:
    from kiosk.ui.settings import UiSettings

    with pytest.raises(ValueError, match=r"'Asia/Tokio' is not a known IANA time zone"):
        UiSettings(pin_hash=PIN_HASH, time_zone="Asia/Tokio")


def test_each_held_sale_says_why_it_was_held_in_both_languages() -> None:
    """The journal's held reason in words the attendant can act on; an unknown code is shown
    as it is rather than a made-up explanation."""
    from kiosk.ui.i18n import Strings, held_why_key

    reasons = {
        "vend_failed": ("Goods not handed out", "商品を出せませんでした"),
        "vend_interrupted": ("Goods not handed out", "商品を出せませんでした"),
        "paid_too_late": ("Paid late (timeout, restart)", "時間切れ・再起動後の支払い"),
        "paid_after_restart": ("Paid late (timeout, restart)", "時間切れ・再起動後の支払い"),
        "anomaly": ("PayPay's answer did not match", "PayPayの回答が記録と不一致"),
        "grace_unresolved": ("PayPay's answer unknown", "PayPayの結果を確認できず"),
        "already_paid_unconfirmed": ("PayPay's answer unknown", "PayPayの結果を確認できず"),
        "refund_refused": ("PayPay refused our request", "PayPayが処理を拒否"),
        "engine_error: KeyError": ("Kiosk error", "キオスクの内部エラー"),
    }
    for reason, (en, ja) in reasons.items():
        key = held_why_key(reason)
        assert key is not None, reason
        assert (Strings("en")(key), Strings("ja")(key)) == (en, ja), reason
    assert held_why_key("something_new") is None and held_why_key(None) is None
    held = [Held("kiosk-h-0001", 420, "Caffè latte", 1_800_000_000.0, "paid_too_late")]
    kiosk = Kiosk(ScriptedBackend(held=held))
    _menu(kiosk)
    kiosk.tap("held_sales")
    assert isinstance(kiosk.screen, HeldSalesView)
    assert [r.reason for r in kiosk.screen.rows] == ["paid_too_late"]


def test_a_refunded_sale_reads_refunded_in_the_list() -> None:
    """The journal keeps a refunded sale SUCCEEDED with its refunds beside it; the attendant's
    list must not go on saying "Paid" after a full refund (found by QA), and says a partial one."""
    from kiosk.domain import SaleRecord
    from kiosk.ui.attendant import sale_row
    from kiosk.ui.i18n import Strings

    def status(refundable: int, refunded: int) -> str:
        row = sale_row(
            SaleRecord("kiosk-1-x", 150, "SUCCEEDED", 1_800_000_000.0, refundable, "", refunded)
        )
        return Strings("en").status(row.status)

    assert status(150, 0) == "Paid"
    assert status(0, 150) == "Refunded"
    assert status(100, 50) == "Part refunded"


def test_the_attendants_language_never_reaches_the_next_customer() -> None:
    kiosk = Kiosk(default_language="ja")
    _menu(kiosk)
    kiosk.tap("language")  # the attendant reads the menu in English
    assert kiosk.app.controller.language == "en"
    kiosk.tap("close")
    assert kiosk.app.controller.language == "ja"  # the attract screen speaks the configured one
    kiosk.tap("language")  # a customer switches ...
    _menu(kiosk)
    kiosk.tap("language")
    kiosk.tap("close")
    assert kiosk.app.controller.language == "en"  # ... and keeps their choice after the menu


def test_held_rows_say_what_giving_back_does_and_an_unpaid_one_is_not_handed_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    held = [
        Held("kiosk-h-auth", 700, "Tea", 1_800_000_000.0, "revert_refused", "release"),
        Held("kiosk-h-unpaid", 300, "Water", 1_800_000_060.0, "grace_unresolved", "check"),
    ]
    backend = ScriptedBackend(held=held)
    kiosk = Kiosk(backend)
    _menu(kiosk)
    with caplog.at_level(logging.INFO):
        kiosk.tap("held_sales")
        assert isinstance(kiosk.screen, HeldSalesView)
        assert [r.give_back for r in kiosk.screen.rows] == ["release", "check"]
        offered = {(h.action, h.arg) for h in kiosk.app.hits}
        assert ("held_out", "kiosk-h-auth") in offered  # paid (authorised): can be handed out
        assert ("held_out", "kiosk-h-unpaid") not in offered  # nothing paid, nothing to hand
        assert ("held_refund", "kiosk-h-unpaid") in offered
        flow = kiosk.app.controller._attendant
        assert flow.act(Action.HELD_OUT, "kiosk-h-unpaid", 0.0)  # refused, with the reason
        kiosk.turn()
        assert isinstance(kiosk.screen, HeldSalesView)
        assert kiosk.screen.message == "Not paid: there is nothing to hand out"
        assert not any(c[0] == "hand_out_held" for c in backend.calls)

        kiosk.tap("held_refund", "kiosk-h-auth")
        assert isinstance(kiosk.screen, ConfirmView)
        assert kiosk.screen.question == (
            "Release the ¥700 authorisation? The customer will not be charged"
        )
        kiosk.tap("held_refund_yes")
        assert backend.calls[-1] == ("give_back_held", "kiosk-h-auth", "release")
        assert isinstance(kiosk.screen, HeldSalesView)
        assert kiosk.screen.message == "Releasing the authorisation at PayPay"

        kiosk.tap("held_refund", "kiosk-h-unpaid")
        assert isinstance(kiosk.screen, ConfirmView)
        assert "Check the ¥300 sale with PayPay again" in kiosk.screen.question
        kiosk.tap("held_refund_yes")
        assert backend.calls[-1] == ("give_back_held", "kiosk-h-unpaid", "check")
        assert isinstance(kiosk.screen, HeldSalesView) and kiosk.screen.rows == ()
        assert kiosk.screen.message == "Checking with PayPay"
    assert "attendant action=release_held merchant_payment_id=kiosk-h-auth" in caplog.text
    assert "attendant action=check_held merchant_payment_id=kiosk-h-unpaid" in caplog.text
    assert not any(c[0] == "refund" for c in backend.calls)


def test_a_give_back_the_engine_refuses_keeps_the_row_and_says_why() -> None:
    backend = ScriptedBackend(held=[Held("kiosk-h-gone", 500, "Tea", 0.0, "anomaly", "check")])
    kiosk = Kiosk(backend)
    _menu(kiosk)
    kiosk.tap("held_sales")
    backend.held = []  # settled meanwhile (e.g. by `kiosk refund`): the engine says so
    kiosk.tap("held_refund", "kiosk-h-gone")
    kiosk.tap("held_refund_yes")
    assert isinstance(kiosk.screen, HeldSalesView)
    assert kiosk.screen.message == "Error: kiosk-h-gone is not held"
    assert [r.merchant_payment_id for r in kiosk.screen.rows] == ["kiosk-h-gone"]


def test_held_sales_beyond_one_screen_are_paged() -> None:
    held = [
        Held(f"kiosk-h-{n:04d}", 100 + n, "Tea", 1_800_000_000.0 + 60 * n, "anomaly", "check")
        for n in range(5)
    ]
    backend = ScriptedBackend(held=held)
    kiosk = Kiosk(backend)
    _menu(kiosk)
    kiosk.tap("held_sales")
    shown = {h.arg for h in kiosk.app.hits if h.action == "held_refund"}
    assert 0 < len(shown) < 5 and "kiosk-h-0004" not in shown
    assert not any(h.action == "page_prev" for h in kiosk.app.hits)  # on the first page
    seen = set(shown)
    while any(h.action == "page_next" for h in kiosk.app.hits):
        kiosk.tap("page_next")
        seen |= {h.arg for h in kiosk.app.hits if h.action == "held_refund"}
    assert seen == {h.merchant_payment_id for h in held}  # every held sale can be reached
    kiosk.tap("held_refund", "kiosk-h-0004")
    kiosk.tap("held_refund_yes")
    assert backend.calls[-1] == ("give_back_held", "kiosk-h-0004", "check")
    kiosk.tap("page_prev")
    assert isinstance(kiosk.screen, HeldSalesView) and len(kiosk.screen.rows) == 4
