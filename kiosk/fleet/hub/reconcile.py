"""Nightly reconciliation: every sale the ledger holds for a day, against PayPay's answer.

Why / invariants:
- only PayPay's own answer (its JSON envelope, through kiosk.opa) proves a status; a call that
  gets no answer is `unknown` ("run it again"), never guessed as paid or unpaid;
- each sale gets one verdict: `ok` (the ledger and PayPay agree on the money), `explained`
  (they differ for a reason we can name, e.g. the sale is still in progress on the kiosk), or
  `flagged` (a person must look: money PayPay has that the ledger does not, or the reverse);
- the report is per kiosk with the yen difference (ledger net minus PayPay net), and every
  finding is kept in `reconciliations`;
- PayPay is asked at most `pace_per_s` times a second (its API has rate limits).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from kiosk.domain import JST
from kiosk.engine.clock import jst_day_bounds
from kiosk.fleet.hub.ledger import Db, ts
from kiosk.opa import errors

log = logging.getLogger(__name__)
PAID_KEPT = ("SUCCEEDED", "HELD")
MONEY_BACK_STATES = ("REFUNDED",)
UNFINISHED = ("CREATING", "CREATE_UNKNOWN", "SHOWING", "DELETING", "WATCHING", "GRACE",
              "CANCELLING", "VENDING", "CAPTURING", "REVERTING", "REFUNDING")  # fmt: skip


class PaymentLookup(Protocol):
    """kiosk.opa's `client.Code`: GET /v2/codes/payments/{merchantPaymentId}."""

    def get_payment_details(self, merchant_payment_id: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class LedgerSale:
    kiosk: str
    merchant_payment_id: str
    state: str
    amount_yen: int
    refunded_yen: int  # attendant refunds PayPay accepted, per the ledger

    @property
    def net_yen(self) -> int:
        if self.state in MONEY_BACK_STATES:
            return 0
        return self.amount_yen - self.refunded_yen if self.state in PAID_KEPT else 0


@dataclass(frozen=True)
class Finding:
    sale: LedgerSale
    paypay_status: str
    paypay_net_yen: int
    verdict: str
    detail: str

    @property
    def difference_yen(self) -> int:
        return self.sale.net_yen - self.paypay_net_yen if self.verdict != "unknown" else 0


def paypay_net(data: dict[str, Any]) -> tuple[str, int]:
    """(status, yen PayPay kept) from GET payment details' `data`."""
    status = str(data.get("status", "?"))
    if status != "COMPLETED":
        return status, 0
    amount = int(data.get("amount", {}).get("amount", 0))
    refunds = data.get("refunds", {}).get("data", []) or []
    back = sum(
        int(r.get("amount", {}).get("amount", 0))
        for r in refunds
        if r.get("status") in ("CREATED", "REFUNDED")
    )
    return status, amount - back


def judge(sale: LedgerSale, status: str, paypay_yen: int) -> tuple[str, str]:
    if sale.net_yen == paypay_yen:
        return "ok", f"both {paypay_yen} yen"
    if sale.state in UNFINISHED:
        return "explained", f"the sale is still {sale.state} on the kiosk; PayPay says {status}"
    return (
        "flagged",
        f"ledger {sale.state} keeps {sale.net_yen} yen, PayPay {status} keeps {paypay_yen} yen",
    )


def check(sale: LedgerSale, lookup: PaymentLookup) -> Finding:
    try:
        envelope = lookup.get_payment_details(sale.merchant_payment_id)
    except errors.NotFound:
        verdict, detail = judge(sale, "NOT_FOUND", 0)
        return Finding(sale, "NOT_FOUND", 0, verdict, detail)
    except errors.OpaError as exc:
        return Finding(
            sale,
            "?",
            0,
            "unknown",
            f"PayPay gave no usable answer ({type(exc).__name__}); run again",
        )
    status, kept = paypay_net(envelope.get("data") or {})
    verdict, detail = judge(sale, status, kept)
    return Finding(sale, status, kept, verdict, detail)


def day_sales(db: Db, day_start: float, day_end: float) -> list[LedgerSale]:
    rows = db.execute(
        "SELECT s.kiosk, s.merchant_payment_id, s.state, s.amount_yen,"
        " (SELECT COALESCE(sum(r.amount_yen), 0) FROM refunds r WHERE r.kiosk=s.kiosk"
        "  AND r.merchant_payment_id=s.merchant_payment_id AND r.status IN ('CREATED','REFUNDED'))"
        " FROM sales s WHERE s.created_at >= %s AND s.created_at < %s"
        " ORDER BY s.kiosk, s.created_at",
        (ts(day_start), ts(day_end)),
    ).fetchall()
    return [LedgerSale(k, m, st, int(a), int(r)) for k, m, st, a, r in rows]


def reconcile_day(
    db: Db,
    lookup: PaymentLookup,
    day: date,
    *,
    now: float,
    pace_per_s: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Finding]:
    start, end = jst_day_bounds(datetime(day.year, day.month, day.day, 12, tzinfo=JST).timestamp())
    findings = []
    for n, sale in enumerate(day_sales(db, start, end)):
        if n:
            sleep(1.0 / pace_per_s)
        findings.append(check(sale, lookup))
    with db.transaction():
        for f in findings:
            db.execute(
                "INSERT INTO reconciliations (day, run_at, kiosk, merchant_payment_id,"
                " ledger_state, ledger_net_yen, paypay_status, paypay_net_yen, verdict, detail)"
                " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                (day, ts(now), f.sale.kiosk, f.sale.merchant_payment_id, f.sale.state,
                 f.sale.net_yen, f.paypay_status, f.paypay_net_yen, f.verdict, f.detail),
            )  # fmt: skip
    for line in report(day, findings):
        (log.warning if "flagged" in line or "unknown" in line else log.info)(line)
    return findings


def report(day: date, findings: list[Finding]) -> list[str]:
    """One line per kiosk, then one per finding that is not ok."""
    lines = []
    kiosks = sorted({f.sale.kiosk for f in findings})
    for kiosk in kiosks:
        mine = [f for f in findings if f.sale.kiosk == kiosk]
        count = {
            v: sum(1 for f in mine if f.verdict == v)
            for v in ("ok", "explained", "flagged", "unknown")
        }
        lines.append(
            f"reconcile day={day} kiosk={kiosk} sales={len(mine)} ok={count['ok']}"
            f" explained={count['explained']} flagged={count['flagged']} unknown={count['unknown']}"
            f" ledger_yen={sum(f.sale.net_yen for f in mine)}"
            f" yen_difference={sum(f.difference_yen for f in mine)}"
        )
        for f in mine:
            if f.verdict != "ok":
                lines.append(
                    f"reconcile day={day} kiosk={kiosk} mpid={f.sale.merchant_payment_id}"
                    f" verdict={f.verdict} detail={f.detail}"
                )
    return lines
