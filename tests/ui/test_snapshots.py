"""Every screen at 800x480 and 1920x1080 (and the QR and attract screens in portrait), in both
languages, against committed PNGs. `pytest tests/ui --snapshot-update` re-records them."""

from __future__ import annotations

import pygame
import pytest

from kiosk.ui.i18n import LANGUAGES, Strings
from kiosk.ui.screens import render
from kiosk.ui.settings import Mode
from kiosk.ui.theme import Theme
from tests.ui.scenes import LANDSCAPE, PORTRAIT, PORTRAIT_SCENES, SCENES, frame
from tests.ui.snapshot import check

CASES = [
    (name, language, size)
    for name in SCENES
    for language in LANGUAGES
    for size in (*LANDSCAPE, *((PORTRAIT,) if name in PORTRAIT_SCENES else ()))
]


def _draw(name: str, language: str, size: tuple[int, int], mode: Mode) -> pygame.Surface:
    surface = pygame.Surface(size)
    strings = Strings(language)
    theme = Theme(size, (0xFF, 0x00, 0x33))
    render(surface, frame(name, strings, mode), theme, strings)
    return surface


@pytest.mark.parametrize(("name", "language", "size"), CASES)
def test_snapshot(name: str, language: str, size: tuple[int, int], snapshot_update: bool) -> None:
    surface = _draw(name, language, size, Mode.DEMO)
    check(surface, f"{name}_{language}_{size[0]}x{size[1]}", snapshot_update)


@pytest.mark.parametrize("mode", [Mode.SANDBOX, Mode.PRODUCTION])
def test_snapshot_modes(mode: Mode, snapshot_update: bool) -> None:
    surface = _draw("qr", "en", (1280, 800), mode)
    check(surface, f"qr_en_1280x800_{mode.value}", snapshot_update)
