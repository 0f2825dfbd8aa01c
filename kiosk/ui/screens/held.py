"""The attendant's held-sales screen: sales the kiosk could not settle alone (paid and not
handed out, a refused revert, an answer it could not trust or never got). A held vend keeps the
kiosk out of service, so each row offers its ways out, each through the confirm screen: "Handed
out" (paid sales only) and its give-back, named for what it does: "Refund", "Release" (an
authorisation only) or "Check again" (nothing known to be paid: ask PayPay once more).
"""

from __future__ import annotations

import pygame

from kiosk.ui.i18n import Strings, format_yen, held_why_key
from kiosk.ui.screens.attendant import _add, _back, _body, _message, pager, rows_per_page
from kiosk.ui.theme import INK, MUTED, PANEL, Theme
from kiosk.ui.views import Chrome, HeldSalesView
from kiosk.ui.widgets import Hit, blit_text, button

GIVE_BACK_LABEL = {"refund": "refund", "release": "held_release", "check": "held_check"}


def held_sales(
    surface: pygame.Surface, view: HeldSalesView, chrome: Chrome, theme: Theme, strings: Strings
) -> list[Hit]:
    inner, hits = _body(surface, chrome, theme, strings, strings("held_sales"))
    back = _back(surface, theme, inner, strings, hits)
    explain = blit_text(
        surface,
        theme,
        strings("held_explain"),
        theme.px(22),
        MUTED,
        "topleft",
        inner.topleft,
        inner.width,
    )
    top = explain.bottom + theme.px(12)
    gap = theme.px(8)
    message_h = theme.px(40)
    per_page = rows_per_page(theme, back.top - top - message_h)
    pages = max(1, -(-len(view.rows) // per_page))
    page = min(view.page, pages - 1)
    row_h = theme.touch + theme.px(8)
    if not view.rows:
        blit_text(surface, theme, strings("held_none"), theme.px(26), MUTED, "center", inner.center)
    button_w = theme.px(190)
    for index, row in enumerate(view.rows[page * per_page : (page + 1) * per_page]):
        rect = pygame.Rect(inner.left, top + index * (row_h + gap), inner.width, row_h)
        pygame.draw.rect(surface, PANEL, rect, border_radius=theme.px(10))
        refund = pygame.Rect(0, 0, button_w, row_h - theme.px(8))
        refund.midright = (rect.right - theme.px(4), rect.centery)
        hand_out = refund.move(-(button_w + gap), 0)
        text_w = hand_out.left - rect.left - theme.px(28)
        top_y, low_y = rect.centery - row_h // 5, rect.centery + row_h // 4
        cells = (  # text, where it starts and how wide it may be (fractions of text_w)
            (row.time_text, 0.0, 0.17, MUTED),
            (format_yen(row.amount_yen), 0.19, 0.22, INK),
            (row.description, 0.44, 0.56, INK),
        )
        for text, at, share, colour in cells:
            x = rect.left + theme.px(14) + int(text_w * at)
            width = int(text_w * share)
            blit_text(surface, theme, text, theme.px(22), colour, "midleft", (x, top_y), width)
        why = held_why_key(row.reason)  # under the sale: why it is held
        blit_text(
            surface,
            theme,
            strings(why) if why else row.reason,
            theme.px(18),
            MUTED,
            "midleft",
            (rect.left + theme.px(14), low_y),
            text_w,
        )
        mpid = row.merchant_payment_id
        if row.give_back != "check":  # an unpaid sale has no goods to hand out
            label = strings("held_hand_out")
            _add(hits, button(surface, theme, hand_out, label, "held_out", mpid))
        give_back = strings(GIVE_BACK_LABEL.get(row.give_back, "refund"))
        _add(hits, button(surface, theme, refund, give_back, "held_refund", mpid))
    pager(surface, theme, inner, strings, hits, page, pages)
    _message(surface, theme, view.message, (inner.centerx, back.top - message_h), inner.width)
    return hits
