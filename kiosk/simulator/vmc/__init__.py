"""A vending machine (VMC) behind a Qibixx HAT, for trying and testing the MDB adapter without
hardware: `machine` is the scripted machine (pure, time as an argument), `pty` runs it on a
pseudo-terminal pair so the kiosk opens it like the HAT's serial port."""

from kiosk.simulator.vmc.machine import PROFILES, SCRIPTS, Quirks, Script, Vmc

__all__ = ["PROFILES", "SCRIPTS", "Quirks", "Script", "Vmc"]
