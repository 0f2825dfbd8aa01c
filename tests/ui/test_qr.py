"""The QR on the rendered screen decodes (zbar) back to the order's URL, at every size."""

from __future__ import annotations

import pygame
import pytest
from pyzbar.pyzbar import decode

from kiosk.ui.i18n import Strings
from kiosk.ui.qr import QUIET_ZONE_MODULES, QrCache, matrix_surface, qr_matrix
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
    theme = Theme((800, 480), (255, 0, 51))
    code = theme.qr.get(QR_URL, 300)
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


def test_the_qr_is_built_once_per_url() -> None:
    cache = QrCache()
    first = cache.get("https://example.test/a", 400)
    assert cache.get("https://example.test/a", 400) is first
    assert cache.get("https://example.test/b", 400) is not first


def test_matrix_surface_is_black_on_white() -> None:
    small = matrix_surface([[True, False], [False, True]])
    assert small.get_at((0, 0))[:3] == (0, 0, 0)
    assert small.get_at((1, 0))[:3] == (255, 255, 255)
