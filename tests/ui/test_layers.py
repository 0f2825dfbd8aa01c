"""The QR screen drawn from its idle-time static layer equals a full render, byte for byte,
frame after frame (creating, the code, the countdown), with only the parts that changed
redrawn; the loop prepares the layer while idle, uses it from the tap on, and builds the code
it is told of before the sale is journaled without showing it."""

from __future__ import annotations

import pygame
import pytest

from kiosk.domain import Phase, SaleView
from kiosk.ui.controller import CREATING_SHOWN_AFTER_S
from kiosk.ui.i18n import Strings
from kiosk.ui.layers import LayerCache, idle_frames
from kiosk.ui.screens import Frame, render
from kiosk.ui.settings import Mode
from kiosk.ui.theme import Theme
from kiosk.ui.views import QR_PENDING, Chrome, MenuView, SaleScreenView
from tests.ui.scenes import ITEMS, QR_URL
from tests.ui.test_app import Kiosk

ACCENT = (255, 0, 51)


def qr_frame(mode: Mode, language: str, amount_yen: int, seconds_left: int) -> Frame:
    pay_url = QR_URL if mode is Mode.DEMO else None
    chrome = Chrome(language, mode, "Brand", ACCENT, pay_url)
    sale = SaleView("K-1", Phase.AWAITING_PAYMENT, amount_yen, "Tea", QR_URL, seconds_left, 120)
    return Frame(chrome, SaleScreenView(sale))


def creating_frame(mode: Mode, language: str, amount_yen: int, spin: int) -> Frame:
    pay_url = QR_PENDING if mode is Mode.DEMO else None
    chrome = Chrome(language, mode, "Brand", ACCENT, pay_url)
    sale = SaleView("K-1", Phase.CREATING, amount_yen, "Tea")
    return Frame(chrome, SaleScreenView(sale, spin))


def a_sale(mode: Mode, language: str, amount_yen: int) -> list[Frame]:
    """The frames one sale shows on the QR screen, in order."""
    creating = [creating_frame(mode, language, amount_yen, spin) for spin in (0, 1, 2)]
    paying = [qr_frame(mode, language, amount_yen, left) for left in (120, 119, 11, 10, 0)]
    return creating + paying


@pytest.mark.parametrize("size", [(800, 480), (1920, 1080), (1080, 1920)])
@pytest.mark.parametrize("mode", list(Mode))
@pytest.mark.parametrize("language", ["ja", "en"])
def test_layer_plus_patches_equal_a_full_render_frame_after_frame(
    size: tuple[int, int], mode: Mode, language: str
) -> None:
    theme, strings = Theme(size, ACCENT), Strings(language)
    layers = LayerCache()
    chrome = Chrome(language, mode, "Brand", ACCENT)
    for idle in idle_frames(chrome, mode is Mode.DEMO):
        layers.prepare(idle, size, theme, strings)
    fast = pygame.Surface(size)
    for amount_yen in (350, 12_800, 5, 980_000):
        frames = a_sale(mode, language, amount_yen)
        for index, frame in enumerate(frames):
            before = fast.copy()
            full = pygame.Surface(size)
            hits = render(full, frame, theme, strings)
            drawn = layers.draw(fast, frame, theme, strings)
            assert drawn is not None, frame
            fast_hits, changed = drawn
            assert fast_hits == hits
            assert pygame.image.tobytes(fast, "RGB") == pygame.image.tobytes(full, "RGB")
            for rect in changed:  # outside the rects it reports, nothing moved
                before.blit(fast, rect, rect)
            assert pygame.image.tobytes(before, "RGB") == pygame.image.tobytes(fast, "RGB")
            area = sum(w * h for _, _, w, h in {tuple(r) for r in changed})
            if index:  # after the first frame of a sale only the changing parts are drawn
                assert fast.get_rect() not in changed
                assert area < size[0] * size[1]
            if index > len(frames) - 4:  # a countdown second: the bar and its words, no more
                assert 0 < area < size[0] * size[1] // 20
    assert layers.patched_only > 0


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


def test_the_loop_draws_the_sale_from_the_layer_and_then_only_what_changed() -> None:
    kiosk = Kiosk()
    assert len(kiosk.app.layers.layers) == 2  # drawn on the idle attract screen
    prepared = list(kiosk.app.layers.layers.values())
    kiosk.tap("start")
    kiosk.tap("item", ITEMS[1].sku)
    assert list(kiosk.app.layers.layers.values()) == prepared  # same language and mode: once
    assert isinstance(kiosk.screen, MenuView)  # for a moment: a QR usually comes within it
    kiosk.clock.now += CREATING_SHOWN_AFTER_S + 0.001
    kiosk.turn()
    assert isinstance(kiosk.screen, SaleScreenView)
    assert kiosk.screen.sale.phase is Phase.CREATING  # from the layer, a spinner for the code
    assert kiosk.app.layers.used == 1
    kiosk.backend.show(Phase.AWAITING_PAYMENT, qr_url=QR_URL, seconds_left=120, seconds_total=120)
    kiosk.turn()
    assert kiosk.app.layers.patched_only >= 1  # only the changing parts were drawn
    full = pygame.Surface(kiosk.app.logical)
    assert kiosk.app.frame is not None
    render(full, kiosk.app.frame, kiosk.app.theme, kiosk.app.controller.strings)
    shown = pygame.image.tobytes(kiosk.app.window, "RGB")
    assert shown == pygame.image.tobytes(full, "RGB")
