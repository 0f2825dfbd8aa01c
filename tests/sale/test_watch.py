"""Transcripts of a code PayPay will not withdraw (issue 11, open points C and D).

A refused delete (D), or a refused cancel after a create whose answer was lost (C), leaves a
code that may be payable until it expires. The sale WATCHes it by polling; once PayPay says it
is unpaid, the customer is released (told the outcome at once, the kiosk sells again) and a
payment found after that goes back, never vended.
"""

from __future__ import annotations

from kiosk.domain import PaymentStatus, Phase
from kiosk.sale.machine import step
from kiosk.sale.model import (
    Call,
    CallFailed,
    CancelPayment,
    CancelPressed,
    DeleteQr,
    Failure,
    Now,
    PaymentCancelled,
    PollStatus,
    QrDeleted,
    Recovered,
    Revert,
    Reverted,
    State,
    StatusPolled,
    Ticked,
    Vend,
)
from kiosk.sale.view import phase_of, view_of
from tests.sale.test_sale import MPID, T0, Driver, created, paid

REFUSED_DELETE = CallFailed(Call.DELETE, Failure.INVALID, "DYNAMIC_QR_BAD_REQUEST")
REFUSED_CANCEL = CallFailed(Call.CANCEL, Failure.INVALID, "INVALID_PARAMS")
UNPAID = StatusPolled(PaymentStatus.CREATED)


def refused_delete(*, preauth: bool = False, reason: str = "cancel") -> Driver:
    """A shown code the customer cancelled (or that timed out); PayPay refused its delete."""
    d = Driver(preauth=preauth)
    created(d, T0)  # expiryDate T0 + 300
    if reason == "cancel":
        d.feed(CancelPressed(), at=T0 + 3)
    else:
        d.tick(T0 + 4)
        d.feed(UNPAID)
        d.tick(T0 + 120)
    assert d.feed(REFUSED_DELETE) == [PollStatus(MPID)]  # watched at once, never deleted again
    assert d.sale.state is State.WATCHING and phase_of(d.sale) is Phase.CONFIRMING
    return d


def test_a_refused_delete_releases_the_customer_once_paypay_says_unpaid() -> None:
    d = refused_delete()
    assert not d.sale.customer_released  # not yet: the customer may have paid just now
    d.feed(UNPAID)
    assert d.sale.customer_released and d.sale.state is State.WATCHING and not d.sale.finished
    view = view_of(d.sale, d.now)
    # never "you have not been charged": the code may still be paid, and that comes back
    assert (view.phase, view.reason, view.qr_url) == (Phase.CANCELLED, "watched", None)


def test_a_timed_out_code_whose_delete_is_refused_says_time_ran_out() -> None:
    d = refused_delete(reason="timeout")
    d.feed(UNPAID)
    view = view_of(d.sale, d.now)
    assert (view.phase, view.reason) == (Phase.EXPIRED, "watched")


def test_a_payment_before_the_release_is_vended_the_customer_is_there() -> None:
    d = refused_delete()
    assert d.feed(paid()) == [Vend(MPID, 500, "Coffee")]


def test_a_payment_to_a_released_code_goes_back_and_is_never_vended() -> None:
    d = refused_delete()
    d.feed(UNPAID)
    assert d.tick(T0 + 6) == []
    assert d.tick(T0 + 7) == [PollStatus(MPID)]  # one poll interval after the last answer
    assert d.feed(paid()) == [CancelPayment(MPID)]  # the next customer may be at the kiosk
    assert (d.sale.state, d.sale.end_reason) == (State.CANCELLING, "paid_after_release")
    assert phase_of(d.sale) is Phase.CONFIRMING  # the screen keeps what it told (runner)
    d.feed(PaymentCancelled())
    assert d.sale.state is State.REFUNDED
    assert not any(isinstance(c, Vend) for c in d.commands)


def test_preauth_a_released_code_authorised_later_is_reverted() -> None:
    d = refused_delete(preauth=True)
    d.feed(UNPAID)
    d.tick(T0 + 8)
    calls = d.feed(paid(PaymentStatus.AUTHORIZED))
    assert calls == [Revert(f"{MPID}-V", "P1", "paid_after_release")]
    d.feed(Reverted())
    assert d.sale.state is State.REFUNDED


def test_the_hold_policy_says_staff_will_return_a_late_payment() -> None:
    d = refused_delete()
    d.sale, calls = step(d.sale, Recovered("hold"), Now(1.0, T0 + 5))
    assert calls == [DeleteQr("04-abc")]  # a restart asks once more to withdraw it
    d.sale, _ = step(d.sale, REFUSED_DELETE, Now(1.5, T0 + 5))
    d.sale, _ = step(d.sale, UNPAID, Now(1.5, T0 + 5))
    assert view_of(d.sale, 1.5).reason == "watched_hold"
    d.sale, calls = step(d.sale, Ticked(), Now(5.5, T0 + 9))
    assert calls == [PollStatus(MPID)]
    d.sale, _ = step(d.sale, paid(), Now(5.5, T0 + 9))
    assert (d.sale.state, d.sale.end_reason) == (State.HELD, "paid_after_restart")


def test_a_released_code_is_watched_until_past_its_expiry_then_ends_as_told() -> None:
    d = refused_delete()
    d.feed(UNPAID)
    at = T0 + 3
    while d.sale.state is State.WATCHING:
        at += 1
        if d.tick(at) and d.sale.state is State.WATCHING:
            d.feed(UNPAID)
    assert at >= T0 + 300 + 90  # PayPay's expiryDate + the clock guard's margin
    assert d.sale.state is State.GRACE  # one more status check of the now-dead code
    assert d.last[-1] == PollStatus(MPID)
    d.feed(UNPAID)
    assert (d.sale.state, d.sale.end_reason) == (State.CANCELLED, "cancelled")
    assert at <= T0 + 300 + 90 + 4 + 1


def test_a_refused_cancel_after_a_lost_create_watches_the_order_until_its_code_expires() -> None:
    """C: the create's answer was lost, the order may exist with a payable code nobody saw;
    PayPay refused the cancel. The order is watched until that code has surely expired."""
    d = Driver()
    d.feed(CallFailed(Call.CREATE, Failure.UNKNOWN), at=T0 + 1)
    assert d.feed(UNPAID) == [CancelPayment(MPID)]
    assert d.feed(REFUSED_CANCEL, at=T0 + 2) == [PollStatus(MPID)]
    assert d.sale.state is State.WATCHING
    d.feed(UNPAID)
    view = view_of(d.sale, d.now)
    # no code was shown: nobody can have paid it; the customer may try again at once
    assert d.sale.customer_released and (view.phase, view.reason) == (
        Phase.FAILED,
        "create_unknown",
    )
    at = T0 + 2
    while d.sale.state is State.WATCHING:
        at += 1
        if d.tick(at) and d.sale.state is State.WATCHING:
            d.feed(UNPAID)
    # created_at + PayPay's default validity (300 s) + the clock guard's margin + a poll
    assert T0 + 300 + 90 <= at <= T0 + 300 + 90 + 4 + 1
    d.feed(UNPAID)
    assert (d.sale.state, d.sale.end_reason) == (State.FAILED, "create_unknown")


def test_a_lost_create_whose_order_is_paid_while_watched_gives_the_money_back() -> None:
    d = Driver()
    d.feed(CallFailed(Call.CREATE, Failure.UNKNOWN), at=T0 + 1)
    d.feed(UNPAID)
    d.feed(REFUSED_CANCEL, at=T0 + 2)
    d.feed(UNPAID)
    d.tick(T0 + 6)
    assert d.feed(paid()) == [CancelPayment(MPID)]
    assert not any(isinstance(c, Vend) for c in d.commands)


def test_an_order_paypay_does_not_know_ends_the_watch_at_once() -> None:
    d = Driver()
    d.feed(CallFailed(Call.CREATE, Failure.UNKNOWN), at=T0 + 1)
    d.feed(UNPAID)
    d.feed(REFUSED_CANCEL, at=T0 + 2)
    d.feed(CallFailed(Call.POLL, Failure.NOT_FOUND))  # PayPay's own DYNAMIC_QR_NOT_FOUND
    assert (d.sale.state, d.sale.end_reason) == (State.FAILED, "create_unknown")


def test_a_restart_asks_once_more_to_withdraw_then_watches_to_the_same_instant() -> None:
    d = refused_delete()
    d.feed(UNPAID)
    deadline_wall = d.sale.deadline_wall_at
    assert deadline_wall == T0 + 300 + 90 + 4
    sale, calls = step(d.sale, Recovered(), Now(2.0, T0 + 200))
    assert calls[-1] == DeleteQr("04-abc") and sale.customer_released  # the refusal may have passed
    sale, calls = step(sale, REFUSED_DELETE, Now(2.5, T0 + 200.5))
    assert sale.state is State.WATCHING and calls[-1] == PollStatus(MPID)
    assert sale.deadline_wall_at == deadline_wall and sale.deadline_at == 2.0 + 194
    sale, calls = step(sale, paid(), Now(2.5, T0 + 200.5))
    assert calls[-1] == CancelPayment(MPID)  # after a restart: never vended either


def test_a_restart_withdraws_a_code_it_was_refused_before_and_ends_the_watch() -> None:
    d = refused_delete()
    d.feed(UNPAID)
    sale, _ = step(d.sale, Recovered(), Now(2.0, T0 + 200))
    sale, calls = step(sale, QrDeleted(), Now(2.5, T0 + 200))
    assert calls == [PollStatus(MPID)]
    sale, _ = step(sale, UNPAID, Now(2.5, T0 + 200))
    assert (sale.state, sale.end_reason) == (State.CANCELLED, "cancelled")


def test_a_restart_asks_again_about_a_lost_create_and_cancels_its_order() -> None:
    d = Driver()
    d.feed(CallFailed(Call.CREATE, Failure.UNKNOWN), at=T0 + 1)
    d.feed(UNPAID)
    d.feed(REFUSED_CANCEL, at=T0 + 2)
    d.feed(UNPAID)
    sale, calls = step(d.sale, Recovered(), Now(2.0, T0 + 100))
    assert calls[-1] == PollStatus(MPID) and sale.state is State.CREATE_UNKNOWN
    sale, calls = step(sale, UNPAID, Now(2.5, T0 + 100))
    assert calls[-1] == CancelPayment(MPID)
    sale, _ = step(sale, PaymentCancelled(), Now(2.5, T0 + 100))
    assert (sale.state, sale.end_reason) == (State.FAILED, "create_unknown")
