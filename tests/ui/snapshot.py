"""Compare a rendered Surface with a committed PNG, with a small tolerance.

Tolerance: anti-aliasing may differ by a few levels between FreeType builds, so a pixel counts
as different only beyond 48 levels in some channel, and up to 0.2% of pixels may differ.
"""

from __future__ import annotations

from pathlib import Path

import pygame
from PIL import Image, ImageChops

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
LEVEL_TOLERANCE = 48
PIXEL_FRACTION = 0.002


def to_image(surface: pygame.Surface) -> Image.Image:
    raw = pygame.image.tobytes(surface, "RGB")
    return Image.frombytes("RGB", surface.get_size(), raw)


def save_png(image: Image.Image, path: Path) -> None:
    """Palette PNG: screens are flat colours plus anti-aliasing, so 64 colours keep them
    small in the repository and still well within the tolerance."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image.quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        path, optimize=True
    )


def differing_fraction(a: Image.Image, b: Image.Image) -> float:
    if a.size != b.size:
        return 1.0
    diff = ImageChops.difference(a, b).convert("L")
    histogram = diff.point(lambda v: 255 if v > LEVEL_TOLERANCE else 0).histogram()
    return histogram[255] / (a.size[0] * a.size[1])


def check(surface: pygame.Surface, name: str, update: bool) -> None:
    path = SNAPSHOTS / f"{name}.png"
    image = to_image(surface)
    if update or not path.exists():
        save_png(image, path)
        if not update:
            raise AssertionError(f"snapshot {path.name} was missing; recorded it, rerun")
        return
    with Image.open(path) as stored:
        expected = stored.convert("RGB")
    fraction = differing_fraction(image, expected)
    if fraction > PIXEL_FRACTION:
        image.save(path.with_suffix(".actual.png"))
        raise AssertionError(
            f"{path.name}: {fraction:.2%} of pixels differ (allowed {PIXEL_FRACTION:.2%}); "
            f"the rendering is in {path.with_suffix('.actual.png').name}"
        )
