"""Audit: the kiosk judged from the outside, the way an accountant and a customer would.

Why: the money-safety promises only count when checked against what the kiosk cannot rewrite.
Two judges, on the simulator's `/_sim/ledger` shape:
- `audit` checks the journal against PayPay's ledger: every order PayPay knows is in the
  journal, money PayPay kept belongs to a sale the journal calls paid, no QR is still payable;
- `oracle` trusts no journal at all: money from the ledger, goods from the vend log, what the
  customer was told from the screen log (`ScreenLog`). A charged customer ends with goods or
  the money back (else "stranded"); money goes back at most once per reason (else "double
  refund"); goods go out at most once and only for money kept (else "double vend" / "lost");
  the screen never said "succeeded" without goods, "not charged" after PayPay charged, or
  "refunded" while PayPay kept the money (else "told wrong").
Used by the crash test (tools.chaos) and the e2e tests.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kiosk.sale.model import Sale, State

KEPT = ("COMPLETED", "AUTHORIZED")


COUNTS = ("lost", "orphan_qr", "double_vend", "double_refund", "stranded", "told_wrong")


@dataclass
class AuditReport:
    lost: int = 0  # an order or goods nobody accounts for; a sale the journal never settled
    orphan_qr: int = 0  # a QR a customer could still pay although the kiosk gave up on it
    double_vend: int = 0
    double_refund: int = 0  # money went back more often than anybody decided it should
    stranded: int = 0  # PayPay kept a customer's money, no goods came out
    told_wrong: int = 0  # the screen told the customer something PayPay's ledger contradicts
    problems: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not any(getattr(self, name) for name in COUNTS)

    def add(self, other: AuditReport) -> None:
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.problems += other.problems

    def flag(self, count: str, mpid: str, problem: str) -> None:
        setattr(self, count, getattr(self, count) + 1)
        self.problems.append(f"{count}: {mpid}: {problem}")

    def line(self, kill_points: int, faulted_calls: int | None = None) -> str:
        """The crash test's one line; without `faulted_calls`, the journal audit's counts only."""
        if faulted_calls is None:
            return (
                f"kill points: {kill_points}, lost: {self.lost}, orphan QR: {self.orphan_qr}, "
                f"double vend: {self.double_vend}"
            )
        return (
            f"kill points: {kill_points}, faulted calls: {faulted_calls}, lost: {self.lost}, "
            f"orphan QR: {self.orphan_qr}, double vend: {self.double_vend}, "
            f"double refund: {self.double_refund}, stranded: {self.stranded}, "
            f"told wrong: {self.told_wrong}"
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


# ---- the oracle: no journal ----------------------------------------------------------------

NOT_CHARGED = ("failed", "cancelled", "expired")  # phases that tell "you have not been charged"
CHARGED = ("COMPLETED", "AUTHORIZED", "REFUNDED", "CANCELED", "EXPIRED")  # accepted at some time


@dataclass
class ScreenLog:
    """What the screen was told, per sale: (real time, phase, reason) in order; and every
    refund the attendant asked for and was not refused (None: all that is left)."""

    told: dict[str, list[tuple[float, str, str]]] = field(default_factory=dict)
    asked: dict[str, list[int | None]] = field(default_factory=dict)

    def shown(self) -> set[str]:
        """Sales whose QR the screen showed."""
        return {m for m, told in self.told.items() if any(t[1] == "awaiting_payment" for t in told)}

    @classmethod
    def parse(cls, text: str) -> ScreenLog:
        log = cls()
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 5 and parts[0] == "S":
                log.told.setdefault(parts[2], []).append((float(parts[1]), parts[3], parts[4]))
            elif len(parts) == 4 and parts[0] == "R":
                amount = None if parts[3] == "full" else int(parts[3])
                log.asked.setdefault(parts[2], []).append(amount)
            elif len(parts) == 4 and parts[0] == "X" and log.asked.get(parts[2]):
                log.asked[parts[2]].pop()  # refused at once: nothing was sent
        return log


def oracle(
    ledger: Mapping[str, Any],
    vends: Mapping[str, int],
    screen: ScreenLog,
    *,
    shown: Collection[str] | None = None,
    watching: Collection[str] = (),
    vend_unrecorded: Collection[str] = (),
) -> AuditReport:
    """Judge money (ledger), goods (`vends`: handed out, per merchantPaymentId) and what the
    customer was told (`screen`), after the kiosk settled everything it could.
    `vend_unrecorded`: sales whose process died between the vend and its record; the kiosk
    cannot know the goods came out, so giving the money back too is the merchant's loss by
    design, not counted (the problems list names them). Every code still payable is an orphan
    QR, except one never shown (`shown`: the sales whose QR was on the screen, default those
    the screen log says were awaiting payment) whose sale the kiosk still `watching` (named):
    no customer can pay a code they never saw, and the kiosk has not given up on it."""
    report = AuditReport()
    on_screen = set(shown) if shown is not None else screen.shown()
    for code in ledger.get("codes", []):
        mpid = code["merchant_payment_id"]
        if not code.get("payable"):
            continue
        if mpid not in on_screen and mpid in watching:
            report.problems.append(f"note: {mpid}: a code never shown, still watched, payable")
        else:
            seen = "shown" if mpid in on_screen else "never shown, no longer watched"
            report.flag("orphan_qr", mpid, f"QR still payable ({seen})")
    payments = {p["merchant_payment_id"]: p for p in ledger.get("payments", [])}
    for mpid, count in vends.items():
        if count > 1:
            report.flag("double_vend", mpid, f"vended {count} times")
        if count and mpid not in payments:
            report.flag("lost", mpid, "goods out, PayPay has no payment")
    for mpid, payment in payments.items():
        vended = vends.get(mpid, 0)
        if mpid in vend_unrecorded and vended and not _kept(payment):
            report.problems.append(f"note: {mpid}: killed mid-vend; goods out and money back")
            vended = 0  # the kiosk could not know: judged as a sale without goods
        _judge_money(report, mpid, payment, vended, screen.asked.get(mpid, []))
    for mpid, told in screen.told.items():
        _judge_told(report, mpid, told, payments.get(mpid), vends.get(mpid, 0))
    return report


def _kept(payment: Mapping[str, Any]) -> bool:
    status = payment.get("status")
    return status in KEPT and int(payment.get("refunded") or 0) < int(payment["amount"])


def _judge_money(
    report: AuditReport,
    mpid: str,
    payment: Mapping[str, Any],
    vended: int,
    asked: list[int | None],
) -> None:
    status = payment.get("status")
    amount = int(payment["amount"])
    refunds = payment.get("refunds") or []
    voided = status == "CANCELED" or payment.get("revert") is not None
    returned = sum(int(r["amount"]) for r in refunds) + (amount if voided else 0)
    if _kept(payment) and not vended:
        report.flag("stranded", mpid, f"PayPay kept {status} money, no goods, no refund")
    # goods out and the money back (refund, or the authorisation released) is the attendant's
    # decision when asked (counted below); otherwise PayPay must have kept the money
    if vended and status not in ("COMPLETED", "REFUNDED") and not (voided and asked):
        report.flag("lost", mpid, f"goods out, PayPay says {status}")
    backs = len(refunds) + (1 if voided else 0)
    # goods out: only what the attendant asked for; none: the whole amount, once
    allowed = len(asked) if vended else 1
    if returned > amount or backs > allowed:
        report.flag(
            "double_refund",
            mpid,
            f"{backs} refunds/voids ({returned} of {amount} yen), "
            f"{len(asked)} asked by the attendant, vended {vended}",
        )


def _judge_told(
    report: AuditReport,
    mpid: str,
    told: list[tuple[float, str, str]],
    payment: Mapping[str, Any] | None,
    vended: int,
) -> None:
    """Every final message the screen gave for the sale, against the ledger at the end (and the
    moment PayPay charged: its `accepted_at` is whole seconds, so "not charged" is wrong only
    from a second after it)."""
    charged_at = None
    if payment is not None and payment.get("status") in CHARGED:
        charged_at = float(payment["accepted_at"])
    for at, phase, reason in told:
        if phase == "succeeded" and not vended:
            report.flag("told_wrong", mpid, "told succeeded, no goods came out")
        elif phase in NOT_CHARGED and charged_at is not None and charged_at <= at - 1.0:
            report.flag("told_wrong", mpid, f"told {phase} ({reason}) after PayPay charged")
        elif phase == "refunded" and payment is not None and _kept(payment):
            report.flag("told_wrong", mpid, "told refunded, PayPay kept the money")
        elif phase == "held" and reason == "held_paid" and charged_at is None:
            report.flag("told_wrong", mpid, "told the payment was received, PayPay has none")
        else:
            continue
        return  # one count per sale
