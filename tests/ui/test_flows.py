"""The customer's and the attendant's flows as machines: their tables, illegal actions rejected
without a change, and no way to write their state from outside."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from kiosk.domain import Item, Phase
from kiosk.ui import attendant, customer
from kiosk.ui.actions import Action
from kiosk.ui.attendant import AttendantFlow, Place
from kiosk.ui.controller import Controller
from kiosk.ui.customer import CustomerFlow, Screen
from kiosk.ui.pin_gate import PinGate
from kiosk.ui.settings import UiSettings
from tests.ui.fakes import PIN_HASH, Held, Record, ScriptedBackend

COFFEE = Item("coffee", "コーヒー", "Coffee", 300)
NOW = 1000.0


def _customer(catalogue: tuple[Item, ...] = (COFFEE,)) -> tuple[CustomerFlow, list[object]]:
    begun: list[object] = []
    flow = CustomerFlow(UiSettings(pin_hash=PIN_HASH, catalogue=catalogue), begun.append)
    return flow, begun


def _attendant(backend: ScriptedBackend | None = None) -> AttendantFlow:
    flow = AttendantFlow(backend or ScriptedBackend(), PinGate(PIN_HASH))
    flow.open_pin_pad("test")
    flow.pin_checked()
    assert flow.place is Place.MENU
    return flow


def test_every_open_place_can_be_closed_and_every_place_is_reachable() -> None:
    places = {place for place, _ in attendant.TABLE}
    assert places == set(Place) - {Place.CLOSED}
    assert all((place, Action.CLOSE) in attendant.TABLE for place in places)
    assert {screen for screen, _ in customer.TABLE} == set(Screen)


@pytest.mark.parametrize("action", list(Action))
def test_the_customer_flow_rejects_what_its_screen_does_not_offer(action: Action) -> None:
    for screen in Screen:
        flow, begun = _customer()
        flow.screen = screen
        if (screen, action) in customer.TABLE:
            continue
        before = copy.copy(vars(flow))
        assert flow.act(action, "coffee") is False
        assert vars(flow) == before and begun == []


def test_the_customer_flow_goes_attract_menu_sale_and_back() -> None:
    flow, begun = _customer()
    assert flow.act(Action.START, "") and flow.screen is Screen.MENU
    assert flow.act(Action.PAGE_NEXT, "") and flow.menu_page == 1
    assert flow.act(Action.ITEM, "coffee") and len(begun) == 1
    assert flow.act(Action.BACK, "") and (flow.screen, flow.menu_page) == (Screen.ATTRACT, 0)
    keypad, _ = _customer(catalogue=())
    assert keypad.act(Action.START, "") and keypad.screen is Screen.KEYPAD
    assert not keypad.act(Action.ITEM, "coffee")  # no menu on a keypad kiosk


@pytest.mark.parametrize("action", list(Action))
def test_the_attendant_flow_rejects_what_its_place_does_not_offer(action: Action) -> None:
    backend = ScriptedBackend(
        records=[Record("K-1", 500, "SUCCEEDED", NOW, 500)], held=[Held("K-2", 600, "Tea", NOW)]
    )
    for place in Place:
        if (place, action) in attendant.TABLE:
            continue
        flow = _attendant(backend)
        flow.place = place
        before = dataclasses.replace(flow)
        calls = list(backend.calls)
        assert flow.act(action, "K-1", NOW) is False
        assert flow == before and backend.calls == calls


def test_a_refund_happens_only_on_the_yes_of_its_own_question() -> None:
    backend = ScriptedBackend(records=[Record("K-1", 500, "SUCCEEDED", NOW, 500)])
    flow = _attendant(backend)
    flow.act(Action.RECENT_SALES, "", NOW)
    flow.act(Action.REFUND, "K-1", NOW)
    flow.act(Action.REFUND_FULL, "", NOW)
    assert flow.place is Place.CONFIRM
    for wrong in (Action.EXIT_YES, Action.HELD_OUT_YES, Action.HELD_REFUND_YES):
        flow.act(wrong, "", NOW)
        assert flow.place is Place.CONFIRM and not flow.exit_requested
    assert [c for c in backend.calls if c[0] == "refund"] == []
    flow.act(Action.CONFIRM_NO, "", NOW)
    assert flow.place is Place.REFUND  # "no" goes back to where the question came from
    flow.act(Action.REFUND_FULL, "", NOW)
    flow.act(Action.REFUND_YES, "", NOW)
    assert [c for c in backend.calls if c[0] == "refund"] == [("refund", "K-1", None)]
    assert flow.place is Place.SALES


def test_the_controller_rejects_unknown_and_misplaced_actions() -> None:
    backend = ScriptedBackend()
    controller = Controller(backend, UiSettings(pin_hash=PIN_HASH, catalogue=(COFFEE,)), NOW)
    assert controller.act("no-such-action", "", NOW) is False
    assert controller.act("exit_yes", "", NOW) is False  # the menu is not open
    assert controller.act("start", "", NOW) and controller.act("item", "coffee", NOW)
    backend.show(Phase.SUCCEEDED)
    assert controller.act("cancel", "", NOW) is False  # too late to cancel a paid sale
    assert [c[0] for c in backend.calls] == ["begin_sale"]
    assert controller.act("done", "", NOW) is True


def test_nothing_outside_writes_the_controllers_state() -> None:
    controller = Controller(ScriptedBackend(), UiSettings(pin_hash=PIN_HASH), NOW)
    assert not hasattr(controller, "state")
    for answer in ("language", "message", "attendant_open", "pin_pad_open", "exit_requested"):
        with pytest.raises(AttributeError):
            setattr(controller, answer, None)
