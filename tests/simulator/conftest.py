"""A fresh simulator per test on a free port, with a fake wall clock tests move by hand."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kiosk.simulator import Simulator, SimulatorConfig, SimulatorControl, start_simulator
from tests.simulator.signed import Signed, close_sessions

KEY, SECRET, MERCHANT = "test_key", "test_secret", "test_merchant"
START = 1_700_000_000.0  # 2023-11-15 07:13:20 JST


class FakeWall:
    def __init__(self, at: float = START) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


@pytest.fixture(autouse=True)
def _close_signed_sessions() -> Iterator[None]:
    yield
    close_sessions()


@pytest.fixture
def wall() -> FakeWall:
    return FakeWall()


@pytest.fixture
def sim(wall: FakeWall) -> Iterator[Simulator]:
    config = SimulatorConfig(
        api_key=KEY, api_secret=SECRET, merchant_id=MERCHANT, control=True, wall=wall, seed=7
    )
    simulator = start_simulator(config)
    yield simulator
    simulator.stop()


@pytest.fixture
def api(sim: Simulator, wall: FakeWall) -> Iterator[Signed]:
    client = Signed(sim.base_url, KEY, SECRET, MERCHANT, epoch=wall)
    yield client
    client.session.close()


@pytest.fixture
def ctl(sim: Simulator) -> Iterator[SimulatorControl]:
    control = SimulatorControl(sim.base_url)
    yield control
    control.close()
