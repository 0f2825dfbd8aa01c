"""`render(surface, frame, theme, strings) -> hits`: the whole screen as a pure function of a
Frame (the shared chrome plus one screen's view). The loop redraws only when the Frame changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pygame

from kiosk.domain import Totals
from kiosk.ui.i18n import Strings
from kiosk.ui.screens import attendant, customer, held, sale, service
from kiosk.ui.theme import Theme
from kiosk.ui.views import (
    AttendantMenuView,
    AttractView,
    Chrome,
    ConfirmView,
    HeldSalesView,
    KeypadView,
    MenuView,
    OutOfServiceView,
    PinView,
    ReconcileView,
    RefundView,
    SaleScreenView,
    SalesListView,
    ScreenView,
    StartingView,
)
from kiosk.ui.widgets import Hit, background, banners

Screen = Callable[[pygame.Surface, Any, Chrome, Theme, Strings], list[Hit]]

SCREENS: dict[type, Screen] = {
    AttractView: customer.attract,
    StartingView: customer.starting,
    MenuView: customer.menu,
    KeypadView: customer.keypad_screen,
    SaleScreenView: sale.sale_screen,
    OutOfServiceView: service.out_of_service,
    PinView: attendant.pin_pad,
    AttendantMenuView: attendant.attendant_menu,
    SalesListView: attendant.sales_list,
    RefundView: attendant.refund,
    HeldSalesView: held.held_sales,
    ConfirmView: attendant.confirm,
    Totals: attendant.totals,
    ReconcileView: attendant.reconcile,
}


@dataclass(frozen=True)
class Frame:
    chrome: Chrome
    screen: ScreenView


def render(surface: pygame.Surface, frame: Frame, theme: Theme, strings: Strings) -> list[Hit]:
    """Draw the frame; return its touch targets, the first match winning."""
    background(surface, theme, frame.chrome, strings)
    hits = SCREENS[type(frame.screen)](surface, frame.screen, frame.chrome, theme, strings)
    banners(surface, theme, frame.chrome, strings)
    return hits


def hit_test(hits: list[Hit], pos: tuple[int, int]) -> Hit | None:
    return next((hit for hit in hits if hit.rect.collidepoint(pos)), None)
