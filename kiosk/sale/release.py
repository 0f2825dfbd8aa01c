"""The attendant releases a HELD sale that the machine can settle itself (`AttendantReleased`).

Why: a held sale whose payment is only authorised cannot be refunded (PayPay wants a revert),
and an unpaid held sale (a wait past its deadline, an anomaly, an unknown status) had no way
out at all. Releasing it starts the machine again from HELD, as if the attendant said "try
once more, now": PayPay's new answers decide, exactly as everywhere else.

Invariants:
- a sale paid in full is not released through the machine: its money goes back by the
  attendant's refund row (kiosk.engine.refunds), so there is one refund path per payment;
- a released sale is never vended (the customer has gone): a payment found now goes back;
- the ids stay fixed (merchant_revert_id, code_id, merchant_payment_id): a revert is asked
  about before it is sent again, and a fresh refusal is judged anew (the `refused` flag is
  cleared, so PayPay's next refusal holds the sale again, not the old one);
- an anomaly held it: the flag is cleared so new answers decide, and a new anomaly holds again;
- every state entered has a fresh deadline; past it the sale is HELD again with its reason.
Pure: no I/O, no clock, no randomness.
"""

from __future__ import annotations

from dataclasses import replace

from kiosk.sale.model import GiveBack, Now, Record, Sale, State
from kiosk.sale.moves import Result, budget_s, enter, issue, with_deadline

RELEASED = "released_by_attendant"


def releasable(sale: Sale) -> bool:
    """HELD, and not paid in full (that is the attendant's refund, not the machine's)."""
    return sale.state is State.HELD and sale.give_back is not GiveBack.REFUND


def on_released(sale: Sale, ev: object, now: Now) -> Result:
    assert releasable(sale), "the table accepts AttendantReleased only when releasable"
    why = sale.end_reason or "held"
    if sale.anomaly:
        why += f"; anomaly: {sale.anomaly}"
    note = Record(f"released by the attendant (held: {why}); asking PayPay again")
    expiry = None if sale.expiry_at is None else now.mono + (sale.expiry_at - now.wall)
    fresh = replace(
        sale,
        attendant_released=True,
        anomaly=None,
        refused=False,
        verify=False,
        retries=0,
        end_reason=RELEASED,
        expiry_mono_at=expiry,  # the monotonic clock of the hold may be another process's
        qr_left_at=None if sale.qr_left_at is None else now.mono,
    )
    if sale.give_back is GiveBack.RELEASE:  # ask first: the earlier revert may have applied
        reverting = replace(fresh, state=State.REVERTING, verify=True)
        return issue(
            with_deadline(reverting, budget_s(reverting, State.REVERTING, now), now), [note]
        )
    if sale.code_id is not None and not sale.delete_proven:  # the code may still be payable
        return enter(fresh, State.DELETING, now, [note])
    if sale.code_id is None:  # the create's outcome was never known: void the order
        return enter(fresh, State.CANCELLING, now, [note])
    return enter(fresh, State.GRACE, now, [note], grace_until_at=now.mono)  # one status check
