"""What the UI is told by its composition root (`kiosk run`): nothing here reads files or the
environment. Validated at construction so a bad value stops the start with a clear message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kiosk.config.options import BY_NAME, Mode
from kiosk.domain import Item, time_zone
from kiosk.ops.pin import is_pin_hash
from kiosk.ui.i18n import LANGUAGES

__all__ = ["CORNERS", "ROTATIONS", "Mode", "UiSettings"]  # Mode: the DEMO banner, SANDBOX mark


def _default(option: str) -> Any:
    """A default the options table gives (the one source), for UiSettings built without one."""
    return BY_NAME[option].default


CORNERS: tuple[str, ...] = BY_NAME["attendant.corner"].choices
ROTATIONS: tuple[int, ...] = BY_NAME["display.rotation"].choices


@dataclass(frozen=True)
class UiSettings:
    pin_hash: str  # pbkdf2_sha256$...; see kiosk.ops.pin
    catalogue: tuple[Item, ...] = ()  # empty: the attendant keys the amount (keypad mode)
    default_language: str = _default("language")
    time_zone: str = _default("display_time_zone")  # IANA name: every time the attendant sees
    mode: Mode = Mode.DEMO
    show_pay_url: bool = True  # demo only: print the pay page's URL under the QR
    size: tuple[int, int] | None = None  # None: the display's own size
    fullscreen: bool = _default("display.fullscreen")
    rotation: int = _default("display.rotation")  # degrees clockwise; touch is rotated back
    sounds: bool = _default("sounds")
    attendant_corner: str = _default("attendant.corner")
    attendant_key: str = "f12"  # a pygame key name
    attendant_hold_s: float = _default("attendant.hold_s")
    brand_name: str = "QR Kiosk"
    accent_rgb: tuple[int, int, int] = (0xFF, 0x00, 0x33)
    result_screen_s: float = 6.0  # a final phase stays this long, unless tapped away
    max_amount_yen: int = 999_999  # keypad limit
    assets_dir: str | None = None  # None: the repository's assets/
    mdb_mode: str = ""  # vending machine (MDB): "selection" | "credit"; "" without one
    mdb_credit_yen: int = 0  # credit first: what a customer pays before choosing
    # the attendant menu's vending machine line: (link state, last results newest first)
    hardware_status: Callable[[], tuple[str, tuple[str, ...]]] | None = None

    def __post_init__(self) -> None:
        checks = [
            (self.default_language in LANGUAGES, "default_language", LANGUAGES),
            (self.attendant_corner in CORNERS, "attendant_corner", CORNERS),
            (self.rotation in ROTATIONS, "rotation", ROTATIONS),
            (self.attendant_hold_s > 0, "attendant_hold_s", "a positive number of seconds"),
            (self.result_screen_s > 0, "result_screen_s", "a positive number of seconds"),
        ]
        for ok, name, allowed in checks:
            if not ok:
                raise ValueError(f"{name}={getattr(self, name)!r} is not allowed; use {allowed}")
        time_zone(self.time_zone)  # ValueError names the zone
        if not is_pin_hash(self.pin_hash):
            raise ValueError(
                "pin_hash is not a pbkdf2_sha256$... hash; make one with kiosk hash-pin"
            )
        skus = [item.sku for item in self.catalogue]
        if len(set(skus)) != len(skus):
            raise ValueError("catalogue has duplicate skus")

    @property
    def keypad_mode(self) -> bool:
        return not self.catalogue

    @property
    def pay_url_shown(self) -> bool:
        """Demo: the banner names the QR's pay page, so a browser can pay it."""
        return self.show_pay_url and self.mode == "demo"
