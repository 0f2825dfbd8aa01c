"""Transcripts: the attendant releases a HELD sale (`AttendantReleased`) and PayPay's new
answers decide: an authorisation is reverted (asked about first), an unpaid sale is deleted,
cancelled or checked once; nothing released is vended; every wait ends HELD again."""

from __future__ import annotations

import pytest

from kiosk.domain import PaymentStatus
from kiosk.engine.codec import from_record, to_record
from kiosk.sale.machine import EventNotAccepted, accepts, step
from kiosk.sale.model import (
    AttendantReleased,
    AttendantSettled,
    Call,
    CallFailed,
    CancelPayment,
    CancelPressed,
    Capture,
    Captured,
    Command,
    DeleteQr,
    Failure,
    GiveBack,
    PaymentCancelled,
    PollStatus,
    QrDeleted,
    Record,
    Recovered,
    Revert,
    Reverted,
    State,
    StatusPolled,
    Vend,
    VendFinished,
)
from tests.sale.test_sale import MPID, T0, Driver, created, paid

RELEASED = "released_by_attendant"


def revert_refused_held() -> Driver:
    """Preauth: the vend failed, the revert was refused, PayPay still says AUTHORIZED."""
    d = Driver(preauth=True)
    created(d, T0)
    d.tick(T0 + 4)
    d.feed(paid(PaymentStatus.AUTHORIZED))
    d.feed(VendFinished(ok=False))
    d.feed(CallFailed(Call.REVERT, Failure.NOT_REVERSIBLE))
    d.tick(T0 + 40)
    d.feed(paid(PaymentStatus.AUTHORIZED))
    assert (d.sale.state, d.sale.end_reason) == (State.HELD, "revert_refused")
    return d


def unanswered(d: Driver, start: float, limit_s: float = 2000) -> float:
    """Tick every 4 s and answer each call with an unknown outcome until the sale ends."""
    at = start
    while not d.sale.finished:
        at += 4
        assert at - start < limit_s, f"never ended: {d.sale.state}"
        for command in d.tick(at):
            d.feed(CallFailed(command.call, Failure.UNKNOWN))
    return at


def notes(commands: list[Command]) -> str:
    return " | ".join(c.note for c in commands if isinstance(c, Record))


def test_a_refused_revert_is_released_asking_first_with_the_same_revert_id() -> None:
    d = revert_refused_held()
    assert d.sale.give_back is GiveBack.RELEASE
    assert d.feed(AttendantReleased(), at=T0 + 600) == [PollStatus(MPID)]
    assert d.sale.state is State.REVERTING and d.sale.attendant_released and not d.sale.refused
    assert "released by the attendant (held: revert_refused)" in notes(d.last)
    assert d.feed(paid(PaymentStatus.AUTHORIZED)) == [Revert(f"{MPID}-V", "P1", RELEASED)]
    d.feed(Reverted())
    assert (d.sale.state, d.sale.end_reason) == (State.REFUNDED, RELEASED)
    assert not any(isinstance(c, Vend) for c in d.commands[d.commands.index(d.last[0]) :])


def test_a_release_finding_the_earlier_revert_applied_ends_without_reverting_again() -> None:
    d = revert_refused_held()
    sent = len([c for c in d.calls() if isinstance(c, Revert)])
    d.feed(AttendantReleased(), at=T0 + 600)
    assert d.feed(StatusPolled(PaymentStatus.CANCELED, "P1")) == []
    assert d.sale.state is State.REFUNDED
    assert len([c for c in d.calls() if isinstance(c, Revert)]) == sent


def test_a_fresh_refusal_after_a_release_holds_again() -> None:
    d = revert_refused_held()
    d.feed(AttendantReleased(), at=T0 + 600)
    d.feed(paid(PaymentStatus.AUTHORIZED))
    d.feed(CallFailed(Call.REVERT, Failure.NOT_REVERSIBLE))
    assert d.tick(T0 + 640) == [PollStatus(MPID)]
    d.feed(paid(PaymentStatus.AUTHORIZED))
    assert (d.sale.state, d.sale.end_reason) == (State.HELD, "revert_refused")
    assert d.sale.give_back is GiveBack.RELEASE  # and can be released once more
    assert accepts(d.sale, AttendantReleased())


def test_a_released_revert_never_answered_is_held_again_at_its_fresh_deadline() -> None:
    d = revert_refused_held()
    for command in d.feed(AttendantReleased(), at=T0 + 600):
        d.feed(CallFailed(command.call, Failure.UNKNOWN))
    at = unanswered(d, T0 + 600)
    assert (d.sale.state, d.sale.end_reason) == (State.HELD, "reverting_unresolved")
    assert T0 + 600 + d.sale.timing.confirm_s <= at <= T0 + 600 + d.sale.timing.confirm_s + 8


def test_plain_mode_authorisation_held_after_a_refused_revert_is_released_too() -> None:
    d = Driver()
    created(d, T0)
    d.tick(T0 + 4)
    d.feed(paid(PaymentStatus.AUTHORIZED))
    d.feed(CallFailed(Call.REVERT, Failure.NOT_ALLOWED))
    d.tick(T0 + 10)
    d.feed(paid(PaymentStatus.AUTHORIZED))
    assert d.sale.state is State.HELD and d.sale.give_back is GiveBack.RELEASE
    assert d.feed(AttendantReleased(), at=T0 + 100) == [PollStatus(MPID)]
    assert d.feed(paid(PaymentStatus.AUTHORIZED)) == [Revert(f"{MPID}-V", "P1", RELEASED)]


def test_a_sale_paid_in_full_is_not_released_by_the_machine() -> None:
    d = Driver()
    created(d, T0)
    d.tick(T0 + 4)
    d.feed(paid())
    d.feed(Recovered("hold"))
    assert d.sale.state is State.HELD and d.sale.give_back is GiveBack.REFUND
    assert not accepts(d.sale, AttendantReleased())
    before = d.sale
    with pytest.raises(EventNotAccepted):
        step(d.sale, AttendantReleased(), T0 + 100)
    assert d.sale == before


def test_only_a_held_sale_is_released() -> None:
    d = Driver()
    created(d, T0)
    assert not accepts(d.sale, AttendantReleased())  # SHOWING: the customer's sale


def test_an_anomaly_held_sale_is_checked_once_and_ends_cancelled_when_unpaid() -> None:
    d = Driver()
    created(d, T0)
    d.tick(T0 + 4)
    d.feed(StatusPolled(PaymentStatus.COMPLETED, "P1", T0, merchant_payment_id="K1-9999"))
    d.feed(QrDeleted())
    d.feed(StatusPolled(PaymentStatus.CREATED))
    assert (d.sale.state, d.sale.end_reason) == (State.HELD, "anomaly")
    assert d.sale.give_back is GiveBack.CHECK
    assert d.feed(AttendantReleased(), at=T0 + 900) == [PollStatus(MPID)]  # proven deleted
    assert d.sale.state is State.GRACE and d.sale.anomaly is None
    assert "anomaly: answer differs in merchantPaymentId" in notes(d.last)
    d.feed(StatusPolled(PaymentStatus.CREATED))
    assert (d.sale.state, d.sale.end_reason) == (State.CANCELLED, RELEASED)


def test_an_anomaly_seen_again_after_a_release_holds_again() -> None:
    d = Driver()
    created(d, T0)
    d.tick(T0 + 4)
    d.feed(StatusPolled(PaymentStatus.COMPLETED, "P1", T0, merchant_payment_id="K1-9999"))
    d.feed(QrDeleted())
    d.feed(StatusPolled(PaymentStatus.CREATED))
    d.feed(AttendantReleased(), at=T0 + 900)
    d.feed(StatusPolled(PaymentStatus.COMPLETED, "P1", T0, merchant_payment_id="K1-9999"))
    assert d.tick(T0 + 904) == [PollStatus(MPID)]  # asks on: a payment would be found
    d.feed(StatusPolled(PaymentStatus.CREATED))
    assert (d.sale.state, d.sale.end_reason) == (State.HELD, "anomaly")
    assert not any(isinstance(c, Vend) for c in d.commands)


def unproven_held() -> Driver:
    """The customer cancelled; neither the delete nor any status check was ever answered."""
    d = Driver()
    created(d, T0)
    d.feed(CancelPressed(), at=T0 + 1)
    d.feed(CallFailed(Call.DELETE, Failure.UNKNOWN))
    unanswered(d, T0 + 1)
    assert (d.sale.state, d.sale.end_reason) == (State.HELD, "grace_unresolved")
    assert not d.sale.paid and not d.sale.delete_proven
    return d


def test_an_unpaid_held_sale_with_an_unproven_code_deletes_it_then_checks() -> None:
    d = unproven_held()
    assert d.sale.give_back is GiveBack.CHECK
    assert d.feed(AttendantReleased(), at=T0 + 2000) == [DeleteQr("04-abc")]
    assert d.sale.state is State.DELETING
    assert d.feed(QrDeleted()) == [PollStatus(MPID)]
    d.feed(StatusPolled(PaymentStatus.CREATED))
    assert (d.sale.state, d.sale.end_reason) == (State.CANCELLED, RELEASED)


def test_a_payment_found_after_a_release_goes_back_and_is_never_vended() -> None:
    d = unproven_held()
    d.feed(AttendantReleased(), at=T0 + 2000)
    assert d.feed(CallFailed(Call.DELETE, Failure.ALREADY_PAID)) == [PollStatus(MPID)]
    assert d.feed(paid()) == [CancelPayment(MPID)]  # before the cut-off: cancel, not vend
    d.feed(PaymentCancelled())
    assert (d.sale.state, d.sale.end_reason) == (State.REFUNDED, "paid_after_attendant_release")
    assert not any(isinstance(c, Vend) for c in d.commands)


def test_a_released_sale_restarted_still_gives_a_payment_back_whatever_the_policy() -> None:
    d = unproven_held()
    d.feed(AttendantReleased(), at=T0 + 2000)
    d.feed(QrDeleted())
    restored = from_record(to_record(d.sale))
    assert restored == d.sale and restored.attendant_released
    d.sale = restored
    assert d.feed(Recovered("hold"), at=T0 + 2100) == [PollStatus(MPID)]
    d.feed(paid())
    assert d.sale.state is State.CANCELLING  # money back, not held, never vended
    assert not any(isinstance(c, Vend) for c in d.commands)


def test_a_released_unpaid_sale_never_answered_is_held_again() -> None:
    d = unproven_held()
    for command in d.feed(AttendantReleased(), at=T0 + 2000):
        d.feed(CallFailed(command.call, Failure.UNKNOWN))
    unanswered(d, T0 + 2000)
    assert d.sale.state is State.HELD and d.sale.end_reason == "grace_unresolved"


def test_an_unknown_create_held_is_released_by_cancelling_the_order() -> None:
    d = Driver()
    for command in d.feed(CallFailed(Call.CREATE, Failure.UNKNOWN)):
        d.feed(CallFailed(command.call, Failure.UNKNOWN))
    unanswered(d, T0)
    assert (d.sale.state, d.sale.end_reason) == (State.HELD, "create_unknown_unresolved")
    assert d.feed(AttendantReleased(), at=T0 + 1000) == [CancelPayment(MPID)]
    d.feed(PaymentCancelled())
    assert (d.sale.state, d.sale.end_reason) == (State.CANCELLED, RELEASED)


def test_a_payment_found_captured_while_reverting_is_held_for_a_refund_not_a_release() -> None:
    d = revert_refused_held()
    d.feed(AttendantReleased(), at=T0 + 600)
    assert d.feed(paid(PaymentStatus.COMPLETED)) == [Revert(f"{MPID}-V", "P1", RELEASED)]
    d.feed(CallFailed(Call.REVERT, Failure.NOT_REVERSIBLE))
    d.tick(T0 + 640)
    d.feed(paid(PaymentStatus.COMPLETED))
    assert (d.sale.state, d.sale.end_reason) == (State.HELD, "revert_refused")
    assert d.sale.captured and d.sale.give_back is GiveBack.REFUND  # PayPay's answer decides
    assert not accepts(d.sale, AttendantReleased())


def test_an_authorisation_handed_out_by_the_attendant_is_captured_asking_first() -> None:
    d = revert_refused_held()
    assert d.feed(AttendantSettled(refunded=False), at=T0 + 600) == [PollStatus(MPID)]
    assert d.sale.state is State.CAPTURING and d.sale.vended
    assert "capturing the authorisation" in notes(d.last)
    assert d.feed(paid(PaymentStatus.AUTHORIZED)) == [Capture(f"{MPID}-C", MPID, 500, "Coffee")]
    d.feed(Captured())
    assert d.sale.state is State.SUCCEEDED and d.sale.captured


def test_a_handed_out_authorisation_already_gone_is_said_not_captured() -> None:
    d = revert_refused_held()
    d.feed(AttendantSettled(refunded=False), at=T0 + 600)
    d.feed(StatusPolled(PaymentStatus.EXPIRED, "P1"))
    assert (d.sale.state, d.sale.end_reason) == (State.SUCCEEDED, "capture_refused")
    assert "ATTENTION" in notes(d.last)


def test_a_completed_payment_handed_out_just_completes() -> None:
    d = Driver()
    created(d, T0)
    d.tick(T0 + 4)
    d.feed(paid())
    d.feed(Recovered("hold"))
    assert d.feed(AttendantSettled(refunded=False)) == []
    assert (d.sale.state, d.sale.end_reason) == (State.SUCCEEDED, "handed_out_by_attendant")
