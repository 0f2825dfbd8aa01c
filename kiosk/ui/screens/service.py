"""Out of service: says so to the customer and names the cause for the attendant."""

from __future__ import annotations

import pygame

from kiosk.ui.i18n import Strings
from kiosk.ui.screens.customer import DRIFT
from kiosk.ui.theme import INK, MUTED, WARNING, Theme
from kiosk.ui.views import Chrome, OutOfServiceView
from kiosk.ui.widgets import Hit, bang, blit_text, header


def out_of_service(
    surface: pygame.Surface, view: OutOfServiceView, chrome: Chrome, theme: Theme, strings: Strings
) -> list[Hit]:
    body, hits = header(surface, theme, chrome, strings)
    width = body.width - 2 * theme.margin
    radius = theme.px(46)
    dx, dy = DRIFT[view.drift % len(DRIFT)]
    body = body.move(round(dx * theme.u), round(dy * theme.u))
    center = (body.centerx, body.top + body.height // 4)
    bang(surface, center, radius, WARNING)
    y = center[1] + radius + theme.px(22)
    for key, size, colour, gap in (
        ("out_of_service", 40, INK, 10),
        ("ask_staff", 26, INK, 26),
        (f"issue_{view.issue.value}", 22, MUTED, 6),
        ("recovers_by_itself", 18, MUTED, 0),
    ):
        rect = blit_text(
            surface, theme, strings(key), theme.px(size), colour, "midtop", (body.centerx, y), width
        )
        y = rect.bottom + theme.px(gap)
    return hits
