"""`python -m tests.ui.make_screenshots`: the screenshots in docs/, made from the UI snapshots
(run `pytest tests/ui --snapshot-update -k snapshot` first; `make screenshots` does both)."""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

from tests.ui.snapshot import SNAPSHOTS

ROOT = Path(__file__).resolve().parent.parent.parent
OUT = ROOT / "docs" / "screenshots"
WIDTH = 960  # Screenshots in the docs are shown at most this wide

# picture name -> snapshot name
CHOSEN = {
    "attract": "attract_ja_1920x1080",
    "menu": "menu_en_1920x1080",
    "qr": "qr_en_1920x1080",
    "qr_portrait": "qr_ja_1080x1920",
    "succeeded": "succeeded_ja_1920x1080",
    "expired": "expired_en_1920x1080",
    "out_of_service": "out_of_service_en_1920x1080",
    "attendant_pin": "pin_locked_en_1920x1080",
    "attendant_menu": "attendant_menu_en_1920x1080",
    "attendant_refund": "refund_en_1920x1080",
    "keypad": "keypad_ja_800x480",
    "creating": "creating_en_800x480",
    "held_sales": "held_sales_en_1920x1080",
}


def make(name: str, snapshot: str) -> Path:
    with Image.open(SNAPSHOTS / f"{snapshot}.png") as image:
        picture = image.convert("RGB")
    width = min(WIDTH, picture.width) if picture.width > picture.height else WIDTH // 2
    height = round(picture.height * width / picture.width)
    picture = picture.resize((width, height), Image.Resampling.LANCZOS)
    path = OUT / f"{name}.png"
    picture.quantize(colors=128, dither=Image.Dither.NONE).save(path, optimize=True)
    return path


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, snapshot in CHOSEN.items():
        print(make(name, snapshot).relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
