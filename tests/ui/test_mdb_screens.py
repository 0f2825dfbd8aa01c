"""The screens in MDB mode: selection first says "choose on the machine" and a tap starts
nothing; credit first starts a sale for the credit; the attendant menu shows the link."""

from __future__ import annotations

import pygame

from kiosk.ui.views import AttendantMenuView, AttractView
from tests.ui.fakes import PIN
from tests.ui.test_app import Kiosk
from tests.ui.test_attendant import _enter


def test_selection_first_asks_to_choose_on_the_machine_and_a_tap_starts_nothing() -> None:
    kiosk = Kiosk(mdb_mode="selection")
    screen = kiosk.screen
    assert isinstance(screen, AttractView) and screen.prompt == "choose_on_machine"
    kiosk.tap("start")
    assert kiosk.backend.calls == [] and isinstance(kiosk.screen, AttractView)


def test_credit_first_a_tap_pays_the_credit() -> None:
    kiosk = Kiosk(mdb_mode="credit", mdb_credit_yen=500)
    screen = kiosk.screen
    assert isinstance(screen, AttractView)
    assert (screen.prompt, screen.amount_yen) == ("credit_start", 500)
    kiosk.tap("start")
    (name, order), *_ = kiosk.backend.calls
    assert name == "begin_sale" and (order.amount_yen, order.description) == (500, "Vending credit")


def test_the_attendant_menu_shows_the_vending_machine_link_and_last_result() -> None:
    status = ("ENABLED", ("vended item 5: mdb: vended", "older"))
    kiosk = Kiosk(mdb_mode="selection", hardware_status=lambda: status)
    kiosk.key(pygame.K_F12)
    _enter(kiosk, PIN)
    screen = kiosk.screen
    assert isinstance(screen, AttendantMenuView)
    assert screen.hardware == "Vending machine: ENABLED · vended item 5: mdb: vended"
