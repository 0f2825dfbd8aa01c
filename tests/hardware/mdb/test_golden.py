"""Golden transcripts: every line the kiosk writes to the HAT and reads from it, byte-exact, for
each script and quirk profile of the scripted vending machine, with what the kiosk was told.

Re-record after a deliberate change with MDB_GOLDEN_UPDATE=1 and review the diff line by line.
Each case also checks the money rules directly, so a re-recorded wrong transcript still fails.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from kiosk.simulator.vmc import SCRIPTS, Script
from tests.hardware.mdb.session import Customer, session

GOLDEN = Path(__file__).parent / "golden"
S = SCRIPTS
LATE = Customer(pay_after_s=8.0)
NEVER = Customer(pay_after_s=None)
TWICE = replace(S["selection"], sessions=2)

# name: (script, quirk profile, customer, seconds to run, vended items expected)
CASES: dict[str, tuple[Script, str, Customer, float, int]] = {
    "selection-paid": (S["selection"], "plain", Customer(), 40, 1),
    "selection-paid-slowly": (S["selection"], "plain", Customer(pay_after_s=30.0), 60, 1),
    "selection-machine-cancel-then-late-payment": (S["selection-cancel"], "plain", LATE, 40, 0),
    "selection-machine-cancel-unpaid": (S["selection-cancel"], "plain", NEVER, 40, 0),
    "selection-vend-failure": (S["selection-failure"], "plain", Customer(), 40, 0),
    "selection-machine-timeout-then-late-payment": (
        S["selection-timeout"],
        "plain",
        LATE,
        40,
        0,
    ),
    "selection-no-vend-result": (S["selection-silent"], "plain", Customer(), 60, 0),
    "selection-never-paid": (S["selection"], "plain", NEVER, 80, 0),
    "selection-paid-after-kiosk-gave-up": (S["selection"], "plain", Customer(70.0), 90, 0),
    "selection-customer-cancels-on-screen": (
        S["selection"],
        "plain",
        Customer(pay_after_s=None, cancel_after_s=3.0),
        40,
        0,
    ),
    "selection-two-customers": (TWICE, "plain", Customer(), 40, 2),
    "credit-vended": (S["credit"], "plain", Customer(), 40, 1),
    "credit-exact-price": (replace(S["credit"], price="500"), "plain", Customer(), 40, 1),
    "credit-price-above-credit": (S["credit-too-dear"], "plain", Customer(), 40, 0),
    "credit-machine-cancel": (S["credit-cancel"], "plain", Customer(), 40, 0),
    "credit-vend-failure": (S["credit-failure"], "plain", Customer(), 40, 0),
    "credit-no-selection": (S["credit-no-selection"], "plain", Customer(), 90, 0),
    "credit-no-vend-result": (replace(S["credit"], outcome="silent"), "plain", Customer(), 60, 0),
    "idle-keepalive": (replace(S["selection"], sessions=0), "plain", NEVER, 130, 0),
}
# profile: (items vended for two selection-first customers, for one credit-first customer)
QUIRK_VENDS = {
    "ignores-cancel": (2, 1),
    "no-end-session": (2, 1),
    "repeats-enable": (2, 1),
    "resets-mid-vend": (2, 0),  # the reset vend is answered "not vended"; two more follow
    "no-max-min-prices": (1, 0),  # the 99999 request is refused (credit first: the session ends)
    "reset-loop": (2, 1),
    "slow-begin-session": (2, 1),
}
for profile, (two, one) in QUIRK_VENDS.items():
    CASES[f"quirk-{profile}-selection"] = (TWICE, profile, Customer(), 40, two)
    CASES[f"quirk-{profile}-credit"] = (S["credit"], profile, Customer(), 40, one)
CASES["quirk-ignores-cancel-kiosk-gives-up"] = (S["selection"], "ignores-cancel", NEVER, 80, 0)
CASES["quirk-ignores-cancel-credit-no-selection"] = (
    S["credit-no-selection"],
    "ignores-cancel",
    Customer(),
    90,
    0,
)
CASES["quirk-no-max-min-prices-credit-too-dear"] = (
    S["credit-too-dear"],
    "no-max-min-prices",
    Customer(),
    40,
    0,
)
CASES["quirk-repeats-enable-credit-cancel"] = (
    S["credit-cancel"],
    "repeats-enable",
    Customer(),
    40,
    0,
)
CASES["quirk-no-end-session-then-late-payment"] = (
    replace(S["selection-timeout"], sessions=2),
    "no-end-session",
    LATE,
    40,
    0,
)


@pytest.mark.parametrize("name", sorted(CASES))
def test_transcript(name: str) -> None:
    script, profile, customer, until_s, vended = CASES[name]
    s = session(script, profile, customer)
    text = "\n".join(s.run(until_s)) + "\n"
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("MDB_GOLDEN_UPDATE") == "1":
        path.write_text(text)
    assert path.exists(), f"no golden transcript {path.name}: record it with MDB_GOLDEN_UPDATE=1"
    assert text == path.read_text()
    # the money rules, straight from the run:
    assert s.vmc.violations == []
    assert len(s.vmc.vends) == vended
    assert len(s.answers) == len(s.asked)  # every vend asked got exactly one answer
    ok = [a for a in s.answers if a.ok]
    assert len(ok) <= len(s.asked) and len(ok) == len(s.vmc.vends)
    assert s.slot.state.value in ("ENABLED", "DISABLED")  # the session ended


def test_there_are_at_least_thirty_transcripts_including_every_quirk() -> None:
    assert len(CASES) >= 30
    assert all(any(f"quirk-{p}" in n for n in CASES) for p in QUIRK_VENDS)
