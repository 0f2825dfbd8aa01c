"""Optional success and error sounds (off by default). A missing mixer or file only logs: no
confirmation ever depends on sound alone, so sound may fail silently without harm."""

from __future__ import annotations

import logging
from pathlib import Path

import pygame

from kiosk.domain import Phase

logger = logging.getLogger(__name__)

FILES = {"success": "sounds/success.wav", "error": "sounds/error.wav"}
PHASE_SOUNDS = {
    Phase.SUCCEEDED: "success",
    Phase.FAILED: "error",
    Phase.EXPIRED: "error",
    Phase.REFUNDED: "error",
    Phase.HELD: "error",
}


class Sounds:
    def __init__(self, enabled: bool, assets: Path) -> None:
        self._sounds: dict[str, pygame.mixer.Sound] = {}
        if not enabled:
            return
        try:
            pygame.mixer.init()
            self._sounds = {name: pygame.mixer.Sound(str(assets / f)) for name, f in FILES.items()}
        except (pygame.error, FileNotFoundError) as exc:
            logger.warning("sounds_unavailable error=%s", exc)

    @property
    def enabled(self) -> bool:
        return bool(self._sounds)

    def phase_entered(self, phase: Phase) -> None:
        name = PHASE_SOUNDS.get(phase)
        if name and name in self._sounds:
            self._sounds[name].play()
