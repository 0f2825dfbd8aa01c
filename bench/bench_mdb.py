"""MDB benchmarks: how long from "PayPay says paid" to the approval on the serial line (over a
pseudo-terminal to the scripted vending machine), what the idle driver loop costs, and how
fast the pure reader machine and the generated-session world run."""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator
from dataclasses import replace

from bench.common import figure, median_ms, percentile_ms
from kiosk.hardware.mdb import lines
from kiosk.hardware.mdb.driver import MdbDriver, SerialLines
from kiosk.hardware.mdb.machine import new_slot, step
from kiosk.hardware.mdb.model import Bound, Offer, Opened, Rules, Ticked, VendAsked
from kiosk.hardware.vend import VendRequest
from kiosk.simulator.vmc import SCRIPTS, Vmc
from kiosk.simulator.vmc.serial_pair import VmcOnPty

SESSIONS = 40
IDLE_S = 5.0


def _approval_latency() -> list[float]:
    received: dict[str, float] = {}

    def saw(way: str, line: str) -> None:
        if way == "->" and line.startswith("C,VEND,"):
            received["at"] = time.perf_counter()

    script = replace(SCRIPTS["selection"], sessions=SESSIONS, select_after_s=0.05)
    machine = VmcOnPty(Vmc(script), transcript=saw).start()
    driver = MdbDriver(lambda: SerialLines(machine.path), Rules())
    driver.start()
    samples: list[float] = []
    try:
        for n in range(SESSIONS):
            offer = driver.offers.get(timeout=10)
            assert isinstance(offer, Offer)
            driver.bind(offer.selection, f"B-{n}")
            received.clear()
            start = time.perf_counter()
            result = driver.vend(VendRequest(f"B-{n}", offer.price_yen, "bench"))
            assert result.ok, result
            samples.append(received["at"] - start)
    finally:
        driver.close()
        machine.stop()
    return samples


def _idle_cpu_pct() -> float:
    machine = VmcOnPty(Vmc(replace(SCRIPTS["selection"], sessions=0))).start()
    driver = MdbDriver(lambda: SerialLines(machine.path), Rules())
    driver.start()
    try:
        time.sleep(1.0)  # configured and enabled
        before = resource.getrusage(resource.RUSAGE_SELF)
        time.sleep(IDLE_S)
        after = resource.getrusage(resource.RUSAGE_SELF)
    finally:
        driver.close()
        machine.stop()
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return 100.0 * used / IDLE_S  # the machine's thread is in here too: an upper bound


def _step_us() -> float:
    """One selection-first session through the pure reader machine, per event."""
    enabled = lines.parse(b"c,STATUS,ENABLED\n")
    request = lines.parse(b"c,STATUS,VEND,150,5\n")
    success = lines.parse(b"c,VEND,SUCCESS\n")
    events = [Opened(), enabled, request, Bound(1, "B"), VendAsked("B", 150), success, enabled]
    rounds = 2000
    start = time.perf_counter()
    for _ in range(rounds):
        slot = new_slot(Rules())
        for at, event in enumerate(events):
            slot, _ = step(slot, event, float(at))
            slot, _ = step(slot, Ticked(), float(at))
    return (time.perf_counter() - start) / (rounds * len(events) * 2) * 1e6


def run() -> Iterator[dict[str, object]]:
    samples = _approval_latency()
    yield figure(
        "mdb_paid_to_approval_on_the_wire_ms",
        median_ms(samples),
        "ms",
        p95_ms=round(percentile_ms(samples, 95), 3),
        sessions=len(samples),
        note="vend() called -> the machine reads C,VEND over a pty",
    )
    yield figure("mdb_idle_loop_cpu_pct", _idle_cpu_pct(), "% of a core", seconds=IDLE_S)
    yield figure("mdb_reader_step_us", _step_us(), "us", note="pure machine, per event")
