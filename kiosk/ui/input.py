"""Raw pygame events -> the few things the kiosk reacts to: a tap (on release), opening the
attendant menu (long press on a corner, a key, a GPIO button), and a window close.

Why one stream: SDL reports a finger on a touchscreen twice, as FINGERDOWN/UP and again as
synthetic mouse events marked `touch=True`. We take fingers from FINGER* events, real mice from
non-synthetic mouse events, and drop the synthetic copies, so one touch is one tap.
Coordinates are turned back through the display rotation into the layout's (logical) space.
"""

from __future__ import annotations

from dataclasses import dataclass

import pygame

ATTENDANT_EVENT = pygame.event.custom_type()  # posted by a GPIO button (thread-safe in SDL)
CORNER_PX = 96  # the long-press zone, at 800x480 (scaled)
DIGIT_KEYS = {getattr(pygame, f"K_{d}"): str(d) for d in range(10)}
DIGIT_KEYS |= {getattr(pygame, f"K_KP{d}"): str(d) for d in range(10)}


@dataclass(frozen=True)
class Tap:
    pos: tuple[int, int]


@dataclass(frozen=True)
class OpenAttendant:
    source: str  # corner | key | gpio


@dataclass(frozen=True)
class KeyAction:
    action: str  # digit | delete | pin_ok
    arg: str = ""


@dataclass(frozen=True)
class Quit:
    pass


@dataclass(frozen=True)
class Expose:
    pass


Action = Tap | OpenAttendant | KeyAction | Quit | Expose


def to_logical(
    pos: tuple[float, float], logical: tuple[int, int], rotation: int
) -> tuple[int, int]:
    """A display point back into the layout's coordinates; the display shows the layout
    rotated `rotation` degrees clockwise."""
    x, y = int(pos[0]), int(pos[1])
    w, h = logical
    if rotation == 90:
        return y, h - 1 - x
    if rotation == 180:
        return w - 1 - x, h - 1 - y
    if rotation == 270:
        return w - 1 - y, x
    return x, y


def corner_rect(corner: str, logical: tuple[int, int], size_px: int) -> pygame.Rect:
    rect = pygame.Rect(0, 0, size_px, size_px)
    w, h = logical
    rect.right = w if "right" in corner else size_px
    rect.bottom = h if "bottom" in corner else size_px
    return rect


@dataclass
class _Press:
    started_at: float
    in_corner: bool
    fired: bool = False


class InputRouter:
    def __init__(
        self,
        logical: tuple[int, int],
        display: tuple[int, int],
        rotation: int,
        corner: pygame.Rect,
        hold_s: float,
        attendant_key: int,
    ) -> None:
        self.logical, self.display, self.rotation = logical, display, rotation
        self.corner, self.hold_s, self.attendant_key = corner, hold_s, attendant_key
        self._presses: dict[object, _Press] = {}  # finger id or "mouse" -> press

    def feed(self, event: pygame.event.Event, now: float) -> list[Action]:
        kind = event.type
        if kind in (pygame.MOUSEBUTTONDOWN, pygame.MOUSEBUTTONUP):
            if getattr(event, "touch", False) or event.button != 1:
                return []  # SDL's copy of a finger, or not the primary button
            pos = to_logical(event.pos, self.logical, self.rotation)
            return (
                self._down("mouse", pos, now)
                if kind == pygame.MOUSEBUTTONDOWN
                else self._up("mouse", pos)
            )
        if kind in (pygame.FINGERDOWN, pygame.FINGERUP):
            w, h = self.display
            pos = to_logical((event.x * w, event.y * h), self.logical, self.rotation)
            key = ("finger", event.touch_id, event.finger_id)
            return self._down(key, pos, now) if kind == pygame.FINGERDOWN else self._up(key, pos)
        if kind == pygame.KEYDOWN:
            return self._key(event.key)
        if kind == ATTENDANT_EVENT:
            return [OpenAttendant("gpio")]
        if kind == pygame.QUIT:
            return [Quit()]
        if kind in (pygame.WINDOWEXPOSED, pygame.VIDEOEXPOSE, pygame.WINDOWSIZECHANGED):
            return [Expose()]
        return []

    def _down(self, key: object, pos: tuple[int, int], now: float) -> list[Action]:
        self._presses[key] = _Press(now, self.corner.collidepoint(pos))
        return []

    def _up(self, key: object, pos: tuple[int, int]) -> list[Action]:
        press = self._presses.pop(key, None)
        if press is None or press.fired:
            return []  # a release without a press, or the long press already acted
        return [Tap(pos)]

    def _key(self, key: int) -> list[Action]:
        if key == self.attendant_key:
            return [OpenAttendant("key")]
        if key in DIGIT_KEYS:
            return [KeyAction("digit", DIGIT_KEYS[key])]
        if key == pygame.K_BACKSPACE:
            return [KeyAction("delete")]
        if key in (pygame.K_RETURN, pygame.K_KP_ENTER):
            return [KeyAction("pin_ok")]
        return []  # Escape included: it never closes the kiosk

    def poll(self, now: float) -> list[Action]:
        """Long presses that have now been held long enough."""
        actions: list[Action] = []
        for press in self._presses.values():
            if press.in_corner and not press.fired and now - press.started_at >= self.hold_s:
                press.fired = True
                actions.append(OpenAttendant("corner"))
        return actions

    def next_deadline_at(self) -> float | None:
        pending = [
            p.started_at + self.hold_s
            for p in self._presses.values()
            if p.in_corner and not p.fired
        ]
        return min(pending, default=None)


def request_attendant() -> None:
    """For a GPIO button callback (any thread): ask the loop to open the attendant PIN pad."""
    pygame.event.post(pygame.event.Event(ATTENDANT_EVENT))
