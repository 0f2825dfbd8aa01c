"""The QR screen drawn from its idle-time static layer equals a full render, byte for byte;
the loop prepares the layer while idle, uses it for the QR, and builds the code it is told of
before the sale is journaled without showing it."""

from __future__ import annotations

import pygame
import pytest

from kiosk.domain import Phase, SaleView
from kiosk.ui.i18n import Strings
from kiosk.ui.layers import LayerCache, idle_frames
from kiosk.ui.screens import Frame, render
from kiosk.ui.settings import Mode
from kiosk.ui.theme import Theme
from kiosk.ui.views import Chrome, SaleScreenView
from tests.ui.scenes import ITEMS, QR_URL
from tests.ui.test_app import Kiosk

ACCENT = (255, 0, 51)


def qr_frame(mode: Mode, language: str, amount_yen: int, seconds_left: int) -> Frame:
    pay_url = QR_URL if mode is Mode.DEMO else None
    chrome = Chrome(language, mode, "Brand", ACCENT, pay_url)
    sale = SaleView("K-1", Phase.AWAITING_PAYMENT, amount_yen, "Tea", QR_URL, seconds_left, 120)
    return Frame(chrome, SaleScreenView(sale))


@pytest.mark.parametrize("size", [(800, 480), (1920, 1080), (1080, 1920)])
@pytest.mark.parametrize("mode", list(Mode))
@pytest.mark.parametrize("language", ["ja", "en"])
def test_layer_plus_patch_equals_a_full_render(
    size: tuple[int, int], mode: Mode, language: str
) -> None:
    theme, strings = Theme(size, ACCENT), Strings(language)
    layers = LayerCache()
    chrome = Chrome(language, mode, "Brand", ACCENT)
    for idle in idle_frames(chrome, mode is Mode.DEMO):
        layers.prepare(idle, size, theme, strings)
    for amount_yen, seconds_left in ((350, 120), (12_800, 7), (5, 0), (980_000, 60)):
        frame = qr_frame(mode, language, amount_yen, seconds_left)
        full, fast = pygame.Surface(size), pygame.Surface(size)
        hits = render(full, frame, theme, strings)
        fast_hits = layers.draw(fast, frame, theme, strings)
        assert fast_hits == hits
        assert pygame.image.tobytes(fast, "RGB") == pygame.image.tobytes(full, "RGB")


def test_a_frame_the_layer_does_not_fit_is_not_drawn_from_it() -> None:
    size = (800, 480)
    theme, strings = Theme(size, ACCENT), Strings("en")
    layers = LayerCache()
    for idle in idle_frames(Chrome("en", Mode.DEMO, "Brand", ACCENT), True):
        layers.prepare(idle, size, theme, strings)
    surface = pygame.Surface(size)
    other_language = qr_frame(Mode.DEMO, "ja", 350, 60)
    assert layers.draw(surface, other_language, theme, strings) is None
    shrunk_amount = qr_frame(Mode.DEMO, "en", 10**30, 60)  # so long its text is made smaller
    assert layers.draw(surface, shrunk_amount, theme, strings) is None


def test_the_loop_prepares_the_layer_idle_and_builds_a_foreseen_qr_without_showing_it() -> None:
    kiosk = Kiosk()
    assert len(kiosk.app.layers.layers) == 2  # drawn on the idle attract screen
    prepared = list(kiosk.app.layers.layers.values())
    kiosk.tap("start")
    kiosk.tap("item", ITEMS[1].sku)
    assert list(kiosk.app.layers.layers.values()) == prepared  # same language and mode: once
    kiosk.backend.upcoming_url = QR_URL  # PayPay answered; the engine is journaling it
    kiosk.step()
    assert ("wait_for_news",) in kiosk.backend.calls  # it waited on the engine, not a sleep
    assert not isinstance(kiosk.screen, SaleScreenView) or kiosk.screen.sale.qr_url is None
    assert kiosk.app.theme.qr._url == QR_URL  # the code is built, not shown
    kiosk.backend.show(Phase.AWAITING_PAYMENT, qr_url=QR_URL, seconds_left=120, seconds_total=120)
    kiosk.step()
    assert kiosk.app.layers.used == 1  # the QR frame came from the layer
    full = pygame.Surface(kiosk.app.logical)
    assert kiosk.app.frame is not None
    render(full, kiosk.app.frame, kiosk.app.theme, kiosk.app.controller.strings)
    shown = pygame.image.tobytes(kiosk.app.window, "RGB")
    assert shown == pygame.image.tobytes(full, "RGB")
