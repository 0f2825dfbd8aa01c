"""`vend.adapter = "mdb"` wired: the HAT's serial port (in demo mode `mdb.port = "sim"`: a
scripted vending machine on a pseudo-terminal), the driver, and for selection first a runner
whose `pump` lets the machine's VEND REQUESTs start sales.

Why here: only the composition root may import the simulator, and only it knows both the
configuration and the engine.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from kiosk.config import Config
from kiosk.config.options import parse_setconf
from kiosk.engine.runner import Runner
from kiosk.hardware.mdb.driver import MdbDriver, SerialLines
from kiosk.hardware.mdb.feeder import Feeder
from kiosk.hardware.mdb.model import Rules, Timing
from kiosk.simulator.vmc import SCRIPTS, Vmc
from kiosk.simulator.vmc.serial_pair import VmcOnPty

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


@dataclass
class MdbParts:
    driver: MdbDriver
    machine: VmcOnPty | None  # demo: the simulated vending machine

    def close(self) -> None:
        self.driver.close()
        if self.machine is not None:
            self.machine.stop()


def open_mdb(config: Config) -> MdbParts:
    path, machine = config.mdb.port, None
    if path == "sim":  # demo only (the configuration refuses it elsewhere)
        script = SCRIPTS["demo-credit" if config.mdb.mode == "credit" else "demo"]
        machine = VmcOnPty(Vmc(script)).start()
        path = machine.path
        log.info("mdb simulated vending machine port=%s", path)
    driver = MdbDriver(lambda: SerialLines(path), mdb_rules(config))
    driver.start()
    return MdbParts(driver, machine)
