"""Issue 11: refunds are numbered and checked inside the journal's write transaction (two at
once: one success, one clear refusal, no crash), and a refund whose answer was lost is asked
about before it is sent again. Real simulator, real SQLite file opened by two connections."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from kiosk.engine.journal import Journal
from kiosk.engine.refunds import RefundFollower, RefundRefused, record_refund
from tests.engine.harness import kiosk, make_client


def test_two_refunds_at_once_one_succeeds_one_is_refused(tmp_path: Path) -> None:
    with kiosk(tmp_path) as k:
        view = k.sell(900)
        k.drive(pay=True)
        mpid = view.merchant_payment_id
        path = k.journal.path
        screen, cli = Journal(path), Journal(path)  # the attendant screen and `kiosk refund`
        start = threading.Barrier(2)
        results: dict[str, object] = {}

        def refund(name: str, journal: Journal) -> None:
            start.wait()
            try:
                results[name] = record_refund(journal, mpid, None, k.clock.now())
            except RefundRefused as exc:
                results[name] = exc

        threads = [
            threading.Thread(target=refund, args=("screen", screen)),
            threading.Thread(target=refund, args=("cli", cli)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        screen.close()
        cli.close()
        refused = [r for r in results.values() if isinstance(r, RefundRefused)]
        assert len(results) == 2 and len(refused) == 1
        assert refused[0].reason == "nothing" and "refundable" in str(refused[0])
        rows = k.journal.refunds_for(mpid)
        assert [(r.merchant_refund_id, r.amount_yen) for r in rows] == [(f"{mpid}-R1", 900)]


def test_a_refund_on_a_journal_that_cannot_be_written_is_a_clear_refusal(tmp_path: Path) -> None:
    with kiosk(tmp_path) as k:
        view = k.sell(500)
        k.drive(pay=True)
        k.journal._db.execute("PRAGMA query_only=1")  # SQLite refuses the write
        with pytest.raises(RefundRefused, match="not recorded") as refused:
            k.runner.refund(view.merchant_payment_id)  # the UI catches ValueError: no crash
        assert refused.value.reason == "journal"
        k.journal._db.execute("PRAGMA query_only=0")


class Killed(Exception):
    pass


def test_a_refund_sent_then_killed_is_asked_about_before_anything_is_sent_again(
    tmp_path: Path,
) -> None:
    with kiosk(tmp_path) as k:
        view = k.sell(800)
        k.drive(pay=True)
        mpid = view.merchant_payment_id
        k.runner.stop(5.0)  # this test plays the refund follower itself
        row = record_refund(k.journal, mpid, 300, k.clock.now())
        asked: list[str] = []

        def die_after_post(kind: str, sale: object) -> None:
            asked.append(kind)
            if kind == "after-attendant-refund":
                raise Killed  # the process dies before it records PayPay's answer

        client = make_client(k.sim.base_url)
        try:
            dying = RefundFollower(k.journal, client, lambda e: None, die_after_post)
            with pytest.raises(Killed):
                dying.follow(k.clock.now())
            rows = {r.merchant_refund_id: r for r in k.journal.refunds_for(mpid)}
            assert rows[row.merchant_refund_id].status == "UNKNOWN"  # sent, answer unrecorded
            asked.clear()
            after = RefundFollower(
                k.journal, client, lambda e: None, lambda kind, _: asked.append(kind)
            )
            after.follow(k.clock.now())
            assert "before-attendant-refund" not in asked  # asked, not re-sent
            final = {r.merchant_refund_id: r for r in k.journal.refunds_for(mpid)}
            assert final[row.merchant_refund_id].status in ("CREATED", "REFUNDED")
        finally:
            client.close()
        ledger = k.ctl.ledger()
        refunds = [r for r in ledger.get("refunds", []) if r.get("merchant_payment_id") == mpid]
        assert len(refunds) <= 1
