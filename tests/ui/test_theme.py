"""Scaling, text fitting and wrapping, and catalogue pictures."""

from __future__ import annotations

from pathlib import Path

import pygame

from kiosk.domain import Item
from kiosk.ui.i18n import Strings
from kiosk.ui.screens import render
from kiosk.ui.screens.customer import menu_grid
from kiosk.ui.theme import Theme
from tests.ui.scenes import frame


def test_the_unit_scales_with_the_short_and_long_sides() -> None:
    assert Theme((800, 480), (0, 0, 0)).u == 1.0
    assert Theme((1920, 1080), (0, 0, 0)).u == 2.25
    portrait = Theme((1080, 1920), (0, 0, 0))
    assert portrait.portrait and portrait.u == 2.25
    assert menu_grid(portrait) == (2, 3) and menu_grid(Theme((800, 480), (0, 0, 0))) == (3, 2)


def test_fit_shrinks_long_text_and_wrap_breaks_both_scripts() -> None:
    theme = Theme((800, 480), (0, 0, 0))
    assert theme.fit("short", 30, 400) == 30
    assert theme.fit("a much longer line of text than fits", 30, 200) < 30
    english = theme.wrap("You have not been charged. Please try again.", 22, 200)
    assert len(english) > 1 and all(theme.font(22).size(line)[0] <= 200 for line in english)
    japanese = theme.wrap("商品をお渡しできなかったため、全額をご返金しました。", 22, 150)
    assert len(japanese) > 1 and "".join(japanese).startswith("商品")
    assert not any(line.startswith(("。", "、")) for line in japanese)


def test_catalogue_pictures_load_scaled_and_a_missing_one_is_skipped(tmp_path: Path) -> None:
    picture = pygame.Surface((400, 200))
    picture.fill((10, 120, 200))
    path = tmp_path / "tea.png"
    pygame.image.save(picture, str(path))
    theme = Theme((800, 480), (255, 0, 51))
    loaded = theme.image(str(path), (100, 100))
    assert loaded is not None and loaded.get_size() == (100, 50)
    assert theme.image("images/nowhere.png", (100, 100)) is None
    strings = Strings("en")
    items = (Item("tea", "お茶", "Tea", 130, image=str(path)), Item("x", "水", "Water", 100))
    surface = pygame.Surface((800, 480))
    base = frame("menu", strings)
    hits = render(surface, type(base)(base.chrome, type(base.screen)(items)), theme, strings)
    tile = next(h.rect for h in hits if h.arg == "tea")
    blue = [
        (x, y)
        for x in range(tile.left, tile.right, 4)
        for y in range(tile.top, tile.bottom, 4)
        if all(
            abs(a - b) <= 4 for a, b in zip(surface.get_at((x, y))[:3], (10, 120, 200), strict=True)
        )
    ]
    assert blue  # the picture is drawn in its tile
