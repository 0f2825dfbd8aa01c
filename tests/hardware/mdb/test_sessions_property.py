"""Generated vending sessions (hypothesis, 10,000 by default): random machine scripts and
quirks, customers who pay early, late or never, lost PayPay answers, and kiosk crashes, through
the real sale machine and the real reader machine (see world.py). After each session:

- no vend was approved for a sale PayPay had not confirmed as paid;
- at most one approval per payment, and the machine saw no protocol breach;
- a paid sale whose goods did not come out had its money-back call (cancel, refund or revert)
  issued within 30 s of the failure (or of the restart), and PayPay ended with the money back;
- a vended sale is captured for the vended price (never above the authorisation);
- every sale and the reader's session ended: nothing waits for ever.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kiosk.domain import PaymentStatus
from kiosk.hardware.mdb.model import Reader
from kiosk.simulator.vmc import Quirks, Script
from tests.hardware.mdb.world import Plan, World

EXAMPLES = int(os.environ.get("MDB_SESSIONS", "10000"))
MONEY_BACK_LIMIT_S = 30.0
seconds = st.floats(min_value=0.0, max_value=150.0, allow_nan=False).map(lambda x: round(x, 1))
soon = st.floats(min_value=0.0, max_value=20.0, allow_nan=False).map(lambda x: round(x, 1))
sometimes = st.one_of(st.none(), st.none(), st.none(), soon, seconds)  # mostly: does not happen
mostly_soon = st.one_of(soon, soon, soon, seconds, st.none())  # mostly: happens soon

scripts = st.builds(
    Script,
    credit=st.booleans(),
    price=st.sampled_from(["100", "150", "120", "500", "130", "900", "99999", "1.5", "0"]),
    item=st.integers(0, 99),
    select_after_s=mostly_soon.map(lambda x: 1.0 if x is None else x),
    cancel_after_s=sometimes,
    give_up_after_s=sometimes,
    outcome=st.sampled_from(["success", "success", "success", "failure", "silent"]),
    sessions=st.integers(1, 2),
)
quirks = st.builds(
    Quirks,
    ignores_cancel=st.booleans(),
    no_end_session=st.booleans(),
    repeats_enable=st.booleans(),
    resets_mid_vend=st.booleans(),
    no_price_limits=st.booleans(),
    reset_loop=st.booleans(),
    slow_session=st.booleans(),
)
wild = st.builds(
    Plan,
    script=scripts,
    quirks=quirks,
    preauth=st.booleans(),
    pay_after_s=mostly_soon,
    screen_cancel_s=sometimes,
    lost=st.lists(st.booleans(), max_size=8).map(tuple),
    crash_at_s=sometimes,
    restart_after_s=st.floats(0.5, 20.0).map(lambda x: round(x, 1)),
    credit_yen=st.sampled_from([100, 150, 500, 1000]),
)

# customers who mostly do what customers do: valid prices, paying within half a minute
realistic = st.builds(
    Plan,
    script=st.builds(
        Script,
        credit=st.booleans(),
        price=st.sampled_from(["100", "120", "150", "500"]),
        item=st.integers(0, 99),
        select_after_s=soon,
        cancel_after_s=st.one_of(st.none(), st.none(), st.none(), seconds),
        give_up_after_s=st.one_of(st.none(), st.none(), st.none(), seconds),
        outcome=st.sampled_from(["success", "success", "success", "failure", "silent"]),
        sessions=st.integers(1, 2),
    ),
    quirks=quirks,
    preauth=st.booleans(),
    pay_after_s=st.floats(0.5, 30.0).map(lambda x: round(x, 1)),
    screen_cancel_s=st.one_of(st.none(), st.none(), st.none(), seconds),
    lost=st.lists(st.booleans(), max_size=3).map(tuple),
    crash_at_s=st.one_of(st.none(), st.none(), st.none(), seconds),
    restart_after_s=st.floats(0.5, 20.0).map(lambda x: round(x, 1)),
    credit_yen=st.sampled_from([500, 1000]),
)
plans = st.one_of(realistic, wild)


def check(world: World) -> None:
    assert world.unpaid_approvals == [], "a vend was approved before PayPay confirmed payment"
    assert all(n == 1 for n in world.approvals.values()), world.approvals
    assert world.vmc.violations == []
    for mpid, truth in world.truth.items():
        sale = world.journal[mpid]
        assert sale.finished, f"{mpid} never ended: {sale.state}"
        ever_paid = sale.paid or truth.status in (PaymentStatus.CANCELED, PaymentStatus.REFUNDED)
        if mpid in world.vended_for:
            assert truth.status is PaymentStatus.COMPLETED, (mpid, truth)
            if truth.captured_yen is not None:
                assert 0 < truth.captured_yen <= truth.amount_yen
        elif sale.paid or (ever_paid and truth.pay_at is not None):
            assert truth.status in (PaymentStatus.CANCELED, PaymentStatus.REFUNDED), (mpid, truth)
            if sale.paid:
                start = world.failed_at.get(mpid, world.paid_seen_at.get(mpid, 0.0))
                if world.restarted_at is not None:
                    start = max(start, world.restarted_at)
                back = world.money_back_at.get(mpid)
                assert back is not None and back - start <= MONEY_BACK_LIMIT_S, (mpid, back, start)
    for mpid, approved in world.approved_at.items():
        answered = world.answered_at.get(mpid)
        crashed = world.restarted_at is not None
        assert crashed or (answered is not None and answered - approved <= MONEY_BACK_LIMIT_S)
    assert world.vending is None
    assert not world.slot.waiting
    assert world.slot.state not in (Reader.SELECTED, Reader.STARTING, Reader.VENDING)


@pytest.mark.timeout(900)  # 10,000 sessions: about a minute alone, longer on a busy machine
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(plans)
def test_generated_sessions_keep_the_money_rules(plan: Plan) -> None:
    world = World(plan)
    world.run(until_s=900.0)
    check(world)
    for sale in world.journal.values():  # --hypothesis-show-statistics: what was covered
        event(f"sale {sale.state.value} {'preauth' if sale.preauth else 'plain'}")
    event(f"vends {len(world.vmc.vends)}; crashed {world.restarted_at is not None}")
