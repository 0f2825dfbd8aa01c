"""The QR code as a pygame Surface: built with the `qrcode` library, once per order.

Why this way: `qrcode` is the maintained encoder, used as its authors mean it: byte data, ECC
level M, the standard quiet zone, and a fixed mask (`mask_pattern`, a public parameter: any
mask is valid and every reader tries all), which spares it scoring eight masks. That costs
about a millisecond per URL, once per order, far below what a customer notices. The Surface is
one pixel per module, an 8-bit paletted image (1 = black, 0 = white), scaled by a whole number,
nearest-neighbour, straight into the screen, so modules stay crisp and no large intermediate
image is made.
"""

from __future__ import annotations

from dataclasses import dataclass

import pygame
import qrcode
from qrcode.constants import ERROR_CORRECT_M

QUIET_ZONE_MODULES = 4
MASK_PATTERN = 2
_PALETTE = [(255, 255, 255), (0, 0, 0)]  # index 0 light, 1 dark


@dataclass(frozen=True, slots=True)
class QrModules:
    """The bordered matrix, row-major, one byte per module (1 = dark)."""

    side: int
    flat: bytes


def qr_modules(data: str | bytes) -> QrModules:
    """The code of `data` (byte mode, ECC M, mask 2), quiet zone included. ValueError when it
    does not fit in a QR code."""
    code = qrcode.QRCode(
        error_correction=ERROR_CORRECT_M, border=QUIET_ZONE_MODULES, mask_pattern=MASK_PATTERN
    )
    code.add_data(data, optimize=0)  # one byte-mode segment: a URL gains nothing from more
    try:
        code.make(fit=True)
    except (qrcode.exceptions.DataOverflowError, ValueError):  # past version 40
        size = len(data.encode("utf-8") if isinstance(data, str) else data)
        raise ValueError(f"QR data too long: {size} bytes") from None
    matrix: list[list[bool]] = code.get_matrix()
    return QrModules(len(matrix), bytes(dark for row in matrix for dark in row))


def matrix_surface(modules: QrModules) -> pygame.Surface:
    """One pixel per module, black on white, in the display's format when there is one."""
    side = modules.side
    small = pygame.image.frombytes(modules.flat, (side, side), "P")
    small.set_palette(_PALETTE)
    return small.convert() if pygame.display.get_surface() is not None else small


def scaled_side(small: pygame.Surface, max_side_px: int) -> int:
    """The largest whole-number multiple of the code's width that fits in max_side_px."""
    n = small.get_width()
    return n * max(1, max_side_px // n)


class QrCache:
    """The code of the current order, built once per URL and drawn scaled into the screen."""

    def __init__(self) -> None:
        self._url: str | None = None
        self._small: pygame.Surface | None = None

    def prepare(self, url: str) -> pygame.Surface:
        """The code of `url`, one pixel per module (built on the first call for a URL)."""
        if url != self._url or self._small is None:
            self._url, self._small = url, matrix_surface(qr_modules(url))
        return self._small

    def draw(
        self, surface: pygame.Surface, url: str, max_side_px: int, center: tuple[int, int]
    ) -> pygame.Rect:
        """Draw the code of `url`, as large as fits in max_side_px, centred; returns its rect."""
        small = self.prepare(url)
        if (small.get_bitsize(), small.get_masks()) != (surface.get_bitsize(), surface.get_masks()):
            small = self._small = small.convert(surface)  # scaling needs one pixel format
        side = scaled_side(small, max_side_px)
        rect = pygame.Rect(0, 0, side, side)
        rect.center = center
        pygame.transform.scale(small, rect.size, surface.subsurface(rect))
        return rect
