"""`kiosk refund` of a held sale whose payment is only authorised: PayPay would refuse a refund
(it needs a revert), so the command refuses at once, exit 1, and says where to release it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.commands.common import ExitCode
from kiosk.domain import PaymentStatus
from kiosk.engine.journal import Journal
from kiosk.sale.machine import new_sale, step
from kiosk.sale.model import (
    Call,
    CallFailed,
    Event,
    Failure,
    GiveBack,
    QrCreated,
    State,
    StatusPolled,
    Ticked,
    VendFinished,
)
from tests.ops.test_journal_cli import Shop


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Shop]:
    made = Shop(tmp_path)
    try:
        yield made
    finally:
        made.close()


def held_authorisation(path: Path, mpid: str) -> None:
    """A preauth sale whose vend failed and whose revert PayPay refused: HELD, AUTHORIZED."""
    now = time.time()
    sale, _ = new_sale(mpid, 700, "Tea", preauth=True, now=now)
    events: list[Event] = [
        QrCreated("04-held", "http://sim/qr/held", now + 300),
        Ticked(),
        StatusPolled(PaymentStatus.AUTHORIZED, "P-held", now),
        VendFinished(ok=False),
        CallFailed(Call.REVERT, Failure.NOT_REVERSIBLE),
        Ticked(),
        StatusPolled(PaymentStatus.AUTHORIZED, "P-held", now),
    ]
    for at, event in enumerate(events):
        sale, _ = step(sale, event, now + 5 + 40 * at)
    assert sale.state is State.HELD and sale.give_back is GiveBack.RELEASE
    journal = Journal(path)
    journal.save_sale(sale, now)
    journal.close()


def test_refund_of_a_held_authorisation_says_to_release_it(shop: Shop) -> None:
    mpid = "K1-held-authorised"
    held_authorisation(shop.state / "journal.sqlite3", mpid)
    code, out, err = shop.run("refund", mpid)
    assert code == ExitCode.FAILED, err
    assert out == ""
    assert "only authorised, never captured" in err
    assert "release it from the attendant's held-sales screen" in err
    journal = Journal(shop.state / "journal.sqlite3")
    try:
        assert journal.refunds_for(mpid) == []  # nothing recorded, nothing sent
    finally:
        journal.close()
    assert shop.control.ledger()["payments"] == []
