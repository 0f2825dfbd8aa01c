"""Attendant refunds, followed until PayPay reports them done.

Why: a refund is money leaving the merchant; it must be recorded before it is sent, never sent
twice under two ids, and followed until PayPay says REFUNDED, across restarts. The journal row
is the state: PENDING (recorded, not known to PayPay) -> CREATED (accepted) -> REFUNDED; UNKNOWN
(sent, answer lost: ask by merchantRefundId before sending again); REFUSED (nothing moved).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from kiosk.engine.effects import PayPayClient, refund_request
from kiosk.engine.journal import Journal, NotRefundable, RefundRow
from kiosk.opa import errors
from kiosk.sale.model import GiveBack, State

log = logging.getLogger(__name__)
FOLLOW_S = 5.0


class RefundRefused(ValueError):
    """Why a refund was not recorded: `reason` is "unknown" (no such sale), "nothing" (nothing
    refundable), "amount" (not 1 to `refundable_yen`), "journal" (it could not be written,
    e.g. another process held it too long), "not_held" (`Runner.give_back_held` of a sale that
    is not held) or "authorised" (only authorised: it is released, not refunded)."""

    def __init__(self, message: str, reason: str, refundable_yen: int = 0) -> None:
        super().__init__(message)
        self.reason, self.refundable_yen = reason, refundable_yen


def record_refund(
    journal: Journal, merchant_payment_id: str, amount_yen: int | None, now: float
) -> RefundRow:
    """Write the refund's journal row (PENDING, the sale's next merchantRefundId), durably,
    before anything is sent; the whole refundable amount when `amount_yen` is None. The one
    way in for the attendant menu (`Runner.refund`) and `kiosk refund`. The number and the
    refundable check are taken inside the journal's write transaction, so a refund from the
    CLI and one from the screen at the same moment give one success and one refusal."""
    sale = journal.load_sale(merchant_payment_id)
    if sale is None:
        raise RefundRefused(f"no sale {merchant_payment_id} in the journal", "unknown")
    if sale.payment_id is None:
        raise RefundRefused(
            f"nothing of {merchant_payment_id} is refundable (state {sale.state})", "nothing"
        )
    if sale.give_back is GiveBack.RELEASE:  # PayPay refuses a refund of an authorisation
        where = (
            "release it from the attendant's held-sales screen (Release)"
            if sale.state is State.HELD
            else "nothing was captured, so there is nothing to refund"
        )
        raise RefundRefused(
            f"refund refused: {merchant_payment_id} is only authorised, never captured; {where}",
            "authorised",
        )
    if amount_yen is not None and (
        isinstance(amount_yen, bool) or not isinstance(amount_yen, int) or amount_yen <= 0
    ):
        raise RefundRefused(
            f"refund amount must be a positive number of yen, got {amount_yen!r}",
            "amount",
            journal.refundable_yen(merchant_payment_id),
        )
    try:
        return journal.add_next_refund(merchant_payment_id, sale.payment_id, amount_yen, now)
    except NotRefundable as exc:
        if exc.refundable_yen <= 0:
            message = (
                f"refund refused: nothing of {merchant_payment_id} is refundable "
                f"(state {sale.state})"
            )
            raise RefundRefused(message, "nothing") from None
        raise RefundRefused(str(exc), "amount", exc.refundable_yen) from None


class RefundFollower:
    def __init__(
        self,
        journal: Journal,
        client: PayPayClient,
        note: Callable[[Exception | None], None],
        boundary: Callable[[str, None], None] | None = None,
    ) -> None:
        self._boundary = boundary or (lambda kind, sale: None)
        self.journal = journal
        self.client = client
        self._note = note  # tells the runner about network / auth trouble
        self._next_at: dict[str, float] = {}

    def follow(self, now: float) -> list[str]:
        """One pass over every open refund that is due; returns sales whose refunds moved."""
        moved: list[str] = []
        for row in self.journal.open_refunds():
            if now < self._next_at.get(row.merchant_refund_id, 0.0):
                continue
            status, stored = self._advance(row, now)
            if status != stored:
                self.journal.set_refund_status(row.merchant_refund_id, status, now)
                moved.append(row.merchant_payment_id)
            resend = status == "PENDING" and row.status == "UNKNOWN"  # never applied: send now
            self._next_at[row.merchant_refund_id] = now + (0.0 if resend else FOLLOW_S)
        return moved

    def _advance(self, row: RefundRow, now: float) -> tuple[str, str]:
        """(the refund's status now, what the journal says before this is recorded)."""
        stored = row.status
        if row.status == "PENDING":  # durable before the POST: after a crash, ask first
            self.journal.set_refund_status(row.merchant_refund_id, "UNKNOWN", now)
            stored = "UNKNOWN"
        return self._ask(row, now), stored

    def _ask(self, row: RefundRow, now: float) -> str:
        try:
            if row.status == "PENDING":
                self._boundary("before-attendant-refund", None)
                body = refund_request(
                    row.merchant_refund_id, row.payment_id, row.amount_yen, now, "attendant refund"
                )
                answer = self.client.typed.refund_payment(body)
            else:
                answer = self.client.typed.refund_details(row.merchant_refund_id, row.payment_id)
        except Exception as exc:
            self._note(exc)
            self._boundary("after-attendant-refund", None)
            return _after_error(row, exc)
        self._note(None)
        self._boundary("after-attendant-refund", None)
        return "REFUNDED" if answer.status == "REFUNDED" else "CREATED"


def _after_error(row: RefundRow, exc: Exception) -> str:
    sent = row.status == "PENDING"
    if isinstance(exc, errors.OutcomeUnknown) or not isinstance(exc, errors.OpaError):
        return "UNKNOWN" if sent else row.status
    if isinstance(exc, errors.TryLater | errors.AuthError):
        return row.status  # nothing applied; try again later
    if sent and isinstance(exc, errors.Duplicate):
        return "UNKNOWN"  # this id was used: ask what became of it
    if not sent and isinstance(exc, errors.NotFound):
        return "PENDING" if row.status == "UNKNOWN" else row.status  # never applied: send it
    if sent:
        log.error("refund refused mrid=%s error=%s", row.merchant_refund_id, exc)
        return "REFUSED"
    return row.status
