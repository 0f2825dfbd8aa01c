"""The paid half of the sale machine: vend, capture, or give the money back (cancel, refund,
revert), and what a refusal of each means. Pure like the table in kiosk.sale.machine.

Invariants: a payment is vended only while the customer can still be there (never after a
restart, never once the customer was released from a watched code, never more than
`vend_deadline_s` after the QR left the screen, never on an anomaly, never on AUTHORIZED in
plain mode); otherwise the money goes back, or the sale is HELD.
A capture or revert whose outcome is unknown is asked about before it is sent again.
"""

from __future__ import annotations

from dataclasses import replace

from kiosk.domain import PaymentStatus
from kiosk.sale.model import (
    DEAD_STATUSES,
    AttendantSettled,
    Call,
    CallFailed,
    Command,
    Event,
    Failure,
    GiveBack,
    Now,
    Record,
    Sale,
    State,
    StatusPolled,
    Vend,
    VendFinished,
)
from kiosk.sale.moves import (
    CANCEL_CUTOFF_MARGIN_S,
    RETRYABLE,
    Result,
    budget_s,
    cancel_cutoff_at,
    end,
    enter,
    hold,
    issue,
    retry,
    with_deadline,
)

# ---- paid: vend, or (after a restart / vend failure / too late) give the money back ----------


def on_paid(sale: Sale, ev: StatusPolled, now: Now) -> Result:
    paid = replace(
        sale,
        payment_id=ev.payment_id or sale.payment_id,
        paid_at=ev.paid_at if ev.paid_at is not None else sale.paid_at,
        paid_status=ev.status,
        captured=sale.captured or (sale.preauth and ev.status is PaymentStatus.COMPLETED),
    )
    if not sale.preauth and ev.status is PaymentStatus.AUTHORIZED:  # never counts as paid
        note = Record("ATTENTION authorisation in plain mode: reverting it")
        return enter(paid, State.REVERTING, now, [note], end_reason="authorized_in_plain_mode")
    if paid.anomaly:  # an earlier answer could not be trusted: a person decides
        return hold(paid, "anomaly")
    if paid.attendant_released:  # given back by the attendant: never vend, whatever the policy
        return money_back(paid, now, "paid_after_attendant_release")
    if paid.recovered:
        return money_back_or_hold(paid, now, "paid_after_restart")
    if paid.customer_released:  # told the outcome: who is at the kiosk now is not them
        return money_back_or_hold(paid, now, "paid_after_release")
    left = sale.qr_left_at
    if left is not None and now.mono - left > sale.timing.vend_deadline_s:
        # the customer has most likely gone: the answer a restart would give (same policy)
        return money_back_or_hold(paid, now, "paid_too_late")
    command = Vend(sale.merchant_payment_id, sale.amount_yen, sale.description)
    vending = replace(paid, state=State.VENDING, in_flight=command.call, next_at=None)
    return replace(vending, vend_started=True, retries=0, deadline_at=None), [command]


def money_back(sale: Sale, now: Now, reason: str, extra: list[Command] | None = None) -> Result:
    """Preauth: revert. Plain: cancel before PayPay's cut-off (no fee, no trace), else refund."""
    notes: list[Command] = [*(extra or []), Record(f"money back: {reason}")]
    if sale.preauth and not sale.captured:
        return enter(sale, State.REVERTING, now, notes, end_reason=reason)
    paid_at = sale.paid_at if sale.paid_at else sale.created_at
    if now.wall < cancel_cutoff_at(paid_at) - CANCEL_CUTOFF_MARGIN_S:
        return enter(sale, State.CANCELLING, now, notes, end_reason=reason)
    return enter(sale, State.REFUNDING, now, notes, end_reason=reason)


def money_back_or_hold(sale: Sale, now: Now, reason: str) -> Result:
    if sale.on_paid_not_vended == "hold":
        return hold(sale, reason)
    return money_back(sale, now, reason)


def on_cancelled(sale: Sale, ev: Event, now: Now) -> Result:
    if sale.anomaly and not sale.paid:
        return hold(sale, "anomaly")
    if sale.paid:
        return end(sale, State.REFUNDED, sale.end_reason)
    reason = sale.end_reason or "create_unknown"
    cancelled = reason == "cancelled" or sale.attendant_released  # the attendant gave it up
    return end(sale, State.CANCELLED if cancelled else State.FAILED, reason)


def on_cancel_failed(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, CallFailed)
    if ev.failure in RETRYABLE or ev.call is Call.POLL:  # the status query: ask again
        return retry(sale, now)
    if sale.paid:  # perhaps an earlier cancel (answer lost) applied: the status tells
        note = Record(f"cancel refused ({ev.failure.value}): asking the status before refunding")
        return issue(replace(sale, verify=True, refused=True), [note])
    if ev.failure is Failure.INVALID:  # refused, unpaid as far as we know: a code the lost
        # create may have made stays payable until it expires: watch it (never vended)
        note = Record(f"cancel refused ({ev.detail}): watching the order until its code expires")
        return enter(sale, State.WATCHING, now, [note])
    return on_cancelled(sale, ev, now)  # nothing to cancel: no payment exists


def on_polled_cancelling(sale: Sale, ev: Event, now: Now) -> Result:
    """After a refused cancel of a paid sale: given back already (an earlier cancel whose
    answer was lost), or still paid: past the cancel window (or not cancellable), refund."""
    assert isinstance(ev, StatusPolled)
    if ev.status in DEAD_STATUSES:
        return on_cancelled(sale, ev, now)
    if sale.refused:
        return enter(sale, State.REFUNDING, now, refused=False)
    return issue(replace(sale, verify=False))


def on_vend_finished(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, VendFinished)
    if not ev.ok:
        return money_back(sale, now, "vend_failed", [Record(f"vend failed: {ev.detail}")])
    vended = replace(sale, vended=True)
    if sale.preauth and not sale.captured and ev.amount_yen is not None:
        if not 0 < ev.amount_yen <= sale.amount_yen:  # the adapter broke its promise: no capture
            return money_back(sale, now, "vend_amount", [Record(f"vend amount {ev.amount_yen}")])
        if ev.amount_yen < sale.amount_yen:  # capture what was vended; the rest is released
            vended = replace(vended, amount_yen=ev.amount_yen, authorized_yen=sale.amount_yen)
    if sale.preauth and not sale.captured:
        return enter(vended, State.CAPTURING, now)
    return end(vended, State.SUCCEEDED, None)


def on_captured(sale: Sale, ev: Event, now: Now) -> Result:
    return end(replace(sale, captured=True), State.SUCCEEDED, None)


def on_capture_failed(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, CallFailed)
    if ev.failure in RETRYABLE:  # after an unknown capture, look before capturing again
        return retry(replace(sale, verify=sale.verify or ev.failure is Failure.UNKNOWN), now)
    if ev.failure is Failure.ALREADY_CAPTURED:
        return on_captured(sale, ev, now)
    if sale.verify and ev.call is Call.POLL:  # the status query itself failed definitely
        return retry(sale, now)
    # goods are out, PayPay refused the capture: the customer is done, the attendant is told
    note = Record(f"ATTENTION capture refused: {ev.detail}")
    return end(sale, State.SUCCEEDED, "capture_refused", [note])


def on_polled_capturing(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, StatusPolled)
    if ev.status is PaymentStatus.COMPLETED:  # the earlier capture applied
        return on_captured(sale, ev, now)
    if ev.status is PaymentStatus.AUTHORIZED:
        return issue(replace(sale, verify=False))
    note = Record(f"ATTENTION goods out, payment {ev.status.value}: cannot capture")
    return end(sale, State.SUCCEEDED, "capture_refused", [note])


def on_reverted(sale: Sale, ev: Event, now: Now) -> Result:
    return end(sale, State.REFUNDED, sale.end_reason)


def on_revert_failed(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, CallFailed)
    if ev.failure in RETRYABLE:  # after an unknown revert, look before reverting again
        return retry(replace(sale, verify=sale.verify or ev.failure is Failure.UNKNOWN), now)
    # refused: perhaps an earlier attempt applied; the status tells
    return retry(replace(sale, verify=True, refused=True), now)


def on_polled_reverting(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, StatusPolled)
    if ev.status in DEAD_STATUSES:
        return on_reverted(sale, ev, now)
    if ev.status is PaymentStatus.COMPLETED:  # captured after all: held, it is refunded instead
        sale = replace(sale, captured=True)
    if sale.refused:
        note = Record(f"ATTENTION revert refused, status {ev.status.value}")
        return end(sale, State.HELD, "revert_refused", [note])
    return issue(replace(sale, verify=False))


def on_refund_accepted(sale: Sale, ev: Event, now: Now) -> Result:
    return end(sale, State.REFUNDED, sale.end_reason)


def on_refund_failed(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, CallFailed)
    if ev.failure in RETRYABLE or ev.failure is Failure.DUPLICATE:  # it may have applied: ask
        unsure = ev.failure in (Failure.UNKNOWN, Failure.DUPLICATE)
        return retry(replace(sale, verify=sale.verify or unsure), now)
    if sale.verify and ev.failure is Failure.NOT_FOUND:  # the earlier attempt did not apply
        return issue(replace(sale, verify=False))
    note = Record(f"ATTENTION refund refused: {ev.detail}")
    return end(sale, State.HELD, "refund_refused", [note])


def on_settled(sale: Sale, ev: Event, now: Now) -> Result:
    assert isinstance(ev, AttendantSettled)
    if ev.refunded:
        return end(sale, State.REFUNDED, "refunded_by_attendant")
    handed = replace(sale, vended=True)
    if sale.give_back is GiveBack.RELEASE:  # only authorised: goods out, so take the money
        # ask first (a capture may have applied before the hold), then capture it
        note = Record("handed out by the attendant: capturing the authorisation")
        capturing = replace(handed, state=State.CAPTURING, verify=True, retries=0)
        budget = budget_s(capturing, State.CAPTURING, now)
        return issue(with_deadline(capturing, budget, now), [note])
    return end(handed, State.SUCCEEDED, "handed_out_by_attendant")
