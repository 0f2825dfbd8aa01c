"""What the screen is told about a sale: its phase and its `SaleView`.

Why apart from the model: the machine has sixteen states, the screen few phases; this mapping
is the one place that decides what a customer sees of a sale (a QR only while it can be paid,
"confirming" for every state that is making sure), and it is pure like the machine.
"""

from __future__ import annotations

from kiosk.domain import FINAL_PHASES, Phase, SaleView
from kiosk.sale.model import Sale, State

_PHASES: dict[State, Phase] = {
    State.CREATING: Phase.CREATING,
    State.CREATE_UNKNOWN: Phase.CONFIRMING,
    State.SHOWING: Phase.AWAITING_PAYMENT,
    State.DELETING: Phase.CONFIRMING,
    State.WATCHING: Phase.CONFIRMING,  # until the customer is released (`phase_of`)
    State.GRACE: Phase.CONFIRMING,
    State.CANCELLING: Phase.CONFIRMING,
    State.VENDING: Phase.VENDING,
    State.CAPTURING: Phase.CONFIRMING,
    State.REVERTING: Phase.CONFIRMING,
    State.REFUNDING: Phase.CONFIRMING,
    State.SUCCEEDED: Phase.SUCCEEDED,
    State.CANCELLED: Phase.CANCELLED,
    State.EXPIRED: Phase.EXPIRED,
    State.FAILED: Phase.FAILED,
    State.REFUNDED: Phase.REFUNDED,
    State.HELD: Phase.HELD,
}


# a customer-released sale (its code watched in the background): the outcome the customer is told,
# by the reason the kiosk gave up on the code; others "did not go through"
_RELEASED: dict[str, Phase] = {
    "cancelled": Phase.CANCELLED,
    "interrupted": Phase.CANCELLED,  # the kiosk restarted and gave up on the code
    "expired": Phase.EXPIRED,
}


def phase_of(sale: Sale) -> Phase:
    if sale.customer_released and not sale.finished:
        # told once, when released (the screen keeps it: kiosk.engine.runner); a payment
        # found later is being given back; an untrusted answer ends HELD ("still checking")
        if sale.paid:
            return Phase.CONFIRMING
        return Phase.HELD if sale.anomaly else _RELEASED.get(sale.end_reason or "", Phase.FAILED)
    if sale.state is State.SHOWING and sale.cancel_requested:
        return Phase.CONFIRMING
    return _PHASES[sale.state]


def _seconds_total(sale: Sale) -> int:
    if sale.give_up_at is None or sale.shown_at is None:
        return int(sale.timing.qr_timeout_s)
    return max(1, round(sale.give_up_at - sale.shown_at))


def view_of(sale: Sale, now: float) -> SaleView:
    """What the screen shows (`now` on the monotonic clock). The QR only while it can be paid
    and the kiosk still offers it; the countdown never above the QR timeout."""
    phase = phase_of(sale)
    showing = phase is Phase.AWAITING_PAYMENT and sale.give_up_at is not None
    seconds_left = (
        min(_seconds_total(sale), max(0, int(sale.give_up_at - now + 0.999)))
        if showing and sale.give_up_at
        else None
    )
    return SaleView(
        merchant_payment_id=sale.merchant_payment_id,
        phase=phase,
        amount_yen=sale.amount_yen,
        description=sale.description,
        qr_url=sale.qr_url if showing else None,
        seconds_left=seconds_left,
        seconds_total=_seconds_total(sale) if showing else None,
        reason=_reason(sale) if phase in FINAL_PHASES else None,
    )


def _reason(sale: Sale) -> str | None:
    """HELD says to the customer whether PayPay has their money (never "failed" if it has).
    A customer-released sale never says "not charged": its code may still be paid, and that money
    comes back by itself (or through the attendant, by the "hold" policy); a code never shown
    (a lost create) could not be paid by anybody."""
    if sale.state is State.HELD or (sale.customer_released and sale.anomaly):
        return "held_paid" if sale.paid else "held_unconfirmed"
    if sale.customer_released and not sale.finished and sale.code_id is not None:
        return "watched_hold" if sale.on_paid_not_vended == "hold" else "watched"
    return sale.end_reason
