"""UI test settings: pygame headless, one display for the session, --snapshot-update."""

from __future__ import annotations

from collections.abc import Iterator

import pygame
import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--snapshot-update",
        action="store_true",
        default=False,
        help="re-record the UI snapshot PNGs instead of comparing against them",
    )


@pytest.fixture(scope="session")
def snapshot_update(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--snapshot-update"))


@pytest.fixture(scope="session", autouse=True)
def pygame_session() -> Iterator[None]:
    pygame.display.init()
    pygame.font.init()
    yield
    pygame.quit()
