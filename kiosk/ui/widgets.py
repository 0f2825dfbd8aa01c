"""Drawing helpers shared by the screens: text, buttons, icons, the header and the banners.

Why return hits: a screen's buttons are known only once it is laid out for a size, so drawing
returns the touch targets it drew, and the loop hit-tests a release against the last frame's
targets. Nothing here keeps state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pygame

from kiosk.ui.i18n import Strings
from kiosk.ui.settings import Mode
from kiosk.ui.theme import (
    BLACK,
    DEMO_BG,
    INK,
    LINE,
    PANEL,
    WHITE,
    Rgb,
    Theme,
)
from kiosk.ui.views import QR_PENDING, Chrome


@dataclass(frozen=True)
class Hit:
    """A touch target: releasing inside `rect` performs `action` (with `arg`)."""

    rect: pygame.Rect
    action: str
    arg: str = ""


def blit_text(
    surface: pygame.Surface,
    theme: Theme,
    text: str,
    size_px: int,
    colour: Rgb,
    anchor: str,
    pos: tuple[int, int],
    max_width: int | None = None,
) -> pygame.Rect:
    """Draw one line with its `anchor` (a pygame.Rect attribute such as "center") at pos,
    shrinking it to max_width when given."""
    if max_width is not None:
        size_px = theme.fit(text, size_px, max_width)
    rendered = theme.text(text, size_px, colour)
    rect = rendered.get_rect(**{anchor: pos})
    surface.blit(rendered, rect)
    return rect


def blit_lines(
    surface: pygame.Surface,
    theme: Theme,
    text: str,
    size_px: int,
    colour: Rgb,
    center_x: int,
    top: int,
    max_width: int,
) -> int:
    """Wrapped, centred lines from `top`; returns the y below the last line."""
    line_h = int(theme.font(size_px).get_linesize() * 1.15)
    for line in theme.wrap(text, size_px, max_width):
        blit_text(surface, theme, line, size_px, colour, "midtop", (center_x, top))
        top += line_h
    return top


STYLES: dict[str, tuple[Rgb | None, Rgb, Rgb | None]] = {
    # kind: (fill, text, border); None fill means the accent colour
    "primary": (None, WHITE, None),
    "secondary": (WHITE, INK, LINE),
    "quiet": (PANEL, INK, None),
    "danger": ((200, 30, 45), WHITE, None),
    "disabled": (PANEL, (170, 172, 180), None),
}


def button(
    surface: pygame.Surface,
    theme: Theme,
    rect: pygame.Rect,
    label: str,
    action: str,
    arg: str = "",
    kind: str = "secondary",
    size_px: int | None = None,
) -> Hit | None:
    """A rounded button; a disabled one is drawn but gives no hit."""
    fill, text_colour, border = STYLES[kind]
    radius = min(rect.height // 2, theme.px(14))
    pygame.draw.rect(surface, fill or theme.accent, rect, border_radius=radius)
    if border:
        pygame.draw.rect(surface, border, rect, width=max(1, theme.px(2)), border_radius=radius)
    size = size_px or min(theme.px(26), int(rect.height * 0.45))
    blit_text(
        surface, theme, label, size, text_colour, "center", rect.center, rect.width - theme.px(16)
    )
    return None if kind == "disabled" else Hit(rect, action, arg)


def header(
    surface: pygame.Surface,
    theme: Theme,
    chrome: Chrome,
    strings: Strings,
    title: str | None = None,
    language_toggle: bool = True,
) -> tuple[pygame.Rect, list[Hit]]:
    """The top bar (brand or title, language toggle); returns the content area below it."""
    area = content_area(surface, theme, chrome)
    bar = pygame.Rect(area.left, area.top, area.width, header_height(theme))
    hits: list[Hit] = []
    text = title or chrome.brand_name
    colour = INK if title else theme.accent
    blit_text(
        surface,
        theme,
        text,
        theme.px(30),
        colour,
        "midleft",
        (bar.left + theme.margin, bar.centery),
        bar.width // 2,
    )
    if language_toggle:
        toggle = pygame.Rect(0, 0, theme.px(150), theme.touch)
        toggle.midright = (bar.right - theme.margin, bar.centery)
        hit = button(surface, theme, toggle, strings("language_toggle"), "language", kind="quiet")
        if hit:
            hits.append(hit)
    pygame.draw.line(
        surface, LINE, (bar.left, bar.bottom - 1), (bar.right, bar.bottom - 1), max(1, theme.px(1))
    )
    return header_body(surface, theme, chrome), hits


def header_height(theme: Theme) -> int:
    return theme.touch + theme.px(16)


def header_body(surface: pygame.Surface, theme: Theme, chrome: Chrome) -> pygame.Rect:
    """The content area under the header (what `header` returns), without drawing."""
    area = content_area(surface, theme, chrome)
    top = area.top + header_height(theme)
    return pygame.Rect(area.left, top, area.width, area.bottom - top)


def banner_height(theme: Theme, chrome: Chrome) -> int:
    if chrome.mode is not Mode.DEMO:
        return 0
    return theme.px(56) if chrome.pay_url else theme.px(34)


def content_area(surface: pygame.Surface, theme: Theme, chrome: Chrome) -> pygame.Rect:
    rect = surface.get_rect()
    rect.height -= banner_height(theme, chrome)
    return rect


def background(surface: pygame.Surface, theme: Theme, chrome: Chrome, strings: Strings) -> None:
    """White page; in sandbox mode a large faint watermark behind everything."""
    surface.fill(WHITE)
    if chrome.mode is Mode.SANDBOX:
        mark = theme.text(strings("sandbox_watermark"), theme.px(150), (238, 238, 242))
        mark = pygame.transform.rotate(mark, 18)
        surface.blit(mark, mark.get_rect(center=surface.get_rect().center))


def banners(
    surface: pygame.Surface, theme: Theme, chrome: Chrome, strings: Strings
) -> list[pygame.Rect]:
    """Drawn last, over everything: the DEMO strip, or the SANDBOX tag. None in production.
    Returns the rects drawn in."""
    if chrome.mode is Mode.DEMO:
        strip = surface.get_rect()
        strip.top = strip.bottom - banner_height(theme, chrome)
        strip.height = banner_height(theme, chrome)
        surface.fill(DEMO_BG, strip)
        width = strip.width - 2 * theme.px(8)
        if chrome.pay_url:
            top = (strip.centerx, strip.top + theme.px(3))
            blit_text(surface, theme, strings("demo_banner"), theme.px(20), BLACK, "midtop", top)
            line = pay_url_line(theme, strings, chrome.pay_url, surface.get_width())
            surface.blit(line, line.get_rect(midbottom=(strip.centerx, strip.bottom - theme.px(4))))
        else:
            text = strings("demo_banner")
            blit_text(surface, theme, text, theme.px(20), BLACK, "center", strip.center, width)
        return [strip]
    if chrome.mode is Mode.SANDBOX:
        tag = theme.text(strings("sandbox_watermark"), theme.px(18), WHITE)
        box = tag.get_rect().inflate(theme.px(20), theme.px(8))
        box.bottomright = (surface.get_width() - theme.px(8), surface.get_height() - theme.px(8))
        pygame.draw.rect(surface, (60, 60, 70), box, border_radius=theme.px(6))
        surface.blit(tag, tag.get_rect(center=box.center))
        return [box]
    return []


def pay_url_line(theme: Theme, strings: Strings, pay_url: str, screen_width: int) -> pygame.Surface:
    """The demo banner's "pay in a browser" line (memoised, so the loop can render it while
    the sale is journaled)."""
    text = f"{strings('pay_url')} {'…' if pay_url == QR_PENDING else pay_url}"
    width = screen_width - 2 * theme.px(8)
    return theme.text(text, theme.fit(text, theme.px(18), width), BLACK)


def tick(surface: pygame.Surface, center: tuple[int, int], radius: int, colour: Rgb) -> None:
    pygame.draw.circle(surface, colour, center, radius)
    cx, cy = center
    r = radius
    points = [(cx - r * 0.45, cy + r * 0.02), (cx - r * 0.12, cy + r * 0.34)]
    points.append((cx + r * 0.48, cy - r * 0.3))
    pygame.draw.lines(surface, WHITE, False, points, max(3, int(r * 0.16)))
    for x, y in points:  # round the joints and ends
        pygame.draw.circle(surface, WHITE, (int(x), int(y)), max(2, int(r * 0.08)))


def cross(surface: pygame.Surface, center: tuple[int, int], radius: int, colour: Rgb) -> None:
    pygame.draw.circle(surface, colour, center, radius)
    cx, cy = center
    d = radius * 0.38
    width = max(3, int(radius * 0.16))
    pygame.draw.line(surface, WHITE, (cx - d, cy - d), (cx + d, cy + d), width)
    pygame.draw.line(surface, WHITE, (cx - d, cy + d), (cx + d, cy - d), width)


def bang(surface: pygame.Surface, center: tuple[int, int], radius: int, colour: Rgb) -> None:
    pygame.draw.circle(surface, colour, center, radius)
    cx, cy = center
    w = max(3, int(radius * 0.17))
    bar = pygame.Rect(0, 0, w, int(radius * 0.85))
    bar.midtop = (cx, int(cy - radius * 0.55))
    pygame.draw.rect(surface, WHITE, bar, border_radius=w // 2)
    pygame.draw.circle(surface, WHITE, (cx, int(cy + radius * 0.5)), int(w * 0.65))


def spinner(
    surface: pygame.Surface, center: tuple[int, int], radius: int, colour: Rgb, step: int
) -> None:
    """Eight dots; the `step`th is darkest, so a changing step looks like rotation."""
    for i in range(8):
        angle = math.tau * i / 8 - math.pi / 2
        fade = ((i - step) % 8) / 8
        dot = tuple(int(c + (245 - c) * fade) for c in colour)
        x = center[0] + radius * math.cos(angle)
        y = center[1] + radius * math.sin(angle)
        pygame.draw.circle(surface, dot, (int(x), int(y)), max(3, radius // 5))


def qr_glyph(surface: pygame.Surface, rect: pygame.Rect, colour: Rgb) -> None:
    """A decorative QR-like mark: three finder squares and a few modules."""
    m = rect.width // 7
    for fx, fy in ((0, 0), (4, 0), (0, 4)):
        outer = pygame.Rect(rect.left + fx * m, rect.top + fy * m, 3 * m, 3 * m)
        pygame.draw.rect(surface, colour, outer, width=max(2, m // 2), border_radius=m // 2)
        pygame.draw.rect(surface, colour, outer.inflate(-m * 2 + 2, -m * 2 + 2))
    for mx, my in ((4, 4), (6, 4), (5, 5), (4, 6), (6, 6)):
        pygame.draw.rect(surface, colour, (rect.left + mx * m, rect.top + my * m, m, m))
