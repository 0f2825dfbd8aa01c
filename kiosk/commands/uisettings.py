"""The configuration turned into the UI's `UiSettings`.

Why separate from `settings.py`: operator commands (refund, reconcile) need the engine's
settings but must not import the UI (and pygame).
"""

from __future__ import annotations

from kiosk.config import Config, Mode, VendAdapter
from kiosk.ui.settings import UiSettings


def to_ui_settings(config: Config, pin_hash: str) -> UiSettings:
    display = config.display
    return UiSettings(
        pin_hash=pin_hash,
        catalogue=config.catalogue if config.entry == "catalogue" else (),
        default_language=config.language,
        time_zone=config.display_time_zone,
        mode=config.mode,
        show_pay_url=config.mode is Mode.DEMO,
        size=(display.width, display.height) if display.width and display.height else None,
        fullscreen=display.fullscreen,
        rotation=display.rotation,
        sounds=config.sounds,
        attendant_corner=config.attendant.corner,
        attendant_hold_s=config.attendant.hold_s,
        max_amount_yen=config.amount_max_yen,
        mdb_mode=config.mdb.mode if config.vend.adapter is VendAdapter.MDB else "",
        mdb_credit_yen=config.mdb.credit_yen,
    )
