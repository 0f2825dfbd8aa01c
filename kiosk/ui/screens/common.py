"""Layout pieces several screens share: the keypad and the amount line."""

from __future__ import annotations

import pygame

from kiosk.ui.i18n import Strings
from kiosk.ui.theme import Theme
from kiosk.ui.widgets import Hit, button

KEYS = (("1", "2", "3"), ("4", "5", "6"), ("7", "8", "9"), ("clear", "0", "delete"))


def keypad(
    surface: pygame.Surface,
    theme: Theme,
    rect: pygame.Rect,
    strings: Strings,
    enabled: bool = True,
) -> list[Hit]:
    """A 3x4 digit pad filling `rect`; each key at least a touch target high."""
    gap = theme.px(10)
    key_w = (rect.width - 2 * gap) // 3
    key_h = max(theme.touch, (rect.height - 3 * gap) // 4)
    hits: list[Hit] = []
    for row, keys in enumerate(KEYS):
        for col, key in enumerate(keys):
            cell = pygame.Rect(
                rect.left + col * (key_w + gap), rect.top + row * (key_h + gap), key_w, key_h
            )
            if key.isdigit():
                label, action, arg, size = key, "digit", key, theme.px(34)
            else:
                label, action, arg, size = strings(key), key, "", theme.px(22)
            kind = "secondary" if enabled else "disabled"
            hit = button(surface, theme, cell, label, action, arg, kind=kind, size_px=size)
            if hit:
                hits.append(hit)
    return hits


def keypad_height(theme: Theme, available: int) -> int:
    """Four rows of keys: as tall as available allows, but each row a touch target high."""
    gap = theme.px(10)
    return max(4 * theme.touch + 3 * gap, min(available, 4 * theme.px(84) + 3 * gap))


def split(rect: pygame.Rect, fraction: float, gap: int, vertical: bool) -> tuple[pygame.Rect, ...]:
    """Two rects: the first `fraction` of rect and the rest, `gap` apart."""
    if vertical:
        first_h = int((rect.height - gap) * fraction)
        first = pygame.Rect(rect.left, rect.top, rect.width, first_h)
        second = pygame.Rect(
            rect.left, first.bottom + gap, rect.width, rect.bottom - first.bottom - gap
        )
    else:
        first_w = int((rect.width - gap) * fraction)
        first = pygame.Rect(rect.left, rect.top, first_w, rect.height)
        second = pygame.Rect(
            first.right + gap, rect.top, rect.right - first.right - gap, rect.height
        )
    return first, second
