"""Colours, sizes and the bundled font, scaled to the screen.

Why: one unit `u` (1.0 on the 800x480 Pi panel) scales every size, so a layout written once
fits a 1080p TV and a portrait tablet, and touch targets stay >= 64 px at 800x480. Fonts come
only from the bundled file (never SysFont): the kiosk looks the same everywhere and a test can
prove every catalogue glyph exists. Rendered text and fonts are memoised: screens redraw rarely,
but the QR screen must come up within a few milliseconds of a tap.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path

import pygame

from kiosk.resources import FONT_FILE, assets_dir
from kiosk.ui.qr import QrCache

logger = logging.getLogger(__name__)

ASSETS = assets_dir()  # package data: fonts, sounds
MIN_TOUCH_PX = 64  # at 800x480; scaled with u

Rgb = tuple[int, int, int]

WHITE: Rgb = (255, 255, 255)
BLACK: Rgb = (0, 0, 0)
INK: Rgb = (26, 26, 30)
MUTED: Rgb = (104, 106, 116)
PANEL: Rgb = (244, 244, 247)
LINE: Rgb = (222, 223, 229)
SUCCESS: Rgb = (18, 161, 80)
WARNING: Rgb = (245, 160, 0)
DEMO_BG: Rgb = (255, 204, 0)
DANGER: Rgb = (200, 30, 45)

_TEXT_CACHE_SIZE = 512


class Theme:
    """Sizes for one surface size, plus font and text caches (memoisation only: the same
    arguments always give the same pixels)."""

    def __init__(self, size: tuple[int, int], accent: Rgb, assets_dir: Path | None = None) -> None:
        self.width, self.height = size
        self.portrait = self.height > self.width
        long_side, short_side = max(size), min(size)
        self.u = min(long_side / 800, short_side / 480)
        self.accent = accent
        self._font_path = str((assets_dir or ASSETS) / FONT_FILE)
        self._fonts: dict[int, pygame.font.Font] = {}
        self._texts: OrderedDict[tuple[str, int, Rgb], pygame.Surface] = OrderedDict()
        self.qr = QrCache()
        self._assets = assets_dir or ASSETS
        self._images: dict[tuple[str, tuple[int, int]], pygame.Surface | None] = {}

    def px(self, value: float) -> int:
        return max(1, round(value * self.u))

    @property
    def touch(self) -> int:
        return self.px(MIN_TOUCH_PX)

    @property
    def margin(self) -> int:
        return self.px(20)

    def font(self, size_px: int) -> pygame.font.Font:
        font = self._fonts.get(size_px)
        if font is None:
            font = pygame.font.Font(self._font_path, size_px)
            self._fonts[size_px] = font
        return font

    def text(self, text: str, size_px: int, colour: Rgb) -> pygame.Surface:
        key = (text, size_px, colour)
        surface = self._texts.get(key)
        if surface is None:
            surface = self.font(size_px).render(text, True, colour)
            self._texts[key] = surface
            if len(self._texts) > _TEXT_CACHE_SIZE:
                self._texts.popitem(last=False)
        else:
            self._texts.move_to_end(key)
        return surface

    def image(self, path: str, box: tuple[int, int]) -> pygame.Surface | None:
        """A catalogue image scaled to fit `box` (the configuration makes relative paths
        absolute against its own directory, e.g. /etc/kiosk/images/...; a path still relative
        is taken under the assets); None when it cannot be loaded, so a missing picture never
        stops a sale."""
        key = (path, box)
        if key not in self._images:
            try:
                loaded = pygame.image.load(str(self._assets / path))  # absolute wins
                if pygame.display.get_surface() is not None:
                    loaded = loaded.convert_alpha()
            except (pygame.error, OSError, ValueError) as exc:
                logger.warning("image_unavailable path=%s error=%s", path, exc)
                self._images[key] = None
            else:
                w, h = loaded.get_size()
                scale = min(box[0] / w, box[1] / h)
                size = (max(1, int(w * scale)), max(1, int(h * scale)))
                self._images[key] = pygame.transform.smoothscale(loaded, size)
        return self._images[key]

    def fit(self, text: str, size_px: int, max_width: int) -> int:
        """The largest size <= size_px (down to half) at which `text` fits in max_width."""
        size = size_px
        while size > size_px // 2 and self.font(size).size(text)[0] > max_width:
            size = max(size_px // 2, int(size * 0.9))
        return size

    def wrap(self, text: str, size_px: int, max_width: int) -> list[str]:
        """Lines of at most max_width: by words when the text has spaces, else by character
        (Japanese), never starting a line with closing punctuation."""
        font = self.font(size_px)
        spaced = " " in text
        units = text.split(" ") if spaced else list(text)
        lines: list[str] = []
        line = ""
        for unit in units:
            candidate = f"{line} {unit}" if spaced and line else line + unit
            if line and font.size(candidate)[0] > max_width and unit not in "。、．，）」":
                lines.append(line)
                line = unit
            else:
                line = candidate
        if line:
            lines.append(line)
        return lines
