"""What one sale costs the journal: only what money needs is durable (issue 14's targets:
at most 8 step lines and 4 commits for an ordinary paid sale; polls that find nothing new
are not written)."""

from __future__ import annotations

from pathlib import Path

from kiosk.domain import Phase
from tests.engine.harness import kiosk
from tests.engine.wal import wal_commits


def test_a_paid_sale_after_many_quiet_polls_is_seven_lines_in_four_commits(tmp_path: Path) -> None:
    with kiosk(tmp_path) as k:
        k.journal._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        before = wal_commits(k.journal.path)
        view = k.sell(500)
        k.advance(30)  # about 7 polls that find the QR unpaid: none is written
        assert len(k.journal.steps(view.merchant_payment_id)) == 3
        k.ctl.pay(k.code_of(view.merchant_payment_id)["code_id"])
        k.advance(4)
        assert k.finish().phase is Phase.SUCCEEDED
        lines = k.journal.steps(view.merchant_payment_id)
        commits = wal_commits(k.journal.path) - before
    kinds = [(kind, call) for _, kind, call, _ in lines]
    assert kinds == [
        ("state", None),
        ("intent", "create"),
        ("outcome", "create"),
        ("outcome", "poll"),
        ("intent", "vend"),
        ("outcome", "vend"),
        ("note", None),
    ]
    paid_line = lines[3][3]
    assert "COMPLETED" in paid_line and "-> VENDING" in paid_line
    assert "quiet poll(s), last at" in paid_line  # the polls' count folded into the next write
    assert commits == 4


def test_an_expired_sale_writes_its_withdrawal_not_its_polls(tmp_path: Path) -> None:
    with kiosk(tmp_path) as k:
        view = k.sell(300)
        k.advance(200)
        assert k.finish().phase is Phase.EXPIRED
        lines = k.journal.steps(view.merchant_payment_id)
    calls = [call for _, kind, call, _ in lines if kind == "intent"]
    assert calls == ["create", "delete"]  # polls (and grace polls) read; they leave no intent
    assert len(lines) <= 8
