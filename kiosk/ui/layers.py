"""The QR screen's static layer, drawn while the kiosk is idle, and the parts drawn over it.

Why: from a tap to the QR on screen the customer waits for the journal, PayPay, and a 1080p
frame, and every millisecond the loop spends drawing is one the sale worker waits for the
interpreter. Most of the QR screen (background, header, card, panel, labels, Cancel, banner
strip) depends only on the language, the mode and the layout, so the loop draws it once into a
spare surface while the kiosk is idle. A QR frame is a copy of that layer plus its parts (the
code, or a spinner in its place while creating; the amount; the countdown; the banner). The
frames after it redraw only the parts whose key changed: the rects such a part drew are taken
back from the layer, then it is drawn again and its new rects are kept (a countdown second
redraws the bar, and the code arriving after the spinner redraws the card, nothing else).
Invariant: the pixels always equal a full `render` of the frame (tests compare both, byte for
byte, frame after frame); a frame whose static part differs from the layer (another language,
an amount so long its text shrinks) is drawn in full, and forgets what the canvas held.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace

import pygame

from kiosk.domain import Phase, SaleView
from kiosk.ui.i18n import Strings
from kiosk.ui.screens import Frame, render
from kiosk.ui.screens.sale import Part, amount_text, on_qr_screen, qr_layout, qr_parts
from kiosk.ui.theme import Theme
from kiosk.ui.views import QR_PENDING, Chrome, SaleScreenView
from kiosk.ui.widgets import Hit, banners

LayerKey = tuple[Frame, int]  # the QR frame without what differs per sale; the amount's height
_NO_SALE = SaleView("", Phase.AWAITING_PAYMENT, 0, "", QR_PENDING)
IDLE_AMOUNTS_YEN = (0, 1000)  # "¥0" and "¥1,000": the comma makes the text taller


@dataclass(frozen=True)
class Layer:
    key: LayerKey
    surface: pygame.Surface
    hits: list[Hit]


@dataclass(frozen=True)
class OnCanvas:
    """What a surface shows: a layer, and per part drawn over it its key and rects."""

    surface: pygame.Surface
    key: LayerKey
    parts: dict[str, tuple[object, list[pygame.Rect]]]


def static_key(
    frame: Frame, surface: pygame.Surface, theme: Theme, strings: Strings
) -> LayerKey | None:
    """What a QR frame has in common with every other sale's; None for other frames."""
    screen = frame.screen
    if not isinstance(screen, SaleScreenView) or not on_qr_screen(screen):
        return None
    chrome = frame.chrome
    if chrome.pay_url is not None:
        chrome = replace(chrome, pay_url=QR_PENDING)
    layout = qr_layout(surface, theme, chrome)
    amount, _ = amount_text(theme, strings, layout, screen.sale.amount_yen)
    return Frame(chrome, SaleScreenView(_NO_SALE, 0)), amount.get_height()


def idle_frames(chrome: Chrome, pay_url_shown: bool) -> list[Frame]:
    """QR frames as the next sale on this screen (language, mode) will show them: one per
    height the amount's text can have (digits only, or with a comma below the line)."""
    pay_url = QR_PENDING if pay_url_shown else None
    chrome = replace(chrome, pay_url=pay_url)
    return [
        Frame(chrome, SaleScreenView(replace(_NO_SALE, amount_yen=amount_yen), 0))
        for amount_yen in IDLE_AMOUNTS_YEN
    ]


class LayerCache:
    """The prepared layers of the next QR screen (a few, each a full-screen surface)."""

    def __init__(self, keep: int = len(IDLE_AMOUNTS_YEN)) -> None:
        self.layers: OrderedDict[LayerKey, Layer] = OrderedDict()
        self.keep = keep
        self.used = 0  # frames drawn from a layer
        self.patched_only = 0  # of those, frames that redrew only the parts that changed
        self.on_canvas: OnCanvas | None = None

    def prepare(self, frame: Frame, size: tuple[int, int], theme: Theme, strings: Strings) -> None:
        """Draw `frame`'s static layer unless it is drawn already (cheap then)."""
        # called on every idle turn: lay out on an existing surface of that size (no 8 MB
        # allocation just to find the layer is drawn already)
        same = [x.surface for x in self.layers.values() if x.surface.get_size() == size]
        probe = same[0] if same else pygame.Surface(size)
        key = static_key(frame, probe, theme, strings)
        if key is None:
            return
        layer = self.layers.get(key)
        if layer is not None and layer.surface.get_size() == size:
            self.layers.move_to_end(key)
            return
        surface = pygame.Surface(size)
        if pygame.display.get_surface() is not None:
            surface = surface.convert()  # the display's format: the copy is a plain memcpy
        hits = render(surface, frame, theme, strings)  # QR_PENDING: only the static part
        self.layers[key] = Layer(key, surface, hits)
        while len(self.layers) > self.keep:
            self.layers.popitem(last=False)

    def draw(
        self, surface: pygame.Surface, frame: Frame, theme: Theme, strings: Strings
    ) -> tuple[list[Hit], list[pygame.Rect]] | None:
        """Draw `frame` from a layer if one matches: its hits and the rects that changed.
        None (the caller renders in full) when none matches."""
        layer = self._layer_for(surface, frame, theme, strings)
        if layer is None:
            self.on_canvas = None
            return None
        assert isinstance(frame.screen, SaleScreenView)
        parts = qr_parts(surface, frame.screen, frame.chrome, theme, strings)
        chrome = frame.chrome
        parts.append(Part("banner", chrome.pay_url, lambda s: banners(s, theme, chrome, strings)))
        shown = self.on_canvas
        drawn: dict[str, tuple[object, list[pygame.Rect]]] = {}
        if shown is not None and shown.surface is surface and shown.key == layer.key:
            changed = self._redraw_changed(surface, layer, shown.parts, parts, drawn)
            self.patched_only += 1
        else:
            surface.blit(layer.surface, (0, 0))
            for part in parts:
                drawn[part.name] = (part.key, part.draw(surface))
            changed = [surface.get_rect()]
        self.on_canvas = OnCanvas(surface, layer.key, drawn)
        self.used += 1
        return list(layer.hits), changed

    @staticmethod
    def _redraw_changed(
        surface: pygame.Surface,
        layer: Layer,
        before: dict[str, tuple[object, list[pygame.Rect]]],
        parts: list[Part],
        drawn: dict[str, tuple[object, list[pygame.Rect]]],
    ) -> list[pygame.Rect]:
        """Redraw the parts whose key changed (their old rects taken back from the layer);
        fill `drawn` with every part's key and rects; return the rects that changed."""
        changed: list[pygame.Rect] = []
        for part in parts:
            key, rects = before.get(part.name, (None, []))
            if part.name in before and key == part.key:
                drawn[part.name] = (key, rects)
                continue
            for rect in rects:
                surface.blit(layer.surface, rect, rect)
            new = part.draw(surface)
            drawn[part.name] = (part.key, new)
            changed += rects + new
        return changed

    def _layer_for(
        self, surface: pygame.Surface, frame: Frame, theme: Theme, strings: Strings
    ) -> Layer | None:
        if not self.layers:
            return None
        key = static_key(frame, surface, theme, strings)
        layer = self.layers.get(key) if key is not None else None
        if layer is None or layer.surface.get_size() != surface.get_size():
            return None
        return layer
