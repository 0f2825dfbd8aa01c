"""`kiosk doctor`'s MDB line against a pseudo-terminal (the HAT cannot run here): a HAT that
answers, one that is silent, a missing port."""

from __future__ import annotations

import os
import pty
from pathlib import Path

from kiosk.hardware.mdb.driver import hat_version
from kiosk.ops.doctor import check_mdb
from kiosk.simulator.vmc import SCRIPTS, Vmc
from kiosk.simulator.vmc.serial_pair import VmcOnPty


def test_a_hat_that_answers_is_green() -> None:
    sim = VmcOnPty(Vmc(SCRIPTS["selection"])).start()
    try:
        check = check_mdb(sim.path, lambda: hat_version(sim.path))
    finally:
        sim.stop()
    assert check.ok and check.detail == f"HAT on {sim.path} answers: SIM-1.0,000000000001"


def test_a_silent_hat_is_red_with_a_fix() -> None:
    master, slave = pty.openpty()
    path = os.ttyname(slave)
    try:
        check = check_mdb(path, lambda: hat_version(path, timeout_s=0.3))
    finally:
        os.close(master)
        os.close(slave)
    assert not check.ok and "did not answer" in check.detail and "power" in check.fix


def test_a_missing_port_names_the_fix(tmp_path: Path) -> None:
    check = check_mdb(str(tmp_path / "ttyNONE"), lambda: None)
    assert not check.ok and "does not exist" in check.detail and "raspi-config" in check.fix
    assert check_mdb("sim", lambda: None).ok
