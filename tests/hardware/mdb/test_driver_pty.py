"""The driver end to end over a pseudo-terminal (the HAT cannot run here): pyserial on one
end, the scripted vending machine on the other; the bytes each side saw must agree exactly."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace

from kiosk.hardware.mdb.driver import MdbDriver, SerialLines
from kiosk.hardware.mdb.model import Offer, Rules, Timing
from kiosk.hardware.vend import VendRequest
from kiosk.simulator.vmc import PROFILES, SCRIPTS, Script, Vmc
from kiosk.simulator.vmc.serial_pair import VmcOnPty

FAST = Timing(selection_s=3.0, start_s=2.0, session_s=3.0, vend_s=2.0, end_s=0.5)
WAIT_S = 10.0  # a bound for "eventually", not a timing assertion


@contextmanager
def rig(script: Script, profile: str = "plain") -> Iterator[tuple[MdbDriver, VmcOnPty, list]]:
    kiosk_saw: list[tuple[str, str]] = []
    machine_saw: list[tuple[str, str]] = []
    sim = VmcOnPty(
        Vmc(script, PROFILES[profile]), transcript=lambda w, x: machine_saw.append((w, x))
    )
    sim.start()
    rules = Rules(
        credit_first=script.credit, timing=FAST, setconf=(("mdb-currency-code", "0x1392"),)
    )
    lock = threading.Lock()

    def saw(way: str, line: str) -> None:
        with lock:
            kiosk_saw.append((way, line))

    driver = MdbDriver(lambda: SerialLines(sim.path), rules, transcript=saw)
    driver.start()
    try:
        yield driver, sim, kiosk_saw
    finally:
        driver.close()
        try:
            sent = sum(w == "->" for w, _ in kiosk_saw)
            wait_for(  # the machine reads the kiosk's last lines
                lambda: sum(w == "->" for w, _ in machine_saw) >= sent,
                f"the machine reading all {sent} lines the kiosk sent",
            )
        finally:
            sim.stop()
    for way in ("->", "<-"):  # byte-exact and in order each way (lines in flight may cross)
        kiosk = [line for w, line in kiosk_saw if w == way]
        machine = [line for w, line in machine_saw if w == way]
        assert kiosk == machine[: len(kiosk)] and len(machine) - len(kiosk) <= 2


def wait_for(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def test_selection_first_paid_vends_once_over_the_serial_line() -> None:
    with rig(replace(SCRIPTS["selection"], select_after_s=0.2)) as (driver, sim, saw):
        offer = driver.offers.get(timeout=WAIT_S)
        assert isinstance(offer, Offer) and (offer.price_yen, offer.item) == (150, 5)
        driver.bind(offer.selection, "K1-1")
        result = driver.vend(VendRequest("K1-1", 150, "item 5"))
        assert result.ok and result.amount_yen == 150
        assert sim.inspect(lambda v: v.vends) == [(5, "150")]
        assert ("->", "C,VEND,150") in saw
        wait_for(lambda: driver.view().state == "ENABLED", "the session to close")
        assert driver.view().results[0].startswith("vended item 5")
    assert saw[-2:] == [("->", "C,0"), ("<-", "c,STATUS,DISABLED")] or saw[-1] == ("->", "C,0")


def test_a_payment_the_machine_no_longer_waits_for_is_not_vended() -> None:
    script = replace(SCRIPTS["selection-cancel"], select_after_s=0.2, cancel_after_s=0.3)
    with rig(script) as (driver, sim, _saw):
        offer = driver.offers.get(timeout=WAIT_S)
        assert isinstance(offer, Offer)
        driver.bind(offer.selection, "K1-1")
        withdrawn = driver.offers.get(timeout=WAIT_S)
        assert withdrawn.selection == offer.selection
        result = driver.vend(VendRequest("K1-1", 150, "item 5"))
        assert not result.ok and "no longer waits" in result.detail
        assert sim.inspect(lambda v: (v.vends, v.violations)) == ([], [])


def test_credit_first_vends_the_chosen_price_and_closes_the_session() -> None:
    script = replace(SCRIPTS["credit"], select_after_s=0.2)
    with rig(script) as (driver, _sim, saw):
        wait_for(lambda: driver.view().state == "ENABLED", "the reader to be enabled")
        result = driver.vend(VendRequest("K1-1", 500, "credit"))
        assert (result.ok, result.amount_yen) == (True, 120)
        assert ("->", "C,START,500") in saw and ("->", "C,VEND,120") in saw
        wait_for(lambda: ("->", "C,STOP") in saw, "the session to be closed")


def test_no_vend_result_is_a_failed_vend_within_the_watchdog() -> None:
    script = replace(SCRIPTS["selection-silent"], select_after_s=0.2)
    with rig(script) as (driver, _sim, _saw):
        offer = driver.offers.get(timeout=WAIT_S)
        assert isinstance(offer, Offer)
        driver.bind(offer.selection, "K1-1")
        result = driver.vend(VendRequest("K1-1", 150, "item 5"))
        assert not result.ok and "no vend result" in result.detail


def test_sigterm_path_stops_the_session_and_disables_the_reader() -> None:
    script = replace(SCRIPTS["selection"], select_after_s=0.2)
    with rig(script) as (driver, _sim, saw):
        offer = driver.offers.get(timeout=WAIT_S)
        assert isinstance(offer, Offer)
        driver.close()
        assert saw[-2:] == [("->", "C,STOP"), ("->", "C,0")]


def test_a_port_that_cannot_be_opened_answers_vends_not_vended() -> None:
    def broken() -> SerialLines:
        raise OSError("no such device /dev/ttyNOPE")

    driver = MdbDriver(broken, Rules(timing=FAST), reopen_s=0.1)
    driver.start()
    try:
        result = driver.vend(VendRequest("K1-1", 150, "x"))
        assert not result.ok and driver.view().state == "OFFLINE"
    finally:
        driver.close()
