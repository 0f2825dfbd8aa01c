"""`kiosk refund` with a wrong API secret: PayPay (the simulator) answers 401, a definite
refusal, so the command reports exit 5 at once, not "no answer yet" (exit 6) after a long wait;
nothing is refunded, and the recorded refund goes out once the credentials are right."""

from __future__ import annotations

from pathlib import Path

from kiosk.commands.common import ExitCode
from kiosk.engine.journal import Journal
from kiosk.simulator import DEMO_API_KEY
from tests.ops.cli_helpers import kiosk, wait_for
from tests.ops.test_bad_input import error_lines
from tests.ops.test_journal_cli import Shop, pumped, shop

__all__ = ["shop"]  # the fixture, used by name

WRONG_SECRET = "not-the-secret-4d1c9e"


def test_a_refund_paypay_refuses_for_credentials_is_exit_5(shop: Shop, tmp_path: Path) -> None:
    paid = shop.sell(300, pay=True)
    env = dict(shop.env, PAYPAY_API_KEY=DEMO_API_KEY, PAYPAY_API_SECRET=WRONG_SECRET)
    done = kiosk("refund", paid, "--config", str(shop.config), env=env)
    assert done.returncode == ExitCode.PAYPAY, done.stderr
    [line] = error_lines(done.stderr)
    assert line.startswith(f"kiosk: error: refund {paid}-R1 of 300 yen: PayPay refused this")
    assert "status=401" in line and "nothing was refunded" in line
    assert "the kiosk sends it" in line and WRONG_SECRET not in done.stderr + done.stdout
    [payment] = shop.control.ledger()["payments"]
    assert payment["refunded"] == 0
    journal = Journal(shop.state / "journal.sqlite3")
    try:
        assert [r.status for r in journal.refunds_for(paid)] == ["PENDING"]
    finally:
        journal.close()

    runner, journal, client = shop.runner()  # the kiosk's engine, with the right credentials
    try:
        wait_for(
            "the recorded refund to go out",
            lambda: pumped(runner, lambda: shop.control.ledger()["payments"][0]["refunded"]),
        )
        assert [r.merchant_refund_id for r in journal.refunds_for(paid)] == [f"{paid}-R1"]
    finally:
        runner.stop(30)
        journal.close()
        client.close()
    [payment] = shop.control.ledger()["payments"]
    assert payment["refunded"] == 300  # once, the amount recorded
