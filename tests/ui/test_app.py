"""The loop against a scripted backend: taps on release, one input stream, redraw only on
change, systemd notifications, sale phases and auto-return, out of service."""

from __future__ import annotations

import logging

import pygame
import pytest
from pyzbar.pyzbar import decode

from kiosk.domain import Phase, ServiceIssue
from kiosk.ui.app import App, open_display
from kiosk.ui.settings import UiSettings
from kiosk.ui.views import AttractView, MenuView, OutOfServiceView, SaleScreenView
from tests.ui.fakes import PIN_HASH, FakeClock, ScriptedBackend, ScriptedEvents
from tests.ui.scenes import ITEMS, QR_URL
from tests.ui.snapshot import to_image

SIZE = (800, 480)


class Kiosk:
    """An App on the dummy display with a fake clock and scripted events."""

    def __init__(self, backend: ScriptedBackend | None = None, **settings: object) -> None:
        self.backend = backend or ScriptedBackend()
        self.clock = FakeClock()
        self.events = ScriptedEvents(self.clock)
        self.notes: list[str] = []
        options: dict[str, object] = {
            "pin_hash": PIN_HASH,
            "catalogue": ITEMS[:4],
            "size": SIZE,
            "fullscreen": False,
            "default_language": "en",
        }
        options.update(settings)
        self.settings = UiSettings(**options)  # type: ignore[arg-type]
        open_display(self.settings)
        self.app = App(
            self.backend,
            self.settings,
            notify=self.notes.append,
            clock=self.clock,
            event_source=self.events,
        )
        self.app.turn()

    def target(self, action: str, arg: str = "") -> pygame.Rect:
        matches = [h.rect for h in self.app.hits if h.action == action and h.arg == arg]
        assert matches, f"no {action}:{arg} on screen; have {[h.action for h in self.app.hits]}"
        return matches[0]

    def finger(self, kind: int, pos: tuple[int, int], finger_id: int = 1) -> pygame.event.Event:
        w, h = self.app.window.get_size()
        return pygame.event.Event(
            kind,
            x=pos[0] / w,
            y=pos[1] / h,
            dx=0.0,
            dy=0.0,
            touch_id=1,
            finger_id=finger_id,
            pressure=1.0,
        )

    def mouse(self, kind: int, pos: tuple[int, int], touch: bool) -> pygame.event.Event:
        return pygame.event.Event(kind, pos=pos, button=1, touch=touch)

    def tap(self, action: str, arg: str = "") -> None:
        center = self.target(action, arg).center
        self.events.push(
            self.finger(pygame.FINGERDOWN, center), self.finger(pygame.FINGERUP, center)
        )
        self.turn()

    def key(self, key: int) -> None:
        self.events.push(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode="", scancode=0))
        self.turn()

    def turn(self, turns: int = 1) -> int | None:
        code = None
        for _ in range(turns):
            code = self.app.turn()
        return code

    @property
    def screen(self) -> object:
        assert self.app.frame is not None
        return self.app.frame.screen


def test_first_frame_tells_systemd_ready_then_status_and_watchdog() -> None:
    kiosk = Kiosk()
    assert not pygame.mouse.get_visible()  # a kiosk shows no cursor
    assert kiosk.notes[0] == "READY=1"
    assert "STATUS=attract" in kiosk.notes and "WATCHDOG=1" in kiosk.notes
    pings = kiosk.notes.count("WATCHDOG=1")
    kiosk.turn(40)  # ten seconds of idle turns
    assert kiosk.notes.count("WATCHDOG=1") >= pings + 4


def test_customer_flow_tap_pick_qr_pay_success_and_back_to_attract() -> None:
    kiosk = Kiosk()
    assert isinstance(kiosk.screen, AttractView)
    kiosk.tap("start")
    assert isinstance(kiosk.screen, MenuView)
    kiosk.tap("item", ITEMS[1].sku)
    assert [c[0] for c in kiosk.backend.calls] == ["begin_sale"]
    order = kiosk.backend.calls[0][1]
    assert order.amount_yen == ITEMS[1].price_yen  # type: ignore[attr-defined]
    kiosk.backend.show(Phase.AWAITING_PAYMENT, qr_url=QR_URL, seconds_left=120, seconds_total=120)
    kiosk.turn()
    assert "STATUS=sale:awaiting_payment" in kiosk.notes
    found = decode(to_image(kiosk.app.window).convert("L"))
    assert [r.data.decode() for r in found] == [QR_URL]
    kiosk.backend.show(Phase.SUCCEEDED)
    kiosk.turn()
    assert isinstance(kiosk.screen, SaleScreenView)
    kiosk.clock.now += kiosk.settings.result_screen_s
    kiosk.turn()
    assert ("acknowledge",) in kiosk.backend.calls
    assert isinstance(kiosk.screen, AttractView)
    assert kiosk.notes[-1] == "STATUS=attract" or "STATUS=attract" in kiosk.notes[-3:]


def test_cancel_on_the_qr_screen_and_done_dismisses_the_result() -> None:
    kiosk = Kiosk()
    kiosk.tap("start")
    kiosk.tap("item", ITEMS[0].sku)
    kiosk.backend.show(Phase.AWAITING_PAYMENT, qr_url=QR_URL, seconds_left=60, seconds_total=120)
    kiosk.turn()
    kiosk.tap("cancel")
    assert kiosk.backend.calls[-1] == ("cancel_sale",)
    kiosk.backend.show(Phase.CANCELLED, reason="cancelled")
    kiosk.turn()
    kiosk.tap("done")
    assert kiosk.backend.calls[-1] == ("acknowledge",)
    assert isinstance(kiosk.screen, AttractView)


def test_a_touch_counts_once_even_with_sdl_mouse_emulation() -> None:
    kiosk = Kiosk()
    center = kiosk.target("language").center
    kiosk.events.push(
        kiosk.finger(pygame.FINGERDOWN, center),
        kiosk.mouse(pygame.MOUSEBUTTONDOWN, center, touch=True),
        kiosk.finger(pygame.FINGERUP, center),
        kiosk.mouse(pygame.MOUSEBUTTONUP, center, touch=True),
    )
    kiosk.turn()
    assert kiosk.app.controller.language == "ja"  # toggled once, not twice


def test_a_real_mouse_click_works_and_acts_on_release() -> None:
    kiosk = Kiosk()
    center = kiosk.target("start").center
    kiosk.events.push(kiosk.mouse(pygame.MOUSEBUTTONDOWN, center, touch=False))
    kiosk.turn()
    assert isinstance(kiosk.screen, AttractView)  # pressed, not yet released
    kiosk.events.push(kiosk.mouse(pygame.MOUSEBUTTONUP, center, touch=False))
    kiosk.turn()
    assert isinstance(kiosk.screen, MenuView)


def test_redraws_only_when_something_visible_changes() -> None:
    kiosk = Kiosk()
    drawn = kiosk.app.frames_drawn
    kiosk.turn(20)  # five idle seconds
    assert kiosk.app.frames_drawn == drawn
    kiosk.tap("start")
    kiosk.tap("item", ITEMS[0].sku)
    kiosk.backend.show(Phase.AWAITING_PAYMENT, qr_url=QR_URL, seconds_left=100, seconds_total=120)
    kiosk.turn()
    drawn = kiosk.app.frames_drawn
    kiosk.turn(5)
    assert kiosk.app.frames_drawn == drawn
    kiosk.backend.show(Phase.AWAITING_PAYMENT, seconds_left=99)
    kiosk.turn()
    assert kiosk.app.frames_drawn == drawn + 1


def test_the_loop_waits_instead_of_spinning() -> None:
    kiosk = Kiosk()
    kiosk.turn(4)
    assert min(kiosk.events.timeouts[-3:]) >= 0.2  # idle: blocks up to a quarter second
    kiosk.tap("start")
    kiosk.tap("item", ITEMS[0].sku)
    kiosk.turn()
    assert kiosk.events.timeouts[-1] < 0.01  # the QR is due: poll quickly


def test_escape_and_window_close_never_close_a_fullscreen_kiosk() -> None:
    kiosk = Kiosk(fullscreen=True)
    kiosk.key(pygame.K_ESCAPE)
    kiosk.events.push(pygame.event.Event(pygame.QUIT))
    assert kiosk.turn() is None


def test_window_close_ends_a_windowed_session() -> None:
    kiosk = Kiosk()
    kiosk.events.push(pygame.event.Event(pygame.QUIT))
    assert kiosk.turn() == 0


def test_out_of_service_names_the_cause_and_recovers_by_itself() -> None:
    backend = ScriptedBackend(issue=ServiceIssue.NETWORK)
    kiosk = Kiosk(backend)
    assert isinstance(kiosk.screen, OutOfServiceView)
    assert kiosk.screen.issue is ServiceIssue.NETWORK
    assert "STATUS=out_of_service:network" in kiosk.notes
    kiosk.tap("language")  # the toggle still works; starting a sale does not exist here
    assert not any(h.action == "start" for h in kiosk.app.hits)
    backend.issue = None
    kiosk.turn()
    assert isinstance(kiosk.screen, AttractView)


def test_a_refused_sale_start_leaves_the_kiosk_usable(caplog: pytest.LogCaptureFixture) -> None:
    kiosk = Kiosk()
    kiosk.tap("start")
    kiosk.backend.issue = ServiceIssue.MAINTENANCE  # the item grid is already on screen
    with caplog.at_level(logging.WARNING):
        kiosk.tap("item", ITEMS[0].sku)
    assert "begin_refused" in caplog.text
    assert isinstance(kiosk.screen, OutOfServiceView)
    assert kiosk.screen.issue is ServiceIssue.MAINTENANCE


def test_menu_idle_returns_to_attract_in_the_default_language() -> None:
    kiosk = Kiosk(default_language="ja")
    kiosk.tap("language")
    kiosk.tap("start")
    assert kiosk.app.controller.language == "en"
    kiosk.clock.now += 61
    kiosk.turn()
    assert isinstance(kiosk.screen, AttractView)
    assert kiosk.app.controller.language == "ja"


def test_keypad_mode_keys_an_amount() -> None:
    kiosk = Kiosk(catalogue=())
    kiosk.tap("start")
    for digit in "0150":  # a leading zero is ignored
        kiosk.tap("digit", digit)
    kiosk.tap("delete")
    kiosk.tap("digit", "5")
    kiosk.tap("confirm")
    assert kiosk.backend.calls[0][1].amount_yen == 155  # type: ignore[attr-defined]


def test_a_rotated_display_lays_out_sideways_and_maps_touches_back() -> None:
    kiosk = Kiosk(rotation=90)  # an 800x480 panel mounted in portrait
    assert kiosk.app.logical == (480, 800)
    lx, ly = kiosk.target("start").center
    display = (kiosk.app.logical[1] - 1 - ly, lx)  # where a 90° clockwise turn shows it
    kiosk.events.push(
        kiosk.finger(pygame.FINGERDOWN, display), kiosk.finger(pygame.FINGERUP, display)
    )
    kiosk.turn()
    assert isinstance(kiosk.screen, MenuView)
    assert kiosk.app.window.get_size() == (800, 480)


def test_sounds_are_off_by_default_and_play_when_enabled() -> None:
    from kiosk.ui.sound import Sounds
    from kiosk.ui.theme import ASSETS

    assert not Kiosk().app.sounds.enabled
    sounds = Sounds(True, ASSETS)
    assert sounds.enabled
    sounds.phase_entered(Phase.SUCCEEDED)  # plays through SDL's dummy audio driver
    sounds.phase_entered(Phase.CONFIRMING)  # no sound for a phase without one
    assert not Sounds(True, ASSETS / "missing").enabled


def test_an_unknown_attendant_key_is_refused_with_its_name() -> None:
    with pytest.raises(ValueError, match="attendant_key='hyperspace'"):
        Kiosk(attendant_key="hyperspace")


def test_the_starting_screen_shows_before_the_engine_exists() -> None:
    from kiosk.ui.app import show_starting

    settings = UiSettings(pin_hash=PIN_HASH, size=SIZE, fullscreen=False, default_language="en")
    window = show_starting(settings)
    assert window.get_size() == SIZE
    assert window.get_at((400, 300))[:3] != (0, 0, 0)  # drawn, not black
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_F12, mod=0))
    kiosk = Kiosk()  # the App takes the display over; input from before it is dropped
    assert isinstance(kiosk.screen, AttractView)
