"""Audit: does the journal agree with PayPay's ledger? (the simulator's `/_sim/ledger` shape)

Why: the money-safety promises are checked from the outside, the way an accountant would:
every order PayPay knows about is in the journal, no QR is still payable once the kiosk is
done, money PayPay kept belongs to a sale the journal calls paid, money the journal says went
back did go back, and no payment was vended twice. Used by the crash test and the e2e tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kiosk.sale.model import Sale, State

KEPT = ("COMPLETED", "AUTHORIZED")


@dataclass
class AuditReport:
    lost: int = 0  # money or an order PayPay has that the journal does not account for
    orphan_qr: int = 0  # a QR a customer could still pay although the kiosk gave up on it
    double_vend: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.lost or self.orphan_qr or self.double_vend)

    def line(self, kill_points: int) -> str:
        return (
            f"kill points: {kill_points}, lost: {self.lost}, orphan QR: {self.orphan_qr}, "
            f"double vend: {self.double_vend}"
        )


def audit(
    sales: Iterable[Sale], ledger: Mapping[str, Any], vends: Mapping[str, int]
) -> AuditReport:
    """`vends`: how many times the hardware handed out goods, per merchantPaymentId."""
    report = AuditReport()
    journal = {s.merchant_payment_id: s for s in sales}
    payments = {p["merchant_payment_id"]: p for p in ledger.get("payments", [])}
    for code in ledger.get("codes", []):
        mpid = code["merchant_payment_id"]
        sale = journal.get(mpid)
        if sale is None:
            report.lost += 1
            report.problems.append(f"{mpid}: PayPay has an order the journal does not")
            continue
        if code.get("payable"):  # audited when the kiosk is idle: nothing should be on offer
            report.orphan_qr += 1
            report.problems.append(f"{mpid}: QR still payable, journal says {sale.state}")
    for mpid, count in ledger.get("creates_applied", {}).items():
        if count > 1:
            report.lost += 1
            report.problems.append(f"{mpid}: created {count} times")
    for mpid, payment in payments.items():
        _check_payment(report, journal.get(mpid), mpid, payment)
    for mpid, count in vends.items():
        if count > 1:
            report.double_vend += 1
            report.problems.append(f"{mpid}: vended {count} times")
        sale = journal.get(mpid)
        paid = payments.get(mpid)
        if count and (paid is None or sale is None or not sale.paid):
            report.lost += 1
            report.problems.append(f"{mpid}: vended without a recorded payment")
    return report


def _check_payment(report: AuditReport, sale: Sale | None, mpid: str, payment: Any) -> None:
    status = payment.get("status")
    refunded = int(payment.get("refunded") or 0)
    kept = status in KEPT and refunded < int(payment.get("amount") or 0)
    if sale is None:
        report.lost += 1
        report.problems.append(f"{mpid}: payment {status} missing from the journal")
        return
    if kept and not sale.paid:
        report.lost += 1
        report.problems.append(f"{mpid}: PayPay kept the money, journal says unpaid {sale.state}")
    elif kept and sale.state in (State.REFUNDED, State.CANCELLED, State.EXPIRED, State.FAILED):
        report.lost += 1
        report.problems.append(f"{mpid}: PayPay kept the money, journal says {sale.state}")
    elif sale.state is State.SUCCEEDED and status == "AUTHORIZED":
        report.lost += 1
        report.problems.append(f"{mpid}: vended but never captured")
    elif sale.state is State.SUCCEEDED and not kept and refunded == 0:
        report.problems.append(f"{mpid}: goods out but PayPay says {status} (merchant loss)")
