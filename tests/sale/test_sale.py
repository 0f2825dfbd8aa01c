"""Transcript tests of the pure sale machine: each flow of issue 4, event by event."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kiosk.domain import PaymentStatus, Phase
from kiosk.engine.codec import from_record, to_record
from kiosk.sale.machine import EventNotAccepted, accepts, cancel_cutoff_at, mermaid, new_sale, step
from kiosk.sale.model import (
    AttendantSettled,
    Call,
    CallFailed,
    CancelPayment,
    CancelPressed,
    Capture,
    Command,
    CreateQr,
    DeleteQr,
    Event,
    Failure,
    Now,
    PaymentCancelled,
    PollStatus,
    QrCreated,
    QrDeleted,
    QueryRefund,
    Record,
    Recovered,
    Refund,
    RefundAccepted,
    Revert,
    Reverted,
    Sale,
    State,
    StatusPolled,
    Ticked,
    Vend,
    VendFinished,
)
from kiosk.sale.view import phase_of, view_of

T0 = 1_790_000_000.0  # 2026-09-21 in JST daytime
MPID = "K1-0001"


class Driver:
    """Feeds events with explicit times and keeps every command the machine emitted."""

    def __init__(self, *, preauth: bool = False, now: float = T0) -> None:
        self.now = now
        self.sale, first = new_sale(MPID, 500, "Coffee", preauth=preauth, now=now)
        self.commands: list[Command] = list(first)
        self.last: list[Command] = list(first)

    def feed(self, event: Event, at: float | None = None) -> list[Command]:
        if at is not None:
            self.now = at
        self.sale, self.last = step(self.sale, event, self.now)
        self.commands.extend(self.last)
        return [c for c in self.last if not isinstance(c, Record)]

    def tick(self, to: float) -> list[Command]:
        return self.feed(Ticked(), at=to)

    def calls(self) -> list[Command]:
        return [c for c in self.commands if not isinstance(c, Record)]


def created(d: Driver, at: float | None = None) -> None:
    d.feed(QrCreated("04-abc", "http://sim/qr/abc", expiry_at=d.now + 300), at)


def paid(status: PaymentStatus = PaymentStatus.COMPLETED) -> StatusPolled:
    return StatusPolled(status, payment_id="P1", paid_at=T0 + 10)


def test_start_sends_one_create_with_the_sale_ids() -> None:
    d = Driver()
    assert d.commands == [CreateQr(MPID, 500, "Coffee", False)]
    assert phase_of(d.sale) is Phase.CREATING


def test_plain_happy_path_polls_every_4s_then_vends_once() -> None:
    d = Driver()
    created(d, T0 + 1)
    assert d.sale.state is State.SHOWING
    assert d.tick(T0 + 3) == []
    assert d.tick(T0 + 5) == [PollStatus(MPID)]
    assert d.tick(T0 + 6) == []  # one call in flight at a time
    assert d.feed(StatusPolled(PaymentStatus.CREATED)) == []
    assert d.tick(T0 + 9) == []
    assert d.tick(T0 + 10) == [PollStatus(MPID)]
    assert d.feed(paid()) == [Vend(MPID, 500, "Coffee")]
    assert phase_of(d.sale) is Phase.VENDING
    assert d.feed(VendFinished(ok=True)) == []
    assert d.sale.state is State.SUCCEEDED and d.sale.vended
    assert view_of(d.sale, d.now).phase is Phase.SUCCEEDED


def test_view_shows_the_qr_and_countdown_only_while_payable() -> None:
    d = Driver()
    created(d, T0)
    view = view_of(d.sale, T0 + 20.5)
    assert (view.qr_url, view.seconds_left, view.phase) == (
        "http://sim/qr/abc",
        100,
        Phase.AWAITING_PAYMENT,
    )
    d.feed(CancelPressed())
    assert view_of(d.sale, T0 + 21).qr_url is None


def test_kiosk_timeout_never_beyond_paypay_expiry() -> None:
    d = Driver()
    d.feed(QrCreated("04-abc", "u", expiry_at=T0 + 60))
    assert d.sale.give_up_at == T0 + 55
    assert view_of(d.sale, T0).seconds_total == 55


def test_timeout_deletes_then_one_status_check_then_expired() -> None:
    d = Driver()
    created(d, T0)
    d.tick(T0 + 4)
    d.feed(StatusPolled(PaymentStatus.CREATED))
    assert d.tick(T0 + 120) == [DeleteQr("04-abc")]
    assert phase_of(d.sale) is Phase.CONFIRMING
    assert d.feed(QrDeleted()) == [PollStatus(MPID)]
    assert d.sale.state is State.GRACE
    d.feed(StatusPolled(PaymentStatus.CREATED), at=T0 + 121)  # proven gone and unpaid
    assert d.sale.state is State.EXPIRED and d.sale.end_reason == "expired"


def test_customer_cancel_proven_by_paypay_shows_cancelled_at_once() -> None:
    d = Driver()
    created(d, T0)
    assert d.feed(CancelPressed(), at=T0 + 3) == [DeleteQr("04-abc")]
    assert d.feed(QrDeleted()) == [PollStatus(MPID)]
    d.feed(StatusPolled(PaymentStatus.CREATED))
    assert d.sale.state is State.CANCELLED
    assert view_of(d.sale, T0 + 3).phase is Phase.CANCELLED


def test_unproven_delete_keeps_the_code_watched_until_past_its_expiry() -> None:
    d = Driver()
    created(d, T0)  # PayPay's expiryDate: T0 + 300
    d.feed(CancelPressed(), at=T0 + 3)
    d.feed(CallFailed(Call.DELETE, Failure.UNKNOWN, "OutcomeUnknown 404"))  # a proxy's bare 404
    assert d.sale.state is State.DELETING and phase_of(d.sale) is Phase.CONFIRMING
    assert d.tick(T0 + 6) == [PollStatus(MPID)]  # look before deleting again
    assert d.feed(StatusPolled(PaymentStatus.CREATED)) == [DeleteQr("04-abc")]
    refused = CallFailed(Call.DELETE, Failure.INVALID, "DYNAMIC_QR_BAD_REQUEST")
    assert d.feed(refused) == [PollStatus(MPID)]  # watched at once
    d.feed(StatusPolled(PaymentStatus.CREATED))
    for at in range(10, 420, 4):
        calls = d.tick(T0 + at)
        assert DeleteQr("04-abc") not in calls  # a refusal is terminal for the delete
        if calls:
            d.feed(StatusPolled(PaymentStatus.CREATED))
        if d.sale.state is not State.WATCHING:
            break
    # watched past expiryDate (+ the clock guard's margin), then settled by a status check
    assert d.sale.state in (State.GRACE, State.CANCELLED)
    assert d.now >= T0 + 300 + 90


def test_a_payment_while_the_code_is_watched_is_vended_if_the_customer_is_there() -> None:
    d = Driver()
    created(d, T0)
    d.feed(CancelPressed(), at=T0 + 3)
    d.feed(CallFailed(Call.DELETE, Failure.UNKNOWN))
    d.tick(T0 + 6)
    assert d.feed(paid()) == [Vend(MPID, 500, "Coffee")]


def test_a_payment_seen_after_the_vend_deadline_is_given_back_not_vended() -> None:
    d = Driver()
    created(d, T0)
    d.feed(CancelPressed(), at=T0 + 3)
    d.feed(CallFailed(Call.DELETE, Failure.UNKNOWN))
    at = 4
    while at < 70 or d.sale.in_flight is not Call.POLL:  # PayPay unreachable for a minute
        at += 1
        if d.tick(T0 + at) and at < 70:
            assert d.sale.in_flight is not None
            d.feed(CallFailed(d.sale.in_flight, Failure.UNKNOWN))
    assert at <= 74  # back within one poll interval of the network's return
    assert d.feed(paid()) == [CancelPayment(MPID)]
    assert d.sale.end_reason == "paid_too_late"
    assert not any(isinstance(c, Vend) for c in d.commands)


def test_already_paid_grace_is_bounded_and_ends_held() -> None:
    d = Driver()
    created(d, T0)
    d.feed(CancelPressed(), at=T0 + 2)
    assert d.feed(CallFailed(Call.DELETE, Failure.ALREADY_PAID)) == [PollStatus(MPID)]
    d.feed(StatusPolled(PaymentStatus.CREATED), at=T0 + 30)
    assert d.sale.state is State.GRACE  # never concludes "not paid" after ALREADY_PAID
    d.tick(T0 + 40)
    d.feed(StatusPolled(PaymentStatus.CREATED))
    d.tick(T0 + 63)
    assert (d.sale.state, d.sale.end_reason) == (State.HELD, "already_paid_unconfirmed")
    assert view_of(d.sale, T0 + 63).reason == "held_unconfirmed"


def test_already_paid_then_a_dead_status_ends_without_waiting() -> None:
    d = Driver()
    created(d, T0)
    d.feed(CancelPressed(), at=T0 + 2)
    d.feed(CallFailed(Call.DELETE, Failure.ALREADY_PAID))
    d.feed(StatusPolled(PaymentStatus.FAILED))
    assert d.sale.state is State.CANCELLED


def test_cancel_while_polling_waits_for_the_poll_then_deletes() -> None:
    d = Driver()
    created(d, T0)
    d.tick(T0 + 4)
    assert d.feed(CancelPressed()) == []
    assert phase_of(d.sale) is Phase.CONFIRMING
    assert d.feed(StatusPolled(PaymentStatus.CREATED)) == [DeleteQr("04-abc")]


def test_cancel_then_paid_in_grace_goes_down_the_success_path() -> None:
    d = Driver()
    created(d, T0)
    assert d.feed(CancelPressed(), at=T0 + 2) == [DeleteQr("04-abc")]
    d.feed(QrDeleted())
    assert d.feed(paid()) == [Vend(MPID, 500, "Coffee")]


def test_delete_says_already_paid_keeps_polling_past_the_window_until_paid() -> None:
    d = Driver()
    created(d, T0)
    d.feed(CancelPressed(), at=T0 + 2)
    assert d.feed(CallFailed(Call.DELETE, Failure.ALREADY_PAID)) == [PollStatus(MPID)]
    d.feed(StatusPolled(PaymentStatus.CREATED), at=T0 + 20)
    assert d.sale.state is State.GRACE  # never concludes "not paid" after ALREADY_PAID
    d.tick(T0 + 22)
    assert d.feed(paid()) == [Vend(MPID, 500, "Coffee")]


def test_cancel_before_the_qr_exists_deletes_it_as_soon_as_it_does() -> None:
    d = Driver()
    d.feed(CancelPressed())
    assert d.sale.state is State.CREATING
    d.feed(QrCreated("04-abc", "u", T0 + 300))
    assert d.last[-1] == DeleteQr("04-abc")
    d.feed(QrDeleted())
    d.feed(StatusPolled(PaymentStatus.CREATED), at=T0 + 10)
    assert d.sale.state is State.CANCELLED


def test_unknown_delete_is_retried_with_the_same_code_id() -> None:
    d = Driver()
    created(d, T0)
    d.feed(CancelPressed(), at=T0 + 1)
    d.feed(CallFailed(Call.DELETE, Failure.UNKNOWN))
    assert phase_of(d.sale) is Phase.CONFIRMING
    assert d.tick(T0 + 2) == []
    assert d.tick(T0 + 3) == [PollStatus(MPID)]  # the deleting state watches the code
    assert d.feed(StatusPolled(PaymentStatus.CREATED)) == [DeleteQr("04-abc")]
    d.feed(CallFailed(Call.DELETE, Failure.TRY_LATER))
    assert d.tick(T0 + 6) == []
    assert d.tick(T0 + 7) == [DeleteQr("04-abc")]  # backoff doubled (at most a poll interval)
    d.feed(CallFailed(Call.DELETE, Failure.NOT_FOUND))  # PayPay's own: the first had applied
    assert d.sale.state is State.GRACE


def test_unknown_create_queries_then_cancels_never_creates_twice() -> None:
    d = Driver()
    assert d.feed(CallFailed(Call.CREATE, Failure.UNKNOWN)) == [PollStatus(MPID)]
    assert phase_of(d.sale) is Phase.CONFIRMING
    d.feed(CallFailed(Call.POLL, Failure.UNKNOWN))
    assert d.tick(T0 + 2) == [PollStatus(MPID)]
    assert d.feed(StatusPolled(PaymentStatus.CREATED)) == [CancelPayment(MPID)]
    d.feed(CallFailed(Call.CANCEL, Failure.UNKNOWN))
    assert d.tick(T0 + 4) == [CancelPayment(MPID)]
    d.feed(PaymentCancelled())
    assert d.sale.state is State.FAILED and d.sale.end_reason == "create_unknown"
    assert [c for c in d.commands if isinstance(c, CreateQr)] == [d.commands[0]]


def test_unknown_create_not_found_still_cancels_then_fails() -> None:
    d = Driver()
    d.feed(CallFailed(Call.CREATE, Failure.DUPLICATE))
    assert d.feed(CallFailed(Call.POLL, Failure.NOT_FOUND)) == [CancelPayment(MPID)]
    d.feed(CallFailed(Call.CANCEL, Failure.NOT_FOUND))
    assert d.sale.state is State.FAILED


def test_definite_create_refusal_fails_without_any_other_call() -> None:
    d = Driver()
    d.feed(CallFailed(Call.CREATE, Failure.TRY_LATER))
    assert d.sale.state is State.FAILED and d.sale.end_reason == "create_try_later"
    assert d.calls() == [CreateQr(MPID, 500, "Coffee", False)]


def test_poll_errors_keep_the_qr_and_keep_polling() -> None:
    d = Driver()
    created(d, T0)
    d.tick(T0 + 4)
    d.feed(CallFailed(Call.POLL, Failure.UNKNOWN))
    assert d.sale.state is State.SHOWING
    assert d.tick(T0 + 6) == [PollStatus(MPID)]


def test_payment_failed_at_paypay_deletes_the_qr() -> None:
    d = Driver()
    created(d, T0)
    d.tick(T0 + 4)
    assert d.feed(StatusPolled(PaymentStatus.FAILED)) == [DeleteQr("04-abc")]
    d.feed(QrDeleted())
    d.feed(StatusPolled(PaymentStatus.FAILED), at=T0 + 20)
    assert d.sale.state is State.FAILED and d.sale.end_reason == "payment_failed"


def test_plain_vend_failure_cancels_the_payment_before_the_cutoff() -> None:
    d = Driver()
    created(d, T0)
    d.tick(T0 + 4)
    d.feed(paid())
    assert d.feed(VendFinished(ok=False, detail="jam")) == [CancelPayment(MPID)]
    assert phase_of(d.sale) is Phase.CONFIRMING
    d.feed(PaymentCancelled())
    assert d.sale.state is State.REFUNDED and d.sale.end_reason == "vend_failed"


def test_plain_vend_failure_after_the_cutoff_refunds_and_verifies_unknowns() -> None:
    d = Driver()
    created(d, T0)
    d.tick(T0 + 4)
    d.feed(paid())
    late = cancel_cutoff_at(T0 + 10) + 1
    assert d.feed(VendFinished(ok=False), at=late) == [
        Refund(f"{MPID}-R0", "P1", 500, "vend_failed")
    ]
    d.feed(CallFailed(Call.REFUND, Failure.UNKNOWN))
    assert d.tick(late + 2) == [QueryRefund(f"{MPID}-R0", "P1")]
    d.feed(CallFailed(Call.REFUND_STATUS, Failure.NOT_FOUND))
    assert d.last[-1] == Refund(f"{MPID}-R0", "P1", 500, "vend_failed")
    d.feed(RefundAccepted("CREATED"))
    assert d.sale.state is State.REFUNDED


def test_cancel_refused_after_payment_falls_back_to_refund() -> None:
    d = Driver()
    created(d, T0)
    d.tick(T0 + 4)
    d.feed(paid())
    d.feed(VendFinished(ok=False))
    d.feed(CallFailed(Call.CANCEL, Failure.NOT_REVERSIBLE))
    d.feed(paid())  # still paid at PayPay: the refused cancel applied nothing
    assert d.last[-1] == Refund(f"{MPID}-R0", "P1", 500, "vend_failed")


def test_preauth_vend_then_capture_the_vended_amount() -> None:
    d = Driver(preauth=True)
    assert d.commands == [CreateQr(MPID, 500, "Coffee", True)]
    created(d, T0)
    d.tick(T0 + 4)
    d.feed(StatusPolled(PaymentStatus.COMPLETED, "P1"))
    assert d.feed(VendFinished(ok=True)) == []  # already COMPLETED: nothing to capture
    d = Driver(preauth=True)
    created(d, T0)
    d.tick(T0 + 4)
    d.feed(paid(PaymentStatus.AUTHORIZED))
    assert d.feed(VendFinished(ok=True)) == [Capture(f"{MPID}-C", MPID, 500, "Coffee")]
    d.feed(CallFailed(Call.CAPTURE, Failure.UNKNOWN))
    assert d.tick(T0 + 30) == [PollStatus(MPID)]  # ask before capturing again
    assert d.feed(paid(PaymentStatus.AUTHORIZED)) == [Capture(f"{MPID}-C", MPID, 500, "Coffee")]
    d.feed(CallFailed(Call.CAPTURE, Failure.ALREADY_CAPTURED))
    assert d.sale.state is State.SUCCEEDED and d.sale.captured


def test_preauth_captures_the_cheaper_item_the_machine_vended() -> None:
    d = Driver(preauth=True)
    created(d, T0)
    d.tick(T0 + 4)
    d.feed(paid(PaymentStatus.AUTHORIZED))
    assert d.feed(VendFinished(True, "mdb", 130)) == [Capture(f"{MPID}-C", MPID, 130, "Coffee")]
    assert (d.sale.amount_yen, d.sale.authorized_yen) == (130, 500)
    assert from_record(to_record(d.sale)) == d.sale


@pytest.mark.parametrize("vended", [0, 501])
def test_preauth_vended_amount_outside_the_authorisation_is_reverted(vended: int) -> None:
    d = Driver(preauth=True)
    created(d, T0)
    d.tick(T0 + 4)
    d.feed(paid(PaymentStatus.AUTHORIZED))
    assert d.feed(VendFinished(True, "mdb", vended)) == [Revert(f"{MPID}-V", "P1", "vend_amount")]


def test_preauth_vend_failure_reverts_the_authorization() -> None:
    d = Driver(preauth=True)
    created(d, T0)
    d.tick(T0 + 4)
    d.feed(paid(PaymentStatus.AUTHORIZED))
    assert d.feed(VendFinished(ok=False)) == [Revert(f"{MPID}-V", "P1", "vend_failed")]
    d.feed(CallFailed(Call.REVERT, Failure.UNKNOWN))
    assert d.tick(T0 + 40) == [PollStatus(MPID)]  # look before reverting again
    assert d.feed(paid(PaymentStatus.AUTHORIZED)) == [Revert(f"{MPID}-V", "P1", "vend_failed")]
    d.feed(Reverted())
    assert d.sale.state is State.REFUNDED


def test_preauth_revert_refused_and_still_authorized_is_held() -> None:
    d = Driver(preauth=True)
    created(d, T0)
    d.tick(T0 + 4)
    d.feed(paid(PaymentStatus.AUTHORIZED))
    d.feed(VendFinished(ok=False))
    d.feed(CallFailed(Call.REVERT, Failure.NOT_REVERSIBLE))
    d.tick(T0 + 40)
    d.feed(paid(PaymentStatus.AUTHORIZED))
    assert d.sale.state is State.HELD
    assert any(isinstance(c, Record) and "ATTENTION" in c.note for c in d.last)


def test_preauth_revert_refused_but_status_canceled_is_refunded() -> None:
    d = Driver(preauth=True)
    created(d, T0)
    d.tick(T0 + 4)
    d.feed(paid(PaymentStatus.AUTHORIZED))
    d.feed(VendFinished(ok=False))
    d.feed(CallFailed(Call.REVERT, Failure.NOT_REVERSIBLE))
    d.tick(T0 + 40)
    d.feed(StatusPolled(PaymentStatus.CANCELED, "P1"))
    assert d.sale.state is State.REFUNDED


def test_capture_refused_is_success_for_the_customer_with_a_note() -> None:
    d = Driver(preauth=True)
    created(d, T0)
    d.tick(T0 + 4)
    d.feed(paid(PaymentStatus.AUTHORIZED))
    d.feed(VendFinished(ok=True))
    d.feed(CallFailed(Call.CAPTURE, Failure.NOT_ALLOWED, "ORDER_EXPIRED"))
    assert (d.sale.state, d.sale.end_reason) == (State.SUCCEEDED, "capture_refused")


def test_recovered_showing_deletes_and_never_vends_a_late_payment() -> None:
    d = Driver()
    created(d, T0)
    assert d.feed(Recovered("refund"), at=T0 + 500) == [DeleteQr("04-abc")]
    d.feed(CallFailed(Call.DELETE, Failure.ALREADY_PAID))
    assert d.feed(paid()) == [CancelPayment(MPID)]
    assert not any(isinstance(c, Vend) for c in d.commands)


def test_recovered_vending_holds_when_configured() -> None:
    d = Driver()
    created(d, T0)
    d.tick(T0 + 4)
    d.feed(paid())
    assert d.feed(Recovered("hold")) == []
    assert d.sale.state is State.HELD and d.sale.end_reason == "vend_interrupted"


def test_a_held_sale_is_settled_by_the_attendant() -> None:
    d = Driver()
    created(d, T0)
    d.tick(T0 + 4)
    d.feed(paid())
    d.feed(Recovered("hold"))
    d.feed(AttendantSettled(refunded=True))
    assert (d.sale.state, d.sale.end_reason) == (State.REFUNDED, "refunded_by_attendant")


def test_recovered_creating_resolves_like_an_unknown_create() -> None:
    d = Driver()
    assert d.feed(Recovered()) == [PollStatus(MPID)]
    assert d.sale.state is State.CREATE_UNKNOWN


def test_recovered_refunding_asks_before_resending() -> None:
    d = Driver()
    created(d, T0)
    d.tick(T0 + 4)
    d.feed(paid())
    d.feed(VendFinished(ok=False), at=cancel_cutoff_at(T0) + 5)
    assert d.feed(Recovered()) == [QueryRefund(f"{MPID}-R0", "P1")]


def test_an_event_out_of_place_raises_and_changes_nothing() -> None:
    d = Driver()
    before = d.sale
    for event in (QrDeleted(), VendFinished(ok=True), StatusPolled(PaymentStatus.COMPLETED)):
        assert not accepts(before, event)
        with pytest.raises(EventNotAccepted):
            step(before, event, T0)
    assert d.sale == before
    created(d, T0)
    with pytest.raises(EventNotAccepted):  # a result for a call nobody made
        step(d.sale, CallFailed(Call.DELETE, Failure.UNKNOWN), T0)
    d.feed(CancelPressed())
    d.feed(QrDeleted())
    assert not accepts(d.sale, CancelPressed())


def test_terminal_states_accept_nothing() -> None:
    d = Driver()
    d.feed(CallFailed(Call.CREATE, Failure.INVALID))
    for event in (Ticked(), CancelPressed(), Recovered()):
        with pytest.raises(EventNotAccepted):
            step(d.sale, event, T0)


def test_record_round_trips_through_the_journal_form() -> None:
    d = Driver(preauth=True)
    created(d, T0)
    d.tick(T0 + 4)
    d.feed(paid(PaymentStatus.AUTHORIZED))
    assert from_record(to_record(d.sale)) == d.sale
    assert isinstance(from_record(to_record(d.sale)), Sale)


def test_cancel_cutoff_is_0015_jst_the_next_day() -> None:
    paid_at = datetime(2026, 3, 1, 23, 50, tzinfo=UTC).timestamp()  # 08:50 JST on 2 March
    expected = datetime(2026, 3, 2, 15, 15, tzinfo=UTC).timestamp()  # 00:15 JST on 3 March
    assert cancel_cutoff_at(paid_at) == expected


def test_mermaid_diagram_covers_every_state() -> None:
    text = mermaid()
    assert text.startswith("stateDiagram-v2\n")
    for state in State:
        assert state.value in text
    assert (
        "SHOWING --> DELETING: StatusPolled, CallFailed, CancelPressed, Ticked, Recovered" in text
    )


def test_plain_mode_reverts_an_authorisation_and_holds_if_refused() -> None:
    d = Driver()
    created(d, T0)
    d.tick(T0 + 4)
    assert d.feed(paid(PaymentStatus.AUTHORIZED)) == [
        Revert(f"{MPID}-V", "P1", "authorized_in_plain_mode")
    ]
    assert not any(isinstance(c, Vend) for c in d.commands)
    d.feed(CallFailed(Call.REVERT, Failure.NOT_ALLOWED))
    d.tick(T0 + 10)
    d.feed(paid(PaymentStatus.AUTHORIZED))
    assert (d.sale.state, d.sale.end_reason) == (State.HELD, "revert_refused")
    assert view_of(d.sale, T0 + 10).phase is Phase.HELD


def test_a_poll_answer_about_another_amount_is_an_anomaly_never_a_success() -> None:
    d = Driver()
    created(d, T0)
    d.tick(T0 + 4)
    odd = StatusPolled(PaymentStatus.COMPLETED, "P1", T0, merchant_payment_id=MPID, amount_yen=5)
    assert d.feed(odd) == [DeleteQr("04-abc")]  # withdraw the QR first
    assert d.sale.anomaly == "answer differs in amount"
    d.feed(QrDeleted())
    d.feed(StatusPolled(PaymentStatus.CREATED))
    assert (d.sale.state, d.sale.end_reason) == (State.HELD, "anomaly")
    assert not any(isinstance(c, Vend) for c in d.commands)


def test_a_poll_answer_about_another_sale_holds_it() -> None:
    d = Driver()
    d.feed(CallFailed(Call.CREATE, Failure.UNKNOWN))
    other = StatusPolled(PaymentStatus.COMPLETED, "P9", T0, merchant_payment_id="K1-9999")
    assert d.feed(other) == [CancelPayment(MPID)]  # void the order, then hold
    d.feed(PaymentCancelled())
    assert (d.sale.state, d.sale.end_reason) == (State.HELD, "anomaly")


def test_an_unknown_status_is_escalated_to_held() -> None:
    d = Driver()
    created(d, T0)
    d.feed(CancelPressed(), at=T0 + 1)
    d.feed(QrDeleted())
    d.feed(CallFailed(Call.POLL, Failure.ANOMALY, "unknown status 'PENDING_REVIEW'"))
    assert d.tick(T0 + 5) == [PollStatus(MPID)]  # asked again: a payment would be found
    d.feed(CallFailed(Call.POLL, Failure.ANOMALY, "unknown status 'PENDING_REVIEW'"))
    at = T0 + 5
    while not d.sale.finished:  # never answered in a known way: held at the deadline
        at += 4
        if d.tick(at):
            d.feed(CallFailed(Call.POLL, Failure.ANOMALY, "unknown status 'PENDING_REVIEW'"))
    assert (d.sale.state, d.sale.anomaly) == (State.HELD, "unknown status 'PENDING_REVIEW'")
    assert at <= T0 + 1 + 300 + 8


def test_every_unknown_wait_ends_held_at_its_deadline() -> None:
    d = Driver()
    created(d, T0)
    d.tick(T0 + 4)
    d.feed(paid())
    d.feed(VendFinished(ok=False))  # -> CANCELLING (money back)
    d.feed(CallFailed(Call.CANCEL, Failure.UNKNOWN))
    at = T0 + 4
    while not d.sale.finished:
        at += 4
        if d.tick(at):
            d.feed(CallFailed(Call.CANCEL, Failure.UNKNOWN))
    assert (d.sale.state, d.sale.end_reason) == (State.HELD, "cancelling_unresolved")
    assert at <= T0 + 4 + 300 + 4
    view = view_of(d.sale, at)
    assert (view.phase, view.reason) == (Phase.HELD, "held_paid")


def test_definite_cancel_refusal_is_not_retried_forever() -> None:
    d = Driver()
    d.feed(CallFailed(Call.CREATE, Failure.UNKNOWN))
    d.feed(StatusPolled(PaymentStatus.CREATED))
    assert d.feed(CallFailed(Call.CANCEL, Failure.INVALID, "INVALID_PARAMS")) == [PollStatus(MPID)]
    d.feed(CallFailed(Call.POLL, Failure.NOT_FOUND))
    assert d.sale.state is State.FAILED


def test_wall_clock_steps_do_not_touch_polling_or_the_countdown() -> None:
    sale, _ = new_sale(MPID, 500, "Coffee", preauth=False, now=Now(100.0, T0))
    sale, _ = step(sale, QrCreated("04-abc", "u", T0 + 300), Now(101.0, T0 + 1))
    stepped_back = T0 + 1 - 80  # NTP steps the wall clock back 80 s; monotonic goes on
    sale, calls = step(sale, Ticked(), Now(105.0, stepped_back + 4))
    assert calls == [PollStatus(MPID)]
    assert view_of(sale, 105.0).seconds_left == 116
    assert view_of(sale, 101.0).seconds_left == 120  # never above the QR timeout
    sale, _ = step(sale, StatusPolled(PaymentStatus.CREATED), Now(105.0, stepped_back + 4))
    sale, calls = step(sale, Ticked(), Now(109.0, stepped_back + 160))  # and forward 150 s
    assert calls == [PollStatus(MPID)] and sale.state is State.SHOWING


def test_a_restart_rebases_every_deadline_on_the_new_monotonic_clock() -> None:
    d = Driver()
    created(d, T0)
    d.tick(T0 + 4)
    d.feed(paid())
    d.feed(VendFinished(ok=False))
    d.feed(CallFailed(Call.CANCEL, Failure.UNKNOWN))
    # after a reboot the monotonic clock starts near zero again; the deadline set before it
    # (on the wall clock, plus the clock guard's margin) still counts
    sale, calls = step(d.sale, Recovered(), Now(3.0, T0 + 104))
    assert calls == [CancelPayment(MPID)]
    assert sale.deadline_at == 3.0 + (300 + 90 - 100)
    sale, calls = step(d.sale, Recovered(), Now(3.0, T0 + 900))  # down for 15 minutes
    assert calls == [CancelPayment(MPID)]  # asked once more, held if that does not settle it
    assert sale.deadline_at == 3.0


def test_an_anomaly_while_a_refused_delete_is_watched_keeps_watching_until_expiry() -> None:
    d = Driver()
    created(d, T0)  # expiryDate T0 + 300
    d.feed(CancelPressed(), at=T0 + 1)
    d.feed(CallFailed(Call.DELETE, Failure.INVALID, "DYNAMIC_QR_BAD_REQUEST"))
    d.feed(CallFailed(Call.POLL, Failure.ANOMALY, "unknown payment status 'X'"), at=T0 + 2)
    assert d.sale.state is State.WATCHING  # the code is still payable: never unwatched
    assert d.tick(T0 + 6) == [PollStatus(MPID)]
    d.feed(StatusPolled(PaymentStatus.CREATED))
    view = view_of(d.sale, T0 + 6)  # released: told what the watch ends as
    assert d.sale.customer_released and (view.phase, view.reason) == (
        Phase.HELD,
        "held_unconfirmed",
    )
    d.tick(T0 + 10)
    d.feed(CallFailed(Call.POLL, Failure.ANOMALY, "unknown payment status 'X'"))
    assert d.sale.state is State.WATCHING
    assert d.tick(T0 + 14) == [PollStatus(MPID)]
    d.feed(StatusPolled(PaymentStatus.CREATED))
    at = T0 + 14
    while not d.sale.finished:
        at += 4
        if d.tick(at):
            d.feed(StatusPolled(PaymentStatus.CREATED))
    assert (d.sale.state, d.sale.end_reason) == (State.HELD, "anomaly")
    assert at >= T0 + 300


def test_an_anomaly_in_the_grace_window_goes_on_asking_so_a_payment_is_found() -> None:
    """Found by `make chaos`: an untrusted answer in the grace window held the sale as unpaid
    at once; the customer had paid just before the delete, and nobody could refund it."""
    d = Driver()
    created(d, T0)
    d.feed(CancelPressed(), at=T0 + 1)
    d.feed(QrDeleted())
    assert d.calls()[-1] == PollStatus(MPID)
    d.feed(CallFailed(Call.POLL, Failure.ANOMALY, "unknown payment status 'PENDING_REVIEW'"))
    assert d.sale.state is State.GRACE and not d.sale.finished
    assert d.tick(T0 + 10) == [PollStatus(MPID)]
    d.feed(paid())
    assert (d.sale.state, d.sale.end_reason, d.sale.payment_id) == (State.HELD, "anomaly", "P1")
    assert view_of(d.sale, T0 + 10).reason == "held_paid"


def test_an_anomaly_in_the_grace_window_is_held_when_proven_unpaid() -> None:
    d = Driver()
    created(d, T0)
    d.feed(CancelPressed(), at=T0 + 1)
    d.feed(QrDeleted())
    d.feed(CallFailed(Call.POLL, Failure.ANOMALY, "unknown payment status 'PENDING_REVIEW'"))
    d.tick(T0 + 10)
    d.feed(StatusPolled(PaymentStatus.CREATED))
    assert (d.sale.state, d.sale.end_reason) == (State.HELD, "anomaly")


def test_restarts_cannot_make_a_wait_endless() -> None:
    """Found by `make chaos`: a refused delete is watched to PayPay's expiry plus a margin, but
    every restart granted the margin afresh on the new monotonic clock; restarted every 30 s,
    the sale watched forever and the kiosk sold nothing. The watch now ends at one wall-clock
    instant (expiryDate + the clock guard's margin + a poll), whatever the restarts."""
    d = Driver()
    created(d, T0)  # expiryDate T0 + 300
    d.feed(CancelPressed(), at=T0 + 1)
    d.feed(CallFailed(Call.DELETE, Failure.INVALID, "DYNAMIC_QR_BAD_REQUEST"))
    first_deadline_wall = d.sale.deadline_wall_at
    assert first_deadline_wall == T0 + 300 + 90 + 4
    sale, wall = d.sale, T0 + 1
    answers = {
        Call.POLL: StatusPolled(PaymentStatus.CREATED),
        Call.DELETE: CallFailed(Call.DELETE, Failure.INVALID, "DYNAMIC_QR_BAD_REQUEST"),
    }
    for _ in range(200):  # a crash loop: each life starts its monotonic clock near zero
        wall += 30
        sale, _ = step(sale, Recovered(), Now(1.0, wall))
        while sale.in_flight is not None:  # each life asks, and is refused, once more
            sale, _ = step(sale, answers[sale.in_flight], Now(1.5, wall))
            assert sale.deadline_wall_at is not None
            assert sale.deadline_wall_at <= first_deadline_wall  # never moved later
        sale, _ = step(sale, Ticked(), Now(29.0, wall + 28))
        assert sale.state in (State.WATCHING, State.GRACE)
        if sale.state is State.GRACE:
            break
    assert sale.state is State.GRACE  # past the code's expiry: settled by one status query
    assert wall <= first_deadline_wall + 30


def test_a_cancel_applied_behind_a_lost_answer_is_not_refunded_after_its_refusal() -> None:
    """Found by make chaos (seed 2032): the lost cancel had applied, the next one was refused,
    and the refund PayPay then refused held the sale for ever though the money was back."""
    d = Driver()
    created(d, T0)
    d.tick(T0 + 4)
    d.feed(paid())
    d.feed(VendFinished(ok=False))
    d.feed(CallFailed(Call.CANCEL, Failure.UNKNOWN))  # applied; the answer was lost
    assert d.tick(T0 + 6) == [CancelPayment(MPID)]
    assert d.feed(CallFailed(Call.CANCEL, Failure.INVALID, "INVALID_PARAMS")) == [PollStatus(MPID)]
    assert d.feed(StatusPolled(PaymentStatus.CANCELED)) == []
    assert (d.sale.state, d.sale.end_reason) == (State.REFUNDED, "vend_failed")


def test_a_refused_cancel_of_a_payment_still_paid_refunds_it() -> None:
    d = Driver()
    created(d, T0)
    d.tick(T0 + 4)
    d.feed(paid())
    d.feed(VendFinished(ok=False))
    assert d.feed(CallFailed(Call.CANCEL, Failure.NOT_REVERSIBLE)) == [PollStatus(MPID)]
    d.feed(CallFailed(Call.POLL, Failure.UNKNOWN))  # the question itself: asked again
    assert d.tick(T0 + 8) == [PollStatus(MPID)]
    assert d.feed(paid()) == [Refund(f"{MPID}-R0", "P1", 500, "vend_failed")]
    assert d.sale.state is State.REFUNDING and not d.sale.refused
