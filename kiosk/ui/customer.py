"""The customer's flow before a sale, as a small machine: attract -> menu or keypad -> a sale.

Why a table: which tap does what on which screen is data (`TABLE`), readable at a glance and
checked whole by a test; a tap the current screen does not offer is rejected and changes
nothing. Once a sale is on screen the sale machine decides; the customer can only cancel it
while it is payable, or dismiss its result (`SALE_ACTIONS`).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from kiosk.domain import FINAL_PHASES, Order, Phase
from kiosk.ui.actions import KEYPAD_EDITS, Action, edit_digits
from kiosk.ui.settings import UiSettings
from kiosk.ui.views import AttractView, KeypadView, MenuView, ScreenView


class Screen(StrEnum):
    ATTRACT = "attract"
    MENU = "menu"
    KEYPAD = "keypad"


# what a customer may do to the sale on screen, by its phase
SALE_ACTIONS: dict[Action, frozenset[Phase]] = {
    Action.CANCEL: frozenset({Phase.CREATING, Phase.AWAITING_PAYMENT}),
    Action.DONE: FINAL_PHASES,
}

Begin = Callable[[Order], None]


class CustomerFlow:
    """The screens before a sale. `begin` starts a sale with the backend."""

    def __init__(self, settings: UiSettings, begin: Begin) -> None:
        self.settings, self._begin = settings, begin
        self.screen = Screen.ATTRACT
        self.menu_page = 0
        self.digits = ""

    def view(self, drift: int) -> ScreenView:
        if self.screen is Screen.MENU:
            return MenuView(self.settings.catalogue, self.menu_page)
        if self.screen is Screen.KEYPAD:
            return KeypadView(self.digits, self.settings.max_amount_yen)
        if self.settings.mdb_mode == "selection":  # the machine's selection starts the sale
            return AttractView(drift, "choose_on_machine")
        if self.settings.mdb_mode == "credit":
            return AttractView(drift, "credit_start", self.settings.mdb_credit_yen)
        return AttractView(drift=drift)

    def accepts(self, action: Action) -> bool:
        return (self.screen, action) in TABLE

    def act(self, action: Action, arg: str) -> bool:
        """Do what `action` means on this screen; False (and no change) if it means nothing."""
        handler = TABLE.get((self.screen, action))
        if handler is None:
            return False
        handler(self, action, arg)
        return True

    def reset(self) -> None:
        """Back to attract, with nothing keyed: the next customer starts fresh."""
        self.screen, self.digits, self.menu_page = Screen.ATTRACT, "", 0

    # ---- transitions ------------------------------------------------------------------
    def _start(self, action: Action, arg: str) -> None:
        if self.settings.mdb_mode == "credit":  # pay the credit, then choose on the machine
            self._begin(Order.of_amount(self.settings.mdb_credit_yen, "Vending credit"))
        elif self.settings.mdb_mode != "selection":  # selection first: the machine starts it
            self.screen = Screen.KEYPAD if self.settings.keypad_mode else Screen.MENU

    def _back(self, action: Action, arg: str) -> None:
        self.reset()

    def _page(self, action: Action, arg: str) -> None:
        self.menu_page = max(0, self.menu_page + (1 if action is Action.PAGE_NEXT else -1))

    def _item(self, action: Action, arg: str) -> None:
        item = next((i for i in self.settings.catalogue if i.sku == arg), None)
        if item is not None:
            self._begin(Order.of_items(((item, 1),)))

    def _edit(self, action: Action, arg: str) -> None:
        width = len(str(self.settings.max_amount_yen))
        self.digits = edit_digits(self.digits, action, arg, width)

    def _confirm(self, action: Action, arg: str) -> None:
        if self.digits and 1 <= int(self.digits) <= self.settings.max_amount_yen:
            self._begin(Order.of_amount(int(self.digits)))


Handler = Callable[[CustomerFlow, Action, str], None]

TABLE: dict[tuple[Screen, Action], Handler] = {
    (Screen.ATTRACT, Action.START): CustomerFlow._start,
    (Screen.MENU, Action.BACK): CustomerFlow._back,
    (Screen.MENU, Action.PAGE_PREV): CustomerFlow._page,
    (Screen.MENU, Action.PAGE_NEXT): CustomerFlow._page,
    (Screen.MENU, Action.ITEM): CustomerFlow._item,
    (Screen.KEYPAD, Action.BACK): CustomerFlow._back,
    (Screen.KEYPAD, Action.CONFIRM): CustomerFlow._confirm,
    **{(Screen.KEYPAD, edit): CustomerFlow._edit for edit in KEYPAD_EDITS},
}
