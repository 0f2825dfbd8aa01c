"""The screens before a sale: attract, product menu, amount keypad."""

from __future__ import annotations

import pygame

from kiosk.domain import Item
from kiosk.ui.i18n import Strings, format_yen
from kiosk.ui.screens.common import keypad, keypad_height, split
from kiosk.ui.theme import INK, MUTED, PANEL, Theme
from kiosk.ui.views import AttractView, Chrome, KeypadView, MenuView, StartingView
from kiosk.ui.widgets import Hit, blit_text, button, content_area, header, qr_glyph, spinner

# A slow loop of small offsets (in units of u): the content wanders a few pixels every step.
DRIFT = ((0, 0), (6, 3), (10, -4), (4, -8), (-5, -6), (-10, 2), (-6, 7), (2, 9))


def attract(
    surface: pygame.Surface, view: AttractView, chrome: Chrome, theme: Theme, strings: Strings
) -> list[Hit]:
    area = content_area(surface, theme, chrome)
    start = Hit(area, "start")
    body, hits = header(surface, theme, chrome, strings)
    dx, dy = DRIFT[view.drift % len(DRIFT)]
    cx, cy = body.centerx + round(dx * theme.u), body.centery + round(dy * theme.u)
    icon = theme.px(150 if theme.portrait else 120)
    card = pygame.Rect(0, 0, icon, icon)
    card.midbottom = (cx, cy + theme.px(10))
    pygame.draw.rect(surface, theme.accent, card, border_radius=theme.px(26))
    qr_glyph(surface, card.inflate(-icon * 0.36, -icon * 0.36), (255, 255, 255))
    title = blit_text(
        surface,
        theme,
        _prompt(view, strings),
        theme.px(42),
        INK,
        "midtop",
        (cx, card.bottom + theme.px(26)),
        body.width - 2 * theme.margin,
    )
    blit_text(
        surface,
        theme,
        strings("pay_with_paypay"),
        theme.px(24),
        MUTED,
        "midtop",
        (cx, title.bottom + theme.px(12)),
    )
    return [*hits, start]  # the toggle is hit-tested first


def _prompt(view: AttractView, strings: Strings) -> str:
    if view.amount_yen is not None:
        return strings(view.prompt, amount=format_yen(view.amount_yen))
    return strings(view.prompt)


def starting(
    surface: pygame.Surface, view: StartingView, chrome: Chrome, theme: Theme, strings: Strings
) -> list[Hit]:
    body, _ = header(surface, theme, chrome, strings, language_toggle=False)
    center = (body.centerx, body.centery - theme.px(30))
    spinner(surface, center, theme.px(36), theme.accent, 0)
    blit_text(
        surface,
        theme,
        strings("starting"),
        theme.px(32),
        INK,
        "midtop",
        (body.centerx, center[1] + theme.px(60)),
    )
    return []


def _tile(
    surface: pygame.Surface, theme: Theme, rect: pygame.Rect, item: Item, strings: Strings
) -> Hit:
    """Image (optional), name, price and "tax incl.", centred as one block."""
    pygame.draw.rect(surface, PANEL, rect, border_radius=theme.px(18))
    name = item.name_ja if strings.language == "ja" else item.name_en
    inner = rect.width - 2 * theme.px(14)
    name_px = theme.fit(name, theme.px(26), inner)
    parts = [
        theme.text(name, name_px, INK),
        theme.text(format_yen(item.price_yen), theme.px(36), theme.accent),
        theme.text(strings("tax_included"), theme.px(16), MUTED),
    ]
    room = rect.height - 2 * theme.px(10) - sum(p.get_height() + theme.px(6) for p in parts)
    if item.image and room >= theme.px(24):  # the picture gets what the words leave
        image = theme.image(item.image, (inner, room))
        parts = [image, *parts] if image is not None else parts
    gap = theme.px(6)
    y = rect.centery - (sum(p.get_height() for p in parts) + gap * (len(parts) - 1)) // 2
    for part in parts:
        surface.blit(part, part.get_rect(midtop=(rect.centerx, y)))
        y += part.get_height() + gap
    return Hit(rect, "item", item.sku)


def menu_grid(theme: Theme, pictures: bool = False) -> tuple[int, int]:
    """Columns and rows of the product grid for this screen shape; with pictures, fewer and
    taller tiles so each picture has room above its name and price."""
    if pictures:
        return (2, 2) if theme.portrait else (3, 1)
    return (2, 3) if theme.portrait else (3, 2)


def menu(
    surface: pygame.Surface, view: MenuView, chrome: Chrome, theme: Theme, strings: Strings
) -> list[Hit]:
    body, hits = header(surface, theme, chrome, strings, strings("choose_item"))
    m, gap = theme.margin, theme.px(14)
    footer_h = theme.touch
    grid = pygame.Rect(
        body.left + m, body.top + m, body.width - 2 * m, body.height - 3 * m - footer_h
    )
    cols, rows = menu_grid(theme, any(item.image for item in view.items))
    per_page = cols * rows
    pages = max(1, -(-len(view.items) // per_page))
    page = min(view.page, pages - 1)
    tile_w = (grid.width - (cols - 1) * gap) // cols
    tile_h = (grid.height - (rows - 1) * gap) // rows
    for index, item in enumerate(view.items[page * per_page : (page + 1) * per_page]):
        col, row = index % cols, index // cols
        rect = pygame.Rect(
            grid.left + col * (tile_w + gap), grid.top + row * (tile_h + gap), tile_w, tile_h
        )
        hits.append(_tile(surface, theme, rect, item, strings))
    footer = pygame.Rect(grid.left, grid.bottom + m, grid.width, footer_h)
    back = pygame.Rect(footer.left, footer.top, theme.px(180), footer_h)
    hit = button(surface, theme, back, strings("back"), "back")
    hits += [hit] if hit else []
    if pages > 1:
        nxt = pygame.Rect(0, footer.top, theme.px(150), footer_h)
        nxt.right = footer.right
        prev = nxt.move(-(nxt.width + gap), 0)
        label = strings("page", page=page + 1, pages=pages)
        blit_text(
            surface,
            theme,
            label,
            theme.px(22),
            MUTED,
            "midright",
            (prev.left - gap, footer.centery),
        )
        for rect, action, enabled in (
            (prev, "page_prev", page > 0),
            (nxt, "page_next", page < pages - 1),
        ):
            kind = "secondary" if enabled else "disabled"
            hit = button(
                surface,
                theme,
                rect,
                strings("previous" if action == "page_prev" else "next"),
                action,
                kind=kind,
            )
            hits += [hit] if hit else []
    return hits


def amount_panel(
    surface: pygame.Surface, theme: Theme, rect: pygame.Rect, label: str, amount_text: str
) -> pygame.Rect:
    """A label and a very large amount in a panel; returns the amount's rect."""
    pygame.draw.rect(surface, PANEL, rect, border_radius=theme.px(18))
    blit_text(
        surface,
        theme,
        label,
        theme.px(22),
        MUTED,
        "midtop",
        (rect.centerx, rect.top + theme.px(16)),
    )
    return blit_text(
        surface,
        theme,
        amount_text,
        theme.px(64),
        INK,
        "center",
        (rect.centerx, rect.centery + theme.px(12)),
        rect.width - theme.px(24),
    )


def keypad_screen(
    surface: pygame.Surface, view: KeypadView, chrome: Chrome, theme: Theme, strings: Strings
) -> list[Hit]:
    body, hits = header(surface, theme, chrome, strings, strings("enter_amount"))
    m = theme.margin
    inner = body.inflate(-2 * m, -2 * m)
    amount = int(view.digits) if view.digits else 0
    valid = 1 <= amount <= view.max_amount_yen
    if theme.portrait:
        pad_h = keypad_height(theme, int(inner.height * 0.55))
        left, pad = split(inner, 1 - pad_h / inner.height, m, vertical=True)
    else:
        left, pad = split(inner, 0.5, m, vertical=False)
    actions_h = theme.touch
    panel = pygame.Rect(left.left, left.top, left.width, left.height - actions_h - m)
    amount_panel(surface, theme, panel, strings("amount_to_pay"), format_yen(amount))
    row = pygame.Rect(left.left, panel.bottom + m, left.width, actions_h)
    back, confirm = split(row, 0.4, theme.px(12), vertical=False)
    for rect, label, action, kind in (
        (back, strings("back"), "back", "secondary"),
        (confirm, strings("confirm"), "confirm", "primary" if valid else "disabled"),
    ):
        hit = button(surface, theme, rect, label, action, kind=kind)
        hits += [hit] if hit else []
    hits += keypad(surface, theme, pad, strings)
    return hits
