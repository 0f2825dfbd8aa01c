"""The QR on the rendered screen decodes (zbar) back to the order's URL, at every size."""

from __future__ import annotations

import random

import pygame
import pytest
import qrcode
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from pyzbar.pyzbar import decode
from qrcode.constants import ERROR_CORRECT_M

from kiosk.ui import qr
from kiosk.ui.i18n import Strings
from kiosk.ui.qr import (
    MASK_PATTERN,
    QUIET_ZONE_MODULES,
    QrCache,
    QrModules,
    matrix_surface,
    qr_matrix,
    qr_modules,
)
from kiosk.ui.screens import render
from kiosk.ui.theme import Theme
from tests.ui.scenes import QR_URL, frame
from tests.ui.snapshot import to_image
from tests.ui.test_app import Kiosk

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
    matrix = qr_matrix(QR_URL)
    module = code.get_width() // len(matrix)
    assert code.get_width() == module * len(matrix) and code.get_width() > 250
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
    side = len(qr_matrix("https://example.test/b"))
    assert drawn.width == drawn.height == side * (500 // side)
    found = decode(to_image(screen).convert("L"))
    assert [r.data.decode() for r in found] == ["https://example.test/b"]


def test_matrix_surface_is_black_on_white() -> None:
    small = matrix_surface(QrModules(2, bytearray([1, 0, 0, 1])))
    assert small.get_at((0, 0))[:3] == (0, 0, 0)
    assert small.get_at((1, 0))[:3] == (255, 255, 255)


def _reference(data: bytes) -> list[list[bool]]:
    """The qrcode package with our options, forced into one byte-mode segment."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, mask_pattern=MASK_PATTERN, border=4)
    code.add_data(qrcode.util.QRData(data, mode=qrcode.util.MODE_8BIT_BYTE), optimize=0)
    code.make(fit=True)
    matrix: list[list[bool]] = code.get_matrix()
    return matrix


def _boundary_lengths() -> list[int]:
    """Byte-mode ECC M capacities of versions 1..15 and a few up to 40, and one either side."""
    capacities = [14, 26, 42, 62, 84, 106, 122, 152, 180, 213, 251, 287, 331, 362, 412]
    capacities += [1000, 1370, 2331]
    return sorted({n + d for n in capacities for d in (-1, 0, 1) if n + d <= 2331} | {0, 1})


@pytest.mark.parametrize("length", _boundary_lengths())
def test_matrix_equals_qrcode_at_every_version_boundary(length: int) -> None:
    data = random.Random(length).randbytes(length)
    assert qr_matrix(data) == _reference(data)


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_matrix_equals_qrcode(data: str | bytes) -> None:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    assert qr_matrix(data) == _reference(raw)


def test_too_long_raises_naming_the_length() -> None:
    with pytest.raises(ValueError, match="2332 bytes"):
        qr_matrix("x" * 2332)


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


def test_the_idle_kiosk_warms_the_encoder_for_the_usual_versions() -> None:
    qr.warm_encoder.cache_clear()
    qr._template.cache_clear()
    Kiosk()  # its first (idle) turn
    assert qr._template.cache_info().currsize == qr.WARM_VERSIONS
