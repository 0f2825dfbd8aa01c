"""Fleet fixtures: one real Mosquitto and one real PostgreSQL per test session (Debian's
packages, temporary directories, free 127.0.0.1 ports); each test gets its own database."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from tools.fleetservers import Mosquitto, Postgres, remove, scratch_dir

_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def broker() -> Iterator[Mosquitto]:
    directory = scratch_dir("fleet-mosquitto-")
    server = Mosquitto(directory)
    server.start()
    yield server
    server.stop()
    remove(directory)


@pytest.fixture
def own_broker() -> Iterator[Mosquitto]:
    """A broker this test may stop and start."""
    directory = scratch_dir("fleet-own-broker-")
    server = Mosquitto(directory)
    server.start()
    yield server
    server.stop()
    remove(directory)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    directory = scratch_dir("fleet-postgres-")
    server = Postgres(directory)
    server.start()
    yield server
    server.stop()
    remove(directory)


@pytest.fixture
def ledger_dsn(postgres: Postgres) -> str:
    """A fresh, empty database for this test."""
    return postgres.create_db(f"ledger_{next(_numbers)}")
