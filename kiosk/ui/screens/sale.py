"""The screens of a sale in progress, one per Phase: creating, the QR, confirming, vending, and
the final outcomes. The amount is always the largest thing on screen after the QR.

Creating is the QR screen itself with a spinner where the code will be: the customer sees the
amount and Cancel at the tap, and the code then appears in place (the loop redraws only the
parts that change, over the screen's static layer: see kiosk.ui.layers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pygame

from kiosk.domain import Phase, machine_item_of
from kiosk.ui.i18n import Strings, format_yen
from kiosk.ui.screens.common import split
from kiosk.ui.theme import INK, LINE, MUTED, PANEL, SUCCESS, WARNING, WHITE, Rgb, Theme
from kiosk.ui.views import QR_PENDING, Chrome, SaleScreenView
from kiosk.ui.widgets import (
    Hit,
    bang,
    blit_lines,
    blit_text,
    button,
    cross,
    header,
    header_body,
    spinner,
    tick,
)

Icon = Callable[[pygame.Surface, tuple[int, int], int, Rgb], None]

# phase -> (title key, icon, icon colour or None for the accent)
OUTCOMES: dict[Phase, tuple[str, Icon, Rgb | None]] = {
    Phase.SUCCEEDED: ("succeeded", tick, SUCCESS),
    Phase.FAILED: ("failed", cross, None),
    Phase.CANCELLED: ("cancelled", cross, MUTED),
    Phase.EXPIRED: ("expired", bang, WARNING),
    Phase.REFUNDED: ("refunded", bang, WARNING),
    Phase.HELD: ("held", bang, WARNING),  # the title says whether PayPay has the money
}
WAITING: dict[Phase, tuple[str, str | None]] = {
    Phase.CONFIRMING: ("confirming", "please_wait"),
    Phase.VENDING: ("vending", "please_wait"),
}


def sale_screen(
    surface: pygame.Surface, view: SaleScreenView, chrome: Chrome, theme: Theme, strings: Strings
) -> list[Hit]:
    if on_qr_screen(view):
        return qr_screen(surface, view, chrome, theme, strings)
    phase = view.sale.phase
    body, hits = header(surface, theme, chrome, strings)
    if phase in OUTCOMES:
        return hits + outcome(surface, body, view, theme, strings)
    title_key, hint_key = WAITING.get(phase, ("please_wait", None))
    radius = theme.px(40)
    center = (body.centerx, body.top + body.height * 3 // 10)
    spinner(surface, center, radius, theme.accent, view.spin)
    title = blit_text(
        surface,
        theme,
        strings(title_key),
        theme.px(36),
        INK,
        "midtop",
        (body.centerx, center[1] + radius + theme.px(30)),
        body.width - 2 * theme.margin,
    )
    amount = blit_text(
        surface,
        theme,
        format_yen(view.sale.amount_yen),
        theme.px(56),
        INK,
        "midtop",
        (body.centerx, title.bottom + theme.px(16)),
    )
    if hint_key:
        blit_text(
            surface,
            theme,
            strings(hint_key),
            theme.px(22),
            MUTED,
            "midtop",
            (body.centerx, amount.bottom + theme.px(12)),
        )
    return hits


def outcome(
    surface: pygame.Surface, body: pygame.Rect, view: SaleScreenView, theme: Theme, strings: Strings
) -> list[Hit]:
    title_key, icon, colour = OUTCOMES[view.sale.phase]
    if view.sale.phase is Phase.HELD:
        title_key = view.sale.reason or "held_unconfirmed"
    radius = theme.px(54 if theme.portrait else 46)
    m = theme.margin
    center = (body.centerx, body.top + m + radius + theme.px(6))
    icon(surface, center, radius, colour or theme.accent)
    y = center[1] + radius + theme.px(18)
    title = blit_text(
        surface,
        theme,
        strings(title_key),
        theme.px(38),
        INK,
        "midtop",
        (body.centerx, y),
        body.width - 2 * m,
    )
    amount = blit_text(
        surface,
        theme,
        format_yen(view.sale.amount_yen),
        theme.px(54),
        INK,
        "midtop",
        (body.centerx, title.bottom + theme.px(8)),
    )
    text = (
        strings("thank_you")
        if view.sale.phase is Phase.SUCCEEDED
        else strings.reason(view.sale.reason)
    )
    blit_lines(
        surface,
        theme,
        text,
        theme.px(22),
        MUTED,
        body.centerx,
        amount.bottom + theme.px(10),
        body.width - 4 * m,
    )
    done = pygame.Rect(0, 0, theme.px(240), theme.touch)
    done.midbottom = (body.centerx, body.bottom - m)
    hit = button(surface, theme, done, strings("done"), "done", kind="primary")
    return [hit] if hit else []


def countdown(
    surface: pygame.Surface,
    theme: Theme,
    rect: pygame.Rect,
    left_s: int,
    total_s: int,
    strings: Strings,
) -> None:
    """A bar that empties as time runs out, with the seconds in words under it, filling rect."""
    words = theme.text(strings("seconds_left", seconds=left_s), theme.px(22), MUTED)
    surface.blit(words, words.get_rect(midbottom=rect.midbottom))
    bar = pygame.Rect(rect.left, rect.top, rect.width, theme.px(12))
    pygame.draw.rect(surface, LINE, bar, border_radius=bar.height // 2)
    filled = bar.copy()
    filled.width = int(bar.width * max(0.0, min(1.0, left_s / total_s))) if total_s else 0
    if filled.width:
        colour = theme.accent if left_s > 10 else WARNING
        pygame.draw.rect(surface, colour, filled, border_radius=bar.height // 2)


def on_qr_screen(view: SaleScreenView) -> bool:
    """Creating and awaiting payment share the QR screen (creating shows a spinner for the code)."""
    sale = view.sale
    return sale.phase is Phase.CREATING or (
        sale.phase is Phase.AWAITING_PAYMENT and bool(sale.qr_url)
    )


@dataclass(frozen=True)
class QrLayout:
    card: pygame.Rect  # the white card the code sits in
    code_side: int  # the code is at most this wide
    panel: pygame.Rect  # amount, instructions, countdown, Cancel
    timer: pygame.Rect  # the countdown: only PANEL under it


def qr_layout(surface: pygame.Surface, theme: Theme, chrome: Chrome) -> QrLayout:
    body = header_body(surface, theme, chrome)
    m = theme.margin
    inner = body.inflate(-2 * m, -2 * m)
    if theme.portrait:
        qr_area, info = split(inner, 0.55, m, vertical=True)
    else:
        qr_area, info = split(inner, 0.47, m, vertical=False)
    side = min(qr_area.width, qr_area.height)
    card = pygame.Rect(0, 0, side, side)
    card.center = qr_area.center
    panel = info.copy()
    width = panel.width - 2 * m
    cancel_top = panel.bottom - theme.px(16) - theme.touch
    timer = pygame.Rect(panel.left + m, 0, width, theme.px(44))
    timer.bottom = cancel_top - theme.px(12)
    return QrLayout(card, side - 2 * theme.px(6), panel, timer)


def qr_screen(
    surface: pygame.Surface, view: SaleScreenView, chrome: Chrome, theme: Theme, strings: Strings
) -> list[Hit]:
    """The QR screen: its static part, then what differs per sale (code, amount, countdown)."""
    hits = qr_static(surface, view, chrome, theme, strings)
    if view.sale.qr_url != QR_PENDING:  # the static layer alone (kiosk.ui.layers)
        for part in qr_parts(surface, view, chrome, theme, strings):
            part.draw(surface)
    return hits


def amount_text(
    theme: Theme, strings: Strings, layout: QrLayout, amount_yen: int
) -> tuple[pygame.Surface, tuple[int, int]]:
    """The amount as drawn on the QR screen and the midtop it is drawn at."""
    label = theme.text(strings("amount_to_pay"), theme.px(22), MUTED)
    width = layout.panel.width - 2 * theme.margin
    text = format_yen(amount_yen)
    rendered = theme.text(text, theme.fit(text, theme.px(72), width), INK)
    top = layout.panel.top + theme.px(18) + label.get_height() + theme.px(4)
    return rendered, (layout.panel.centerx, top)


@dataclass(frozen=True)
class Part:
    """A part of the QR screen drawn over its static part: equal keys draw equal pixels, and
    `draw` returns the rects it drew in (so the loop redraws a part only when its key changed,
    after taking those rects back from the static layer). Parts never overlap."""

    name: str
    key: object
    draw: Callable[[pygame.Surface], list[pygame.Rect]]


def qr_parts(
    surface: pygame.Surface, view: SaleScreenView, chrome: Chrome, theme: Theme, strings: Strings
) -> list[Part]:
    """The code (or, while creating, a spinner in its place), the amount and the countdown."""
    sale = view.sale
    layout = qr_layout(surface, theme, chrome)

    def code(target: pygame.Surface) -> list[pygame.Rect]:
        if sale.phase is Phase.CREATING:
            return [code_pending(target, theme, strings, layout, view.spin)]
        if sale.qr_url:
            return [theme.qr.draw(target, sale.qr_url, layout.code_side, layout.card.center)]
        return []

    item = machine_item_of(sale.description)

    def amount(target: pygame.Surface) -> list[pygame.Rect]:
        text, midtop = amount_text(theme, strings, layout, sale.amount_yen)
        drawn = [target.blit(text, text.get_rect(midtop=midtop))]
        if item is not None:  # a vending machine's selection: which item this pays for,
            label = theme.text(strings("machine_item", item=item), theme.px(22), INK)
            at = (layout.panel.left + theme.px(16), layout.panel.top + theme.px(18))
            drawn.append(target.blit(label, label.get_rect(topleft=at)))  # beside the label
        return drawn

    def timer(target: pygame.Surface) -> list[pygame.Rect]:
        if sale.seconds_left is None or not sale.seconds_total:
            return []
        drawn = target.fill(PANEL, layout.timer)
        countdown(target, theme, layout.timer, sale.seconds_left, sale.seconds_total, strings)
        return [drawn]

    creating = sale.phase is Phase.CREATING
    return [
        Part("code", ("creating", view.spin) if creating else sale.qr_url, code),
        Part("amount", (sale.amount_yen, item), amount),
        Part("timer", (sale.seconds_left, sale.seconds_total), timer),
    ]


def code_pending(
    surface: pygame.Surface, theme: Theme, strings: Strings, layout: QrLayout, spin: int
) -> pygame.Rect:
    """Where the code will be: a spinner and "Preparing your QR code"; returns their bounds."""
    radius = theme.px(30)
    card = layout.card
    center = (card.centerx, card.centery - radius)
    spinner(surface, center, radius, theme.accent, spin)
    dot = max(3, radius // 5)
    bounds = pygame.Rect(0, 0, 2 * (radius + dot) + 2, 2 * (radius + dot) + 2)
    bounds.center = center
    text = blit_text(
        surface,
        theme,
        strings("creating"),
        theme.px(22),
        INK,
        "midtop",
        (card.centerx, center[1] + radius + dot + theme.px(16)),
        layout.code_side - 2 * theme.margin,
    )
    return bounds.union(text)


def qr_static(
    surface: pygame.Surface, view: SaleScreenView, chrome: Chrome, theme: Theme, strings: Strings
) -> list[Hit]:
    """Everything of the QR screen but the code, the amount and the countdown (the space the
    amount takes depends on its height only)."""
    _, hits = header(surface, theme, chrome, strings)
    layout = qr_layout(surface, theme, chrome)
    m = theme.margin
    card = layout.card
    pygame.draw.rect(surface, WHITE, card, border_radius=theme.px(16))
    pygame.draw.rect(surface, LINE, card, width=max(1, theme.px(2)), border_radius=theme.px(16))

    panel = layout.panel
    pygame.draw.rect(surface, PANEL, panel, border_radius=theme.px(18))
    cx, width = panel.centerx, panel.width - 2 * m
    y = panel.top + theme.px(18)
    blit_text(surface, theme, strings("amount_to_pay"), theme.px(22), MUTED, "midtop", (cx, y))
    amount, (_, amount_top) = amount_text(theme, strings, layout, view.sale.amount_yen)
    blit_text(
        surface,
        theme,
        strings("scan_with_paypay"),
        theme.px(26),
        theme.accent,
        "midtop",
        (cx, amount_top + amount.get_height() + theme.px(10)),
        width,
    )
    cancel = pygame.Rect(0, 0, min(width, theme.px(260)), theme.touch)
    cancel.midbottom = (cx, panel.bottom - theme.px(16))
    hit = button(surface, theme, cancel, strings("cancel"), "cancel")
    return hits + ([hit] if hit else [])
