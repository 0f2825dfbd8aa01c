"""The QR on the rendered screen decodes (zbar) back to the order's URL, at every size."""

from __future__ import annotations

import string

import pygame
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from pyzbar.pyzbar import decode

from kiosk.ui.i18n import Strings
from kiosk.ui.qr import QUIET_ZONE_MODULES, QrCache, QrModules, matrix_surface, qr_modules
from kiosk.ui.screens import render
from kiosk.ui.theme import Theme
from tests.ui.scenes import QR_URL, frame
from tests.ui.snapshot import to_image

SIZES = [(800, 480), (1024, 600), (1280, 800), (1920, 1080), (1080, 1920)]


@pytest.mark.parametrize("size", SIZES)
def test_the_qr_on_screen_decodes_to_the_order_url(size: tuple[int, int]) -> None:
    surface = pygame.Surface(size)
    strings = Strings("ja")
    render(surface, frame("qr", strings), Theme(size, (255, 0, 51)), strings)
    found = decode(to_image(surface).convert("L"))
    assert [r.data.decode() for r in found if r.type == "QRCODE"] == [QR_URL]


def test_the_qr_is_large_with_its_quiet_zone() -> None:
    screen = pygame.Surface((800, 480))
    screen.fill((255, 0, 51))
    drawn = QrCache().draw(screen, QR_URL, 300, (400, 240))
    assert drawn.center == (400, 240)
    code = screen.subsurface(drawn)
    side = qr_modules(QR_URL).side
    module = code.get_width() // side
    assert code.get_width() == module * side and code.get_width() > 250
    # the quiet zone: the outer 4 modules are white all round
    for i in range(QUIET_ZONE_MODULES * module):
        for j in range(0, code.get_width(), module):
            for x, y in (
                (i, j),
                (j, i),
                (code.get_width() - 1 - i, j),
                (j, code.get_width() - 1 - i),
            ):
                assert code.get_at((x, y))[:3] == (255, 255, 255)


def test_the_qr_is_built_once_per_url_and_drawn_as_built() -> None:
    cache = QrCache()
    first = cache.prepare("https://example.test/a")
    assert cache.prepare("https://example.test/a") is first
    assert cache.prepare("https://example.test/b") is not first
    screen = pygame.Surface((600, 600))
    drawn = cache.draw(screen, "https://example.test/b", 500, (300, 300))
    side = qr_modules("https://example.test/b").side
    assert drawn.width == drawn.height == side * (500 // side)
    found = decode(to_image(screen).convert("L"))
    assert [r.data.decode() for r in found] == ["https://example.test/b"]


def test_matrix_surface_is_black_on_white() -> None:
    small = matrix_surface(QrModules(2, bytes([1, 0, 0, 1])))
    assert small.get_at((0, 0))[:3] == (0, 0, 0)
    assert small.get_at((1, 0))[:3] == (255, 255, 255)


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet=string.ascii_letters + string.digits + ":/?&=._-%~", min_size=1))
def test_any_url_decodes_back(data: str) -> None:
    surface = pygame.Surface((900, 900))
    QrCache().draw(surface, data, 900, (450, 450))
    found = decode(to_image(surface).convert("L"))
    assert [r.data.decode("utf-8") for r in found if r.type == "QRCODE"] == [data]


def test_too_long_raises_naming_the_length() -> None:
    with pytest.raises(ValueError, match="2332 bytes"):
        qr_modules("x" * 2332)


@pytest.mark.parametrize("length", [20, 58, 120, 400])
def test_surface_decodes_back_at_several_versions(length: int) -> None:
    url = ("https://pay.example.test/q/" + "a1b2c3d4" * 60)[:length]
    surface = pygame.Surface((1000, 1000))
    QrCache().draw(surface, url, 1000, (500, 500))
    image = Image.frombytes("RGB", surface.get_size(), pygame.image.tobytes(surface, "RGB"))
    found = decode(image.convert("L"))
    assert [r.data.decode() for r in found if r.type == "QRCODE"] == [url]


def test_surface_colours_dark_black_light_and_quiet_zone_white() -> None:
    modules = qr_modules("https://example.test/colours")
    small = matrix_surface(modules)
    side = modules.side
    for y in range(side):
        for x in range(side):
            expected = (0, 0, 0) if modules.flat[y * side + x] else (255, 255, 255)
            assert small.get_at((x, y))[:3] == expected
            if min(x, y, side - 1 - x, side - 1 - y) < QUIET_ZONE_MODULES:
                assert expected == (255, 255, 255)
