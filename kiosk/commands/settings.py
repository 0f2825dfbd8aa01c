"""The configuration turned into what the engine asks for (`SaleSettings`), and the attendant
PIN hash the UI checks against.

Why here and not in `kiosk.config`: the configuration layer imports neither the engine nor the
UI; only the composition root knows all three. The UI's settings are in `uisettings.py`.
"""

from __future__ import annotations

import logging
import os

from kiosk.config import Config, Mode
from kiosk.domain import SaleSettings
from kiosk.engine.retention import RetentionSettings
from kiosk.ops.pin import hash_pin

log = logging.getLogger(__name__)

DEMO_PIN = "1234"  # documented; only when no pin_hash is configured outside production


def to_sale_settings(config: Config) -> SaleSettings:
    return SaleSettings(
        terminal_id=config.terminal_id,
        store_id=config.store_id or None,
        qr_timeout_s=float(config.qr_timeout_s),
        poll_interval_s=config.poll_interval_s,
        grace_s=float(config.grace_s),
        preauth=config.preauth,
        on_paid_not_vended=config.on_paid_not_vended.value,
        vend=config.vend.adapter.value,
        vend_command=config.vend.argv,
        vend_timeout_s=config.vend.timeout_s,
        vend_gpio_pin=config.vend.gpio_pin,
        vend_pulse_s=config.vend.pulse_s,
        vend_deadline_s=config.vend.deadline_s,
    )


def retention_of(config: Config) -> RetentionSettings:
    return RetentionSettings(
        archive_after_days=config.journal.archive_after_days,
        prune_steps_after_days=config.journal.prune_steps_after_days,
    )


ARCHIVE_DIRNAME = "archive"  # beside the journal in the state directory


def attendant_pin_hash(config: Config, salt: bytes | None = None) -> str:
    if config.attendant.pin_hash:
        return config.attendant.pin_hash
    if config.mode is Mode.PRODUCTION:  # load_config refuses this; never fall back here
        raise ValueError("production needs attendant.pin_hash")
    log.warning("attendant pin=demo note=%s", "no pin_hash configured: the PIN is 1234")
    return hash_pin(DEMO_PIN, salt if salt is not None else os.urandom(16))
