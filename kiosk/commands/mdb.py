"""`vend.adapter = "mdb"` wired: the HAT's serial port (in demo mode `mdb.port = "sim"`: a
scripted vending machine on a pseudo-terminal, started by the CLI, the one module that may
import the simulator), the driver, and for selection first a runner whose `pump` lets the
machine's VEND REQUESTs start sales.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from kiosk.commands.common import CommandError, ExitCode
from kiosk.config import Config
from kiosk.config.options import parse_setconf
from kiosk.engine.runner import Runner
from kiosk.hardware.mdb.driver import MdbDriver, SerialLines
from kiosk.hardware.mdb.feeder import Feeder
from kiosk.hardware.mdb.model import Rules, Timing

log = logging.getLogger(__name__)


def mdb_rules(config: Config) -> Rules:
    m = config.mdb
    return Rules(
        yen_per_unit=m.yen_per_unit,
        max_price_yen=m.max_price_yen,
        credit_first=m.mode == "credit",
        setconf=parse_setconf(m.setconf),
        timing=Timing(selection_s=m.selection_s, session_s=m.session_s, vend_s=m.vend_s),
    )


class MdbRunner(Runner):
    """The runner, plus: at each pump the vending machine's selections become sales."""

    def __init__(self, *, feeder: Feeder, **parts: Any) -> None:
        super().__init__(**parts)
        self.feeder = feeder

    def pump(self) -> bool:
        self.feeder.feed(self)
        return super().pump()


class SimulatedMachine(Protocol):
    path: str  # the pseudo-terminal the kiosk opens like the HAT's port

    def stop(self) -> None: ...


StartMachine = Callable[[str], SimulatedMachine]  # mdb.mode -> a running simulated machine


@dataclass
class MdbParts:
    driver: MdbDriver
    machine: SimulatedMachine | None  # demo: the simulated vending machine

    def close(self) -> None:
        self.driver.close()
        if self.machine is not None:
            self.machine.stop()


def open_mdb(config: Config, start_machine: StartMachine | None) -> MdbParts:
    path, machine = config.mdb.port, None
    if path == "sim":  # demo only (the configuration refuses it elsewhere)
        if start_machine is None:
            raise CommandError(ExitCode.CONFIG, 'mdb.port = "sim" is for `kiosk run` only')
        machine = start_machine(config.mdb.mode)
        path = machine.path
        log.info("mdb simulated vending machine port=%s", path)
    driver = MdbDriver(lambda: SerialLines(path), mdb_rules(config))
    driver.start()
    return MdbParts(driver, machine)
