"""The attendant's screens: PIN pad, menu, recent sales, refund, confirm, totals, reconcile.

Why plain and dense: the attendant needs facts and big buttons, not decoration. Each refund
goes through a confirm screen; nothing here ever shows a PIN digit.
"""

from __future__ import annotations

import pygame

from kiosk.domain import Totals
from kiosk.ui.i18n import Strings, format_yen
from kiosk.ui.screens.common import keypad, keypad_height, split
from kiosk.ui.theme import DANGER, INK, LINE, MUTED, PANEL, Rgb, Theme
from kiosk.ui.views import (
    AttendantMenuView,
    Chrome,
    ConfirmView,
    PinView,
    ReconcileView,
    RefundView,
    SalesListView,
)
from kiosk.ui.widgets import Hit, blit_text, button, header

PIN_DOTS = 6


def _body(
    surface: pygame.Surface, chrome: Chrome, theme: Theme, strings: Strings, title: str
) -> tuple[pygame.Rect, list[Hit]]:
    body, hits = header(surface, theme, chrome, strings, title)
    return body.inflate(-2 * theme.margin, -2 * theme.margin), hits


def _add(hits: list[Hit], hit: Hit | None) -> None:
    if hit:
        hits.append(hit)


def _message(
    surface: pygame.Surface,
    theme: Theme,
    text: str | None,
    pos: tuple[int, int],
    width: int,
    colour: Rgb = INK,
) -> None:
    if text:
        blit_text(surface, theme, text, theme.px(22), colour, "midtop", pos, width)


def pin_pad(
    surface: pygame.Surface, view: PinView, chrome: Chrome, theme: Theme, strings: Strings
) -> list[Hit]:
    inner, hits = _body(surface, chrome, theme, strings, strings("attendant"))
    m = theme.margin
    vertical = theme.portrait
    pad_h = keypad_height(theme, inner.height if not vertical else int(inner.height * 0.55))
    info, pad = split(inner, 0.5 if not vertical else 1 - pad_h / inner.height, m, vertical)
    if not vertical:
        pad = pygame.Rect(pad.left, pad.top, pad.width, min(pad.height, pad_h))
    locked = view.locked_s is not None
    hits += keypad(surface, theme, pad, strings, enabled=not locked and not view.checking)
    y = info.top + theme.px(10)
    title = blit_text(
        surface,
        theme,
        strings("enter_pin"),
        theme.px(28),
        INK,
        "midtop",
        (info.centerx, y),
        info.width,
    )
    dots = max(PIN_DOTS, view.entered)
    r, gap = theme.px(11), theme.px(14)
    x0 = info.centerx - (dots * 2 * r + (dots - 1) * gap) // 2 + r
    cy = title.bottom + theme.px(36)
    for i in range(dots):
        center = (x0 + i * (2 * r + gap), cy)
        if i < view.entered:
            pygame.draw.circle(surface, INK, center, r)
        else:
            pygame.draw.circle(surface, LINE, center, r, max(2, theme.px(2)))
    if view.checking:
        text: str | None = strings("checking_pin")
    elif locked:
        text = strings("locked_out", seconds=view.locked_s)
    elif view.tries_left is not None:
        text = strings("wrong_pin", tries=view.tries_left)
    else:
        text = None
    _message(surface, theme, text, (info.centerx, cy + r + theme.px(18)), info.width, DANGER)
    row = pygame.Rect(info.left, info.bottom - theme.touch, info.width, theme.touch)
    close, ok = split(row, 0.45, theme.px(12), vertical=False)
    _add(hits, button(surface, theme, close, strings("close"), "close"))
    ok_kind = "primary" if view.entered and not locked and not view.checking else "disabled"
    _add(hits, button(surface, theme, ok, strings("ok"), "pin_ok", kind=ok_kind))
    return hits


def attendant_menu(
    surface: pygame.Surface, view: AttendantMenuView, chrome: Chrome, theme: Theme, strings: Strings
) -> list[Hit]:
    inner, hits = _body(surface, chrome, theme, strings, strings("attendant"))
    gap = theme.px(14)
    entries = [
        ("cancel_sale", "cancel_sale", "secondary" if view.sale_in_progress else "disabled"),
        ("recent_sales", "recent_sales", "secondary"),
        ("held_sales", "held_sales", "secondary"),
        ("totals_today", "totals", "secondary"),
        ("reconcile_now", "reconcile", "secondary"),
        ("service_on" if view.out_of_service else "service_off", "toggle_service", "secondary"),
    ]  # "Exit kiosk" sits in the bottom row, away from the grid and opposite "Close"
    cols = 1 if theme.portrait else 2
    rows = -(-len(entries) // cols)
    message_h = theme.px(34)
    close_h = theme.touch
    grid_h = inner.height - message_h - close_h - 2 * gap
    cell_w = (inner.width - (cols - 1) * gap) // cols
    cell_h = max(theme.touch, min(theme.px(96), (grid_h - (rows - 1) * gap) // rows))
    for index, (key, action, kind) in enumerate(entries):
        col, row = index % cols, index // cols
        rect = pygame.Rect(
            inner.left + col * (cell_w + gap), inner.top + row * (cell_h + gap), cell_w, cell_h
        )
        _add(hits, button(surface, theme, rect, strings(key), action, kind=kind))
    bottom = pygame.Rect(inner.left, inner.bottom - close_h, inner.width, close_h)
    message = view.message or view.hardware  # the hardware line when there is no news
    _message(surface, theme, message, (inner.centerx, bottom.top - message_h), inner.width)
    half = (inner.width - gap) // 2  # a portrait screen is narrow for the bottom row
    close = pygame.Rect(0, 0, min(theme.px(220), half), close_h)
    close.midright = bottom.midright
    _add(hits, button(surface, theme, close, strings("close"), "close", kind="primary"))
    leave = pygame.Rect(0, 0, min(theme.px(260), half), close_h)
    leave.midleft = bottom.midleft
    _add(hits, button(surface, theme, leave, strings("exit_kiosk"), "exit", kind="danger"))
    return hits


def _back(
    surface: pygame.Surface, theme: Theme, inner: pygame.Rect, strings: Strings, hits: list[Hit]
) -> pygame.Rect:
    back = pygame.Rect(0, 0, theme.px(200), theme.touch)
    back.bottomleft = inner.bottomleft
    _add(hits, button(surface, theme, back, strings("back"), "back"))
    return back


def rows_per_page(theme: Theme, height: int) -> int:
    return max(1, height // (theme.touch + theme.px(16)))


def pager(
    surface: pygame.Surface,
    theme: Theme,
    inner: pygame.Rect,
    strings: Strings,
    hits: list[Hit],
    page: int,
    pages: int,
) -> None:
    """Previous / Next at the bottom right, when there is more than one page."""
    if pages <= 1:
        return
    nxt = pygame.Rect(0, 0, theme.px(150), theme.touch)
    nxt.bottomright = inner.bottomright
    prev = nxt.move(-(nxt.width + theme.px(8)), 0)
    first, last = (
        "secondary" if page else "disabled",
        "secondary" if page < pages - 1 else "disabled",
    )
    _add(hits, button(surface, theme, prev, strings("previous"), "page_prev", kind=first))
    _add(hits, button(surface, theme, nxt, strings("next"), "page_next", kind=last))


def sales_list(
    surface: pygame.Surface, view: SalesListView, chrome: Chrome, theme: Theme, strings: Strings
) -> list[Hit]:
    inner, hits = _body(surface, chrome, theme, strings, strings("recent_sales"))
    back = _back(surface, theme, inner, strings, hits)
    bottom = back.top - (theme.px(34) if view.message else 0)  # the message's strip, below rows
    per_page = rows_per_page(theme, bottom - inner.top - theme.px(8))
    pages = max(1, -(-len(view.rows) // per_page))
    page = min(view.page, pages - 1)
    gap = theme.px(8)
    row_h = max(theme.touch + theme.px(8), (bottom - inner.top - gap * per_page) // per_page)
    if not view.rows:
        blit_text(surface, theme, strings("no_sales"), theme.px(26), MUTED, "center", inner.center)
    size = theme.px(22)
    for index, row in enumerate(view.rows[page * per_page : (page + 1) * per_page]):
        rect = pygame.Rect(inner.left, inner.top + index * (row_h + gap), inner.width, row_h)
        pygame.draw.rect(surface, PANEL, rect, border_radius=theme.px(10))
        cells = (
            (row.time_text, 0.0, INK),
            (format_yen(row.amount_yen), 0.14, INK),
            (strings.status(row.status), 0.34, MUTED),
            ("…" + row.merchant_payment_id[-8:], 0.50, MUTED),
        )
        for text, at, colour in cells:
            x = rect.left + theme.px(14) + int(rect.width * at * (0.8 if theme.portrait else 1))
            blit_text(
                surface,
                theme,
                text,
                size,
                colour,
                "midleft",
                (x, rect.centery),
                int(rect.width * 0.2),
            )
        if row.refundable_yen > 0:
            refund = pygame.Rect(0, 0, theme.px(150), row_h - theme.px(8))
            refund.midright = (rect.right - theme.px(4), rect.centery)
            _add(
                hits,
                button(
                    surface, theme, refund, strings("refund"), "refund", row.merchant_payment_id
                ),
            )
    pager(surface, theme, inner, strings, hits, page, pages)
    _message(surface, theme, view.message, (inner.centerx, bottom), inner.width)
    return hits


def refund(
    surface: pygame.Surface, view: RefundView, chrome: Chrome, theme: Theme, strings: Strings
) -> list[Hit]:
    inner, hits = _body(surface, chrome, theme, strings, strings("refund"))
    m = theme.margin
    row = view.row
    vertical = theme.portrait
    info, right = split(inner, 0.5 if not vertical else 0.4, m, vertical)
    y = info.top
    for text, size, colour in (
        (f"{row.time_text}  …{row.merchant_payment_id[-8:]}", 22, MUTED),
        (format_yen(row.amount_yen), 56, INK),
        (strings.status(row.status), 22, MUTED),
        (strings("refundable", amount=format_yen(row.refundable_yen)), 24, INK),
    ):
        rect = blit_text(
            surface, theme, text, theme.px(size), colour, "midtop", (info.centerx, y), info.width
        )
        y = rect.bottom + theme.px(10)
    if view.partial:
        amount = int(view.digits) if view.digits else 0
        valid = 1 <= amount <= row.refundable_yen
        blit_text(
            surface,
            theme,
            format_yen(amount),
            theme.px(48),
            theme.accent,
            "midtop",
            (info.centerx, y + theme.px(8)),
            info.width,
        )
        pad_h = keypad_height(theme, right.height)
        pad = pygame.Rect(right.left, right.top, right.width, min(right.height, pad_h))
        hits += keypad(surface, theme, pad, strings)
        row_rect = pygame.Rect(info.left, info.bottom - theme.touch, info.width, theme.touch)
        back, ok = split(row_rect, 0.45, theme.px(12), vertical=False)
        _add(hits, button(surface, theme, back, strings("back"), "back"))
        _add(
            hits,
            button(
                surface,
                theme,
                ok,
                strings("confirm"),
                "refund_amount",
                kind="primary" if valid else "disabled",
            ),
        )
    else:
        gap = theme.px(14)
        full = pygame.Rect(right.left, right.top, right.width, theme.touch + theme.px(16))
        partial = full.move(0, full.height + gap)
        _add(
            hits,
            button(
                surface,
                theme,
                full,
                f"{strings('refund_full')}  {format_yen(row.refundable_yen)}",
                "refund_full",
                kind="primary",
            ),
        )
        _add(hits, button(surface, theme, partial, strings("refund_partial"), "refund_partial"))
        _back(surface, theme, info if not vertical else inner, strings, hits)
    return hits


def confirm(
    surface: pygame.Surface, view: ConfirmView, chrome: Chrome, theme: Theme, strings: Strings
) -> list[Hit]:
    inner, hits = _body(surface, chrome, theme, strings, strings("attendant"))
    blit_text(
        surface,
        theme,
        view.question,
        theme.px(40),
        INK,
        "center",
        (inner.centerx, inner.top + inner.height // 3),
        inner.width,
    )
    gap = theme.px(20)
    width = min(theme.px(260), (inner.width - gap) // 2)
    no = pygame.Rect(0, 0, width, theme.touch + theme.px(10))
    no.topright = (inner.centerx - gap // 2, inner.top + inner.height // 2 + theme.px(20))
    yes = no.move(width + gap, 0)
    _add(hits, button(surface, theme, no, strings("no"), "confirm_no"))
    _add(hits, button(surface, theme, yes, strings("yes"), view.action, kind="primary"))
    return hits


def totals(
    surface: pygame.Surface, view: Totals, chrome: Chrome, theme: Theme, strings: Strings
) -> list[Hit]:
    title = f"{strings('totals_today')} {view.day}" if view.day else strings("totals_today")
    inner, hits = _body(surface, chrome, theme, strings, title)
    back = _back(surface, theme, inner, strings, hits)
    figures = (
        ("sales_count", str(view.count)),
        ("sales_amount", format_yen(view.amount_yen)),
        ("refunded_amount", format_yen(view.refunded_yen)),
        ("net_amount", format_yen(view.amount_yen - view.refunded_yen)),
    )
    cols = 2
    gap = theme.px(14)
    area = pygame.Rect(inner.left, inner.top, inner.width, back.top - inner.top - gap)
    cell_w = (area.width - gap) // cols
    cell_h = (area.height - gap) // 2
    for index, (key, value) in enumerate(figures):
        col, row = index % cols, index // cols
        rect = pygame.Rect(
            area.left + col * (cell_w + gap), area.top + row * (cell_h + gap), cell_w, cell_h
        )
        pygame.draw.rect(surface, PANEL, rect, border_radius=theme.px(14))
        blit_text(
            surface,
            theme,
            strings(key),
            theme.px(22),
            MUTED,
            "midtop",
            (rect.centerx, rect.top + theme.px(12)),
        )
        blit_text(
            surface,
            theme,
            value,
            theme.px(44),
            INK,
            "center",
            (rect.centerx, rect.centery + theme.px(12)),
            rect.width - theme.px(20),
        )
    return hits


def reconcile(
    surface: pygame.Surface, view: ReconcileView, chrome: Chrome, theme: Theme, strings: Strings
) -> list[Hit]:
    inner, hits = _body(surface, chrome, theme, strings, strings("reconcile_now"))
    back = _back(surface, theme, inner, strings, hits)
    y = inner.top
    if view.message:
        y = blit_text(
            surface, theme, view.message, theme.px(24), INK, "topleft", (inner.left, y), inner.width
        ).bottom + theme.px(10)
    lines = view.lines or (strings("reconcile_none"),)
    line_h = theme.font(theme.px(20)).get_linesize()
    for line in lines:
        if y + line_h > back.top - theme.px(8):
            break
        blit_text(
            surface, theme, line, theme.px(20), MUTED, "topleft", (inner.left, y), inner.width
        )
        y += line_h
    return hits
