"""Every screen at every supported size: touch targets big enough, on screen, not overlapping."""

from __future__ import annotations

import pygame
import pytest

from kiosk.ui.i18n import LANGUAGES, Strings
from kiosk.ui.screens import Frame, hit_test, render
from kiosk.ui.theme import MIN_TOUCH_PX, Theme
from tests.ui.scenes import SCENES, frame

SIZES = [(800, 480), (1024, 600), (1280, 800), (1920, 1080), (1080, 1920)]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_touch_targets_are_large_visible_and_apart(size: tuple[int, int], language: str) -> None:
    strings = Strings(language)
    theme = Theme(size, (255, 0, 51))
    minimum = int(MIN_TOUCH_PX * theme.u) - 1
    for name in SCENES:
        surface = pygame.Surface(size)
        hits = render(surface, frame(name, strings), theme, strings)
        assert hits or name == "starting", name
        screen = surface.get_rect()
        for hit in hits:
            assert screen.contains(hit.rect), (name, hit)
            assert min(hit.rect.size) >= minimum, (name, hit)
        # buttons never overlap (the attract screen's full-screen "start" is meant to lie under
        # the language toggle, which comes first and so wins)
        small = [h for h in hits if h.action != "start"]
        for i, a in enumerate(small):
            for b in small[i + 1 :]:
                assert not a.rect.colliderect(b.rect), (name, a, b)


def test_hit_test_returns_the_first_match() -> None:
    strings = Strings("en")
    theme = Theme((800, 480), (255, 0, 51))
    hits = render(pygame.Surface((800, 480)), frame("attract", strings), theme, strings)
    toggle = next(h for h in hits if h.action == "language")
    assert hit_test(hits, toggle.rect.center) is toggle
    assert hit_test(hits, (400, 300)).action == "start"  # type: ignore[union-attr]


@pytest.mark.parametrize("size", SIZES)
def test_the_sales_list_message_does_not_lie_on_a_row(
    size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a refund the list says "Refund requested"; it must sit below the last row, not
    across it (found by QA at 1280x800: the line was drawn over the third row's bottom)."""
    from kiosk.ui.screens import attendant as screen
    from kiosk.ui.theme import PANEL
    from kiosk.ui.views import SalesListView
    from tests.ui.scenes import ROWS

    strings = Strings("en")
    theme = Theme(size, (255, 0, 51))
    message = strings("refund_requested")
    rows: list[pygame.Rect] = []
    texts: dict[str, pygame.Rect] = {}
    draw_rect, blit_text = pygame.draw.rect, screen.blit_text

    def spy_rect(
        surface: pygame.Surface, colour: object, rect: pygame.Rect, *a: object, **k: object
    ) -> pygame.Rect:
        if colour == PANEL:
            rows.append(pygame.Rect(rect))
        return draw_rect(surface, colour, rect, *a, **k)  # type: ignore[arg-type]

    def spy_text(*args: object, **kwargs: object) -> pygame.Rect:
        drawn = blit_text(*args, **kwargs)  # type: ignore[arg-type]
        texts[str(args[2])] = drawn
        return drawn

    monkeypatch.setattr(pygame.draw, "rect", spy_rect)
    monkeypatch.setattr(screen, "blit_text", spy_text)
    render(
        pygame.Surface(size),
        Frame(frame("sales_list", strings).chrome, SalesListView(ROWS, message=message)),
        theme,
        strings,
    )
    assert rows and message in texts
    for row in rows:
        assert not row.colliderect(texts[message]), (row, texts[message])
