"""Fixtures for the client tests: a scripted local server and exact, injectable time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from kiosk import opa
from tests.opa.server import KEY, SECRET, OpaTestServer

EPOCH = 1_700_000_000


@dataclass
class FakeTime:
    """Epoch and monotonic clocks that only move when the client sleeps."""

    epoch: float = float(EPOCH)
    mono: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.epoch

    def monotonic(self) -> float:
        return self.mono

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.mono += seconds
        self.epoch += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def server(fake_time: FakeTime) -> Iterator[OpaTestServer]:
    with OpaTestServer(now_epoch=lambda: int(fake_time.epoch)) as running:
        yield running


def nonces() -> Any:
    counter = iter(range(1, 10**6))
    return lambda: f"n{next(counter):07d}"


def make_client(
    server: OpaTestServer, fake_time: FakeTime | None = None, **kwargs: Any
) -> opa.Client:
    """A client aimed at ``server`` with exact time, nonces and jitter (unless overridden)."""
    if fake_time is not None:
        kwargs.setdefault("clock", fake_time.clock)
        kwargs.setdefault("monotonic", fake_time.monotonic)
        kwargs.setdefault("sleep", fake_time.sleep)
    kwargs.setdefault("nonce_factory", nonces())
    kwargs.setdefault("jitter", lambda: 0.5)
    return opa.Client(auth=(KEY, SECRET), base_url=server.base_url, **kwargs)


@pytest.fixture
def client(server: OpaTestServer, fake_time: FakeTime) -> Iterator[opa.Client]:
    with make_client(server, fake_time) as made:
        yield made
