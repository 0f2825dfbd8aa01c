"""Reconciliation at start: settle every sale a previous run left unfinished, before the first
customer, and tell the attendant what happened in plain words.

Why here: after a crash or power cut the journal holds sales in every possible state. Each is
fed `Recovered` (the machine then deletes a live QR, cancels an unknown create, refunds or
holds a paid-but-not-vended sale, and re-asks about every unknown outcome with the same ids);
the runner executes the resulting commands like any others. This module picks the sales and
words the summary; it makes no calls itself.

Invariants: a recovered sale is never vended (the customer has gone); a sale the network
would not let us settle stays unfinished in the journal and keeps the kiosk out of service.
"""

from __future__ import annotations

from collections.abc import Iterable

from kiosk.domain import ReconcileSummary
from kiosk.engine.journal import Journal, RefundRow
from kiosk.sale.machine import step
from kiosk.sale.model import Command, Now, Recovered, Sale, State

_OUTCOME_TEXT: dict[State, str] = {
    State.SUCCEEDED: "completed (goods out, payment captured)",
    State.CANCELLED: "QR withdrawn, not paid",
    State.EXPIRED: "QR withdrawn, not paid",
    State.FAILED: "not paid; PayPay order voided",
    State.REFUNDED: "paid but not handed out: money returned to the customer",
    State.HELD: "HELD for you: see its reason (refund it, or hand the goods out)",
}


def recover(journal: Journal, skip: Iterable[str] = ()) -> list[Sale]:
    """Every unfinished sale in the journal, as the machine saw it before the restart."""
    skipped = set(skip)
    return [s for s in journal.unfinished_sales() if s.merchant_payment_id not in skipped]


def resume(sale: Sale, policy: str, now: Now) -> tuple[Sale, list[Command]]:
    return step(sale, Recovered(policy), now)


def describe(before: Sale, after: Sale) -> str:
    if after.finished:
        outcome = _OUTCOME_TEXT[after.state]
    elif after.customer_released:
        outcome = "QR not withdrawn by PayPay: watched until it expires (a payment is given back)"
    else:
        outcome = "still being settled (PayPay not reachable yet)"
    return (
        f"{after.merchant_payment_id}: {after.amount_yen} yen, was {before.state.value.lower()}"
        f" -> {outcome}"
    )


def summarize(
    before: dict[str, Sale], after: dict[str, Sale], refunds: list[RefundRow], now: float
) -> ReconcileSummary:
    lines = [describe(before[mpid], after[mpid]) for mpid in before]
    lines += [
        f"refund {r.merchant_refund_id} of {r.amount_yen} yen: {r.status.lower()}, followed up"
        for r in refunds
    ]
    if not lines:
        lines = ["Nothing to settle: the last run ended cleanly."]
    settled = sum(1 for s in after.values() if s.finished)
    held = sum(1 for s in after.values() if s.state is State.HELD)
    return ReconcileSummary(
        at=now,
        settled=settled,
        unresolved=len(after) - settled,
        held=held,
        lines=tuple(lines),
    )
