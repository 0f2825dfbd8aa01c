"""The QR code as a pygame Surface, fast enough to show within a few ms of the order's URL.

Why this way: the conventional route (qrcode.make -> Pillow image -> bytes -> Surface) spends
most of its time choosing among eight masks, searching for optimal data segments and
converting images. We fix the mask (any of the eight is valid and every reader tries all), keep
one byte-mode segment, take the module matrix, build a one-pixel-per-module Surface from raw
bytes and scale it by a whole number with nearest-neighbour, so every module has the same crisp
size. The quiet zone (4 modules, white) is part of the matrix.
"""

from __future__ import annotations

import pygame
import qrcode
from qrcode.constants import ERROR_CORRECT_M

QUIET_ZONE_MODULES = 4
MASK_PATTERN = 2
_DARK = b"\x00\x00\x00\xff"
_LIGHT = b"\xff\xff\xff\xff"


def qr_matrix(data: str) -> list[list[bool]]:
    code = qrcode.QRCode(
        error_correction=ERROR_CORRECT_M, border=QUIET_ZONE_MODULES, mask_pattern=MASK_PATTERN
    )
    code.add_data(data, optimize=0)  # one byte-mode segment: no costly segment search
    code.make(fit=True)
    matrix: list[list[bool]] = code.get_matrix()
    return matrix


def matrix_surface(matrix: list[list[bool]]) -> pygame.Surface:
    """One pixel per module, black on white, 32-bit like the display, so scaling and blitting
    it are plain copies with no pixel-format conversion."""
    n = len(matrix)
    raw = b"".join(_DARK if cell else _LIGHT for row in matrix for cell in row)
    small = pygame.image.frombuffer(raw, (n, n), "RGBX")
    return small.convert() if pygame.display.get_surface() is not None else small.copy()


def scaled(small: pygame.Surface, max_side_px: int) -> pygame.Surface:
    """The largest whole-number scale of `small` that fits in max_side_px."""
    n = small.get_width()
    k = max(1, max_side_px // n)
    return pygame.transform.scale(small, (n * k, n * k))


class QrCache:
    """The QR of the current order, built once and kept; a new URL replaces it."""

    def __init__(self) -> None:
        self._url: str | None = None
        self._small: pygame.Surface | None = None
        self._scaled: dict[int, pygame.Surface] = {}

    def get(self, url: str, max_side_px: int) -> pygame.Surface:
        if url != self._url or self._small is None:
            self._url, self._small, self._scaled = url, matrix_surface(qr_matrix(url)), {}
        surface = self._scaled.get(max_side_px)
        if surface is None:
            surface = scaled(self._small, max_side_px)
            self._scaled[max_side_px] = surface
        return surface
