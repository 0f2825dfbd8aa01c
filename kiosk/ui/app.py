"""The kiosk's one loop: input -> backend.pump() -> decide the frame -> draw if changed -> wait.

Why this shape: the loop never blocks on the network (the runner's worker does that), so the
screen always answers a touch; it redraws only when the Frame (a value) changed and otherwise
sleeps between short looks at the input (`wait_for_events`), so an idle kiosk costs almost no
CPU; and it pings the systemd watchdog itself, so a frozen loop gets the process restarted.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

import pygame

from kiosk.domain import FINAL_PHASES, Phase
from kiosk.ui.backend import KioskBackend
from kiosk.ui.controller import Controller
from kiosk.ui.i18n import Strings
from kiosk.ui.input import (
    CORNER_PX,
    Expose,
    InputRouter,
    KeyAction,
    OpenAttendant,
    Quit,
    Tap,
    corner_rect,
)
from kiosk.ui.layers import LayerCache, idle_frames
from kiosk.ui.pin_gate import LockoutStore
from kiosk.ui.screens import Frame, hit_test, render
from kiosk.ui.settings import UiSettings
from kiosk.ui.sound import Sounds
from kiosk.ui.theme import ASSETS, Theme
from kiosk.ui.views import Chrome, SaleScreenView, StartingView
from kiosk.ui.widgets import Hit

logger = logging.getLogger(__name__)

EventSource = Callable[[float], list[pygame.event.Event]]
Notify = Callable[[str], None]

IDLE_WAIT_S = 0.25  # countdown seconds and backend changes show within a quarter second
BUSY_WAIT_S = 0.002  # while a QR or a result is expected: poll the backend quickly
SPIN_WAIT_S = 1 / 16
WATCHDOG_EVERY_S = 2.0
POLL_S = 0.02  # input is looked at 50 times a second while waiting


def wait_for_events(timeout_s: float) -> list[pygame.event.Event]:
    """Wait until input arrives or the timeout passes, then take everything queued.

    Not `pygame.event.wait(timeout)`: pygame implements that as a 1 ms SDL_Delay poll, a
    thousand wake-ups a second that cost an idle kiosk several per cent of a core. Sleeping in
    POLL_S slices costs a fiftieth of that and adds at most POLL_S to a touch's response.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        events = pygame.event.get()
        left = deadline - time.monotonic()
        if events or left <= 0:
            return events
        time.sleep(min(POLL_S, left))


def open_display(settings: UiSettings) -> pygame.Surface:
    pygame.display.init()
    pygame.font.init()
    if pygame.display.get_driver() == "x11":
        # SDL would otherwise present the window through a GL texture, re-uploading the whole
        # frame on every update (about 20 ms of CPU per 1080p frame with a software GL); the
        # plain X11 (MIT-SHM) framebuffer updates only the changed pixels. An operator may
        # still choose otherwise through the environment.
        os.environ.setdefault("SDL_FRAMEBUFFER_ACCELERATION", "0")
    flags = pygame.FULLSCREEN if settings.fullscreen else 0
    window = pygame.display.set_mode(settings.size or (0, 0), flags)
    pygame.display.set_caption(settings.brand_name)
    pygame.mouse.set_visible(False)
    return window


def show_starting(settings: UiSettings) -> pygame.Surface:
    """Open the display and show "Starting…" at once, before the (slower) sale engine and
    simulator are built; `App` takes the display over afterwards."""
    window = open_display(settings)
    sideways = settings.rotation in (90, 270)
    size = window.get_size()
    logical = (size[1], size[0]) if sideways else size
    canvas = pygame.Surface(logical) if settings.rotation else window
    assets = Path(settings.assets_dir) if settings.assets_dir else ASSETS
    strings = Strings(settings.default_language)
    chrome = Chrome(
        settings.default_language, settings.mode, settings.brand_name, settings.accent_rgb
    )
    render(
        canvas, Frame(chrome, StartingView()), Theme(logical, settings.accent_rgb, assets), strings
    )
    if canvas is not window:
        window.blit(pygame.transform.rotate(canvas, -settings.rotation), (0, 0))
    pygame.display.flip()
    return window


class App:
    """One kiosk session on an open display; `turn()` runs one turn of the loop."""

    def __init__(
        self,
        backend: KioskBackend,
        settings: UiSettings,
        *,
        notify: Notify,
        clock: Callable[[], float],
        event_source: EventSource,
        lockouts: LockoutStore | None = None,
    ) -> None:
        self.backend, self.settings, self.notify, self.clock = backend, settings, notify, clock
        self.event_source = event_source
        window = pygame.display.get_surface()
        if window is None:
            raise RuntimeError("open the display (open_display) before starting the App")
        self.window = window
        pygame.event.clear()  # a touch on the starting screen meant nothing yet
        display = self.window.get_size()
        sideways = settings.rotation in (90, 270)
        self.logical = (display[1], display[0]) if sideways else display
        self.canvas = pygame.Surface(self.logical) if settings.rotation else self.window
        assets = Path(settings.assets_dir) if settings.assets_dir else ASSETS
        self.theme = Theme(self.logical, settings.accent_rgb, assets)
        now = clock()
        self.controller = Controller(backend, settings, now, lockouts=lockouts)
        corner = corner_rect(settings.attendant_corner, self.logical, self.theme.px(CORNER_PX))
        try:
            key = pygame.key.key_code(settings.attendant_key)
        except ValueError:
            raise ValueError(
                f"attendant_key={settings.attendant_key!r} is not a key name pygame knows "
                "(for example f12, home, pause)"
            ) from None
        self.router = InputRouter(
            self.logical, display, settings.rotation, corner, settings.attendant_hold_s, key
        )
        self.sounds = Sounds(settings.sounds, assets)
        self.hits: list[Hit] = []
        self.layers = LayerCache()
        self.frame: Frame | None = None
        self.frames_drawn = 0
        self._force = True
        self._ready = False
        self._status: str | None = None
        self._last_ping_at = -WATCHDOG_EVERY_S
        self._phase: Phase | None = None
        self._quick_until_at = 0.0

    def turn(self, timeout_s: float | None = None) -> int | None:
        """Wait (up to the computed timeout) for input, handle it, pump, redraw if needed.
        Returns an exit code when the kiosk should stop."""
        events = self.event_source(self.wait_s() if timeout_s is None else timeout_s)
        now = self.clock()
        for event in events:
            for action in self.router.feed(event, now):
                self._handle(action, now)
        for action in self.router.poll(now):
            self._handle(action, now)
        self.backend.pump()
        self.controller.tick(now)
        self._draw(now)
        self._prepare_qr_layer()
        self._tell_systemd(now)
        return 0 if self.controller.exit_requested else None

    def _handle(self, action: object, now: float) -> None:
        if isinstance(action, Tap):
            hit = hit_test(self.hits, action.pos)
            if hit is not None:
                self.controller.act(hit.action, hit.arg, now)
                self._quick_until_at = now + 0.5
        elif isinstance(action, OpenAttendant):
            self.controller.open_attendant(action.source, now)
        elif isinstance(action, KeyAction):
            if self.controller.pin_pad_open:
                self.controller.act(action.action, action.arg, now)
        elif isinstance(action, Quit):
            self.controller.window_closed()
        elif isinstance(action, Expose):
            self._force = True

    def _draw(self, now: float) -> None:
        frame = self.controller.frame(now)
        if frame == self.frame and not self._force:
            return
        strings = self.controller.strings
        drawn = self.layers.draw(self.canvas, frame, self.theme, strings)
        if drawn is None:
            self.hits, changed = render(self.canvas, frame, self.theme, strings), None
        else:
            self.hits, changed = drawn
        if self.canvas is not self.window:
            self.window.blit(pygame.transform.rotate(self.canvas, -self.settings.rotation), (0, 0))
            pygame.display.flip()
        elif changed is None or self._force:
            pygame.display.flip()
        else:  # only what changed reaches the display (an X or DRM copy of a few rects)
            pygame.display.update(changed)
        self.frame, self._force = frame, False
        self.frames_drawn += 1
        self._sound_for(frame)

    def _prepare_qr_layer(self) -> None:
        """On an idle customer screen, draw the QR screen's static part for the next sale (once
        per language and mode); a tap's QR then costs a copy plus the code."""
        frame = self.frame
        if frame is None or isinstance(frame.screen, SaleScreenView):
            return
        if self.controller.attendant_open or self.backend.current_sale() is not None:
            return
        for idle in idle_frames(frame.chrome, self.settings.pay_url_shown):
            self.layers.prepare(idle, self.logical, self.theme, self.controller.strings)

    def _sound_for(self, frame: Frame) -> None:
        sale = self.backend.current_sale()
        phase = sale.phase if sale else None
        if phase != self._phase and phase in FINAL_PHASES:
            self.sounds.phase_entered(phase)
        self._phase = phase

    def _tell_systemd(self, now: float) -> None:
        if not self._ready:
            self.notify("READY=1")
            self._ready = True
        status = self.controller.status()
        if status != self._status:
            self.notify(f"STATUS={status}")
            self._status = status
        if now - self._last_ping_at >= WATCHDOG_EVERY_S:
            self.notify("WATCHDOG=1")
            self._last_ping_at = now

    def wait_s(self) -> float:
        """How long the next wait may block: very short while the QR is due (tap to QR is what
        a customer feels), short while a spinner turns, else IDLE_WAIT_S; never past the end
        of a long press."""
        now = self.clock()
        sale = self.backend.current_sale()
        phase = sale.phase if sale else None
        if phase is Phase.CREATING or now < self._quick_until_at:
            wait = BUSY_WAIT_S
        elif phase in (Phase.CONFIRMING, Phase.VENDING) or self.controller.gate.checking:
            wait = SPIN_WAIT_S
        else:
            wait = IDLE_WAIT_S
        deadline = self.router.next_deadline_at()
        if deadline is not None:
            wait = min(wait, max(0.0, deadline - now))
        return max(0.001, wait)
