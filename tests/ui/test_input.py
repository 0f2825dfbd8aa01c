"""Touch coordinates through display rotation, and the attendant corner."""

from __future__ import annotations

import pygame
import pytest

from kiosk.ui.input import corner_rect, to_logical


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_to_logical_inverts_the_rotation_the_display_applies(rotation: int) -> None:
    logical = (8, 5)
    canvas = pygame.Surface(logical)
    canvas.fill((0, 0, 0))
    for x, y in ((0, 0), (7, 0), (2, 3), (7, 4)):
        canvas.fill((0, 0, 0))
        canvas.set_at((x, y), (255, 255, 255))
        shown = pygame.transform.rotate(canvas, -rotation)
        lit = [
            (dx, dy)
            for dx in range(shown.get_width())
            for dy in range(shown.get_height())
            if shown.get_at((dx, dy))[0] == 255
        ]
        assert len(lit) == 1
        assert to_logical(lit[0], logical, rotation) == (x, y)


def test_corner_rect_sits_in_the_named_corner() -> None:
    assert corner_rect("top-left", (800, 480), 96).topleft == (0, 0)
    assert corner_rect("bottom-right", (800, 480), 96).bottomright == (800, 480)
    assert corner_rect("top-right", (800, 480), 96).topright == (800, 0)
    assert corner_rect("bottom-left", (800, 480), 96).bottomleft == (0, 480)
