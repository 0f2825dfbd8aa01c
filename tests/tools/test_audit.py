"""The chaos oracle on hand-made ledgers: each count catches its own wrong, nothing else."""

from __future__ import annotations

from typing import Any

from tools.audit import COUNTS, AuditReport, ScreenLog, oracle

T = 1_796_000_000


def payment(mpid: str, status: str = "COMPLETED", **extra: Any) -> dict[str, Any]:
    base = {
        "merchant_payment_id": mpid,
        "payment_id": "P-" + mpid,
        "status": status,
        "amount": 500,
        "accepted_at": T,
        "refunded": 0,
        "refunds": [],
        "revert": None,
    }
    return base | extra


def refund(amount: int = 500) -> dict[str, Any]:
    return {"merchant_refund_id": "x", "amount": amount, "accepted_at": T + 5}


def counts(report: AuditReport) -> dict[str, int]:
    return {name: getattr(report, name) for name in COUNTS if getattr(report, name)}


def judge(
    payments: list[dict[str, Any]],
    vends: dict[str, int] | None = None,
    screen: str = "",
    codes: list[dict[str, Any]] | None = None,
    **kwargs: Any,
) -> dict[str, int]:
    ledger = {"codes": codes or [], "payments": payments}
    return counts(oracle(ledger, vends or {}, ScreenLog.parse(screen), **kwargs))


def test_a_clean_day_counts_nothing() -> None:
    screen = "\n".join(
        [
            f"S {T - 1}.0 A awaiting_payment -",
            f"S {T + 2}.0 A succeeded -",
            f"S {T + 9}.0 B refunded vend_failed",
            f"S {T + 1}.0 C cancelled cancelled",
            f"R {T + 20}.0 A 100",
        ]
    )
    payments = [
        payment("A", refunded=100, refunds=[refund(100)]),
        payment("B", "CANCELED", canceled_at=T + 8),
        payment("D", "FAILED"),  # declined: nobody was charged
    ]
    assert judge(payments, {"A": 1}, screen) == {}


def test_kept_money_without_goods_is_stranded() -> None:
    assert judge([payment("A")]) == {"stranded": 1}
    assert judge([payment("A", "AUTHORIZED")]) == {"stranded": 1}
    assert judge([payment("A", refunded=100, refunds=[refund(100)])], {}, "R 1.0 A 100") == {
        "stranded": 1
    }


def test_goods_twice_or_for_no_money() -> None:
    assert judge([payment("A")], {"A": 2}) == {"double_vend": 1}
    assert judge([], {"A": 1}) == {"lost": 1}
    assert judge([payment("A", "CANCELED")], {"A": 1}) == {"lost": 1, "double_refund": 1}
    assert judge([payment("A", "AUTHORIZED")], {"A": 1}) == {"lost": 1}  # never captured
    released = payment("A", "CANCELED", revert={"accepted_at": T + 5})
    assert judge([released], {"A": 1}) == {"lost": 1, "double_refund": 1}
    # the attendant gave a held sale back although its goods came out: their decision
    assert judge([released], {"A": 1}, f"R {T + 4}.0 A full") == {}


def test_money_back_more_often_than_decided_is_a_double_refund() -> None:
    twice = payment("A", "CANCELED", refunds=[refund(100)], refunded=100)
    assert judge([twice]) == {"double_refund": 1}
    vended_and_refunded = payment("A", "REFUNDED", refunds=[refund()], refunded=500)
    assert judge([vended_and_refunded], {"A": 1}) == {"double_refund": 1}
    asked = f"R {T}.0 A full"
    assert judge([vended_and_refunded], {"A": 1}, asked) == {}
    held_refunded_twice = payment("A", "REFUNDED", refunds=[refund(250), refund(250)])
    assert judge([held_refunded_twice], {}, asked) == {"double_refund": 1}


def test_a_kill_between_vend_and_record_is_named_not_counted() -> None:
    report = oracle(
        {"payments": [payment("A", "CANCELED")]},
        {"A": 1},
        ScreenLog(),
        vend_unrecorded={"A"},
    )
    assert counts(report) == {} and report.problems == [
        "note: A: killed mid-vend; goods out and money back"
    ]


def test_what_the_customer_was_told_against_the_ledger() -> None:
    assert judge([payment("A")], {}, f"S {T + 3}.0 A succeeded -") == {
        "told_wrong": 1,
        "stranded": 1,
    }
    told_failed = f"S {T + 3}.0 A failed create_unknown"
    assert judge([payment("A", "CANCELED")], {}, told_failed) == {"told_wrong": 1}
    assert judge([payment("A", "FAILED")], {}, told_failed) == {}  # declined: true
    late = f"S {T - 5}.0 A expired expired"  # told before PayPay took the money
    assert judge([payment("A", "CANCELED")], {}, late) == {}
    told_refunded = f"S {T + 3}.0 A refunded vend_failed"
    assert judge([payment("A")], {}, told_refunded) == {"told_wrong": 1, "stranded": 1}
    held = f"S {T + 3}.0 A held held_paid"
    assert judge([payment("A", "CANCELED")], {}, held) == {}


def test_a_payable_code_is_an_orphan_unless_never_shown_and_still_watched() -> None:
    codes = [
        {"merchant_payment_id": "A", "payable": True},
        {"merchant_payment_id": "B", "payable": True},
        {"merchant_payment_id": "C", "payable": False},
    ]
    screen = f"S {T}.0 A awaiting_payment -"
    # B was never shown, but the kiosk finished its sale: nobody watches it any more
    assert judge([], codes=codes, screen=screen) == {"orphan_qr": 2}
    assert judge([], codes=codes, screen=screen, watching={"B"}) == {"orphan_qr": 1}
    # a shown code is an orphan even while watched: the customer has it in hand
    assert judge([], codes=codes, shown={"A", "B"}, watching={"A", "B"}) == {"orphan_qr": 2}


def test_the_line_and_exit_rule() -> None:
    report = AuditReport()
    line = "kill points: 3, faulted calls: 7, lost: 0, orphan QR: 0, double vend: 0, "
    line += "double refund: 0, stranded: 0, told wrong: 0"
    assert report.line(3, 7) == line and report.clean
    report.flag("told_wrong", "A", "x")
    assert not report.clean and report.problems == ["told_wrong: A: x"]
    assert report.line(1) == "kill points: 1, lost: 0, orphan QR: 0, double vend: 0"


def test_a_sale_without_goods_gets_its_money_back_once_however_often_asked() -> None:
    in_two = payment("A", "REFUNDED", refunds=[refund(250), refund(250)], refunded=500)
    asked_twice = f"R {T}.0 A full\nR {T + 9}.0 A full"
    assert judge([in_two], {}, asked_twice) == {"double_refund": 1}
    once = payment("A", "REFUNDED", refunds=[refund()], refunded=500)
    assert judge([once], {}, asked_twice) == {}


def test_a_refused_ask_allows_nothing() -> None:
    vended_and_refunded = payment("A", "REFUNDED", refunds=[refund()], refunded=500)
    refused = f"R {T}.0 A full\nX {T}.1 A RefundRefused"
    assert judge([vended_and_refunded], {"A": 1}, refused) == {"double_refund": 1}
    again = refused + f"\nR {T + 5}.0 A full"
    assert judge([vended_and_refunded], {"A": 1}, again) == {}


def test_a_kill_mid_vend_still_gives_the_money_back_only_once() -> None:
    twice = payment("A", "REFUNDED", refunds=[refund(250), refund(250)], refunded=500)
    report = oracle({"payments": [twice]}, {"A": 1}, ScreenLog(), vend_unrecorded={"A"})
    assert counts(report) == {"double_refund": 1}


def test_every_final_message_is_judged_not_only_the_last() -> None:
    told = f"S {T + 3}.0 A cancelled cancelled\nS {T + 9}.0 A refunded late_payment"
    assert judge([payment("A", "REFUNDED", refunds=[refund()], refunded=500)], {}, told) == {
        "told_wrong": 1
    }


def test_payment_received_is_wrong_when_paypay_has_none() -> None:
    held = f"S {T + 3}.0 A held held_paid"
    assert judge([], {}, held) == {"told_wrong": 1}
    assert judge([payment("A", "FAILED")], {}, held) == {"told_wrong": 1}
    assert judge([], {}, f"S {T + 3}.0 A held held_unconfirmed") == {}
