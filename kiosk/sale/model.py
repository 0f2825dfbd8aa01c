"""The sale machine's vocabulary: states, events (past facts), commands (imperatives) and the
immutable `Sale` record that `kiosk.sale.machine.step` transforms.

Why a separate module: `sale.py` holds the one transition table and stays readable; this file
holds the plain data, its journal (de)serialisation and the mapping from the many machine
states onto the few `Phase`s a screen shows. Pure: no I/O, no clock, no randomness.

Invariants carried by the data:
- every id a retry needs (merchant_payment_id, code_id, merchant_refund_id, merchant_capture_id,
  merchant_revert_id) is fixed in the record before the first call that uses it is sent;
- `payment_id`/`paid_status` once set are never cleared: a paid sale cannot forget it was paid;
- `in_flight` names the one call awaiting its result; a result for another call is refused.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum

from kiosk.domain import (
    GRACE_S,
    POLL_INTERVAL_S,
    QR_TIMEOUT_S,
    RETRY_S,
    VEND_DEADLINE_S,
    PaymentStatus,
)


class State(StrEnum):
    CREATING = "CREATING"  # create sent, answer awaited
    CREATE_UNKNOWN = "CREATE_UNKNOWN"  # create outcome unknown: querying by merchantPaymentId
    SHOWING = "SHOWING"  # QR on screen, polling
    DELETING = "DELETING"  # giving up on the QR: delete it (retried until known)
    WATCHING = "WATCHING"  # delete/cancel refused: polled until the code has surely expired
    GRACE = "GRACE"  # QR gone; a few more status checks catch a last-second payment
    CANCELLING = "CANCELLING"  # cancel by merchantPaymentId (unknown create, or vend failed)
    VENDING = "VENDING"  # paid: goods being handed out
    CAPTURING = "CAPTURING"  # preauth: vended, capturing the vended amount
    REVERTING = "REVERTING"  # preauth: vend failed, releasing the authorization
    REFUNDING = "REFUNDING"  # plain: vend failed past the cancel cut-off, refunding
    SUCCEEDED = "SUCCEEDED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"
    REFUNDED = "REFUNDED"
    HELD = "HELD"  # paid, not vended, not refunded: the attendant decides


TERMINAL_STATES = frozenset(
    {
        State.SUCCEEDED,
        State.CANCELLED,
        State.EXPIRED,
        State.FAILED,
        State.REFUNDED,
        State.HELD,
    }
)


class Call(StrEnum):
    """The outside calls a command makes; a result event names the call it answers."""

    CREATE = "create"
    POLL = "poll"
    DELETE = "delete"
    CANCEL = "cancel"
    REFUND = "refund"
    REFUND_STATUS = "refund_status"
    CAPTURE = "capture"
    REVERT = "revert"
    VEND = "vend"


class GiveBack(StrEnum):
    """What the attendant's give-back does for a HELD sale (`Sale.give_back`)."""

    REFUND = "refund"  # paid in full: the attendant's refund (a refund row, kiosk.engine.refunds)
    RELEASE = "release"  # only authorised: revert the authorisation (the machine, REVERTING)
    CHECK = "check"  # not paid as far as the kiosk knows: ask PayPay again (the machine)


class Failure(StrEnum):
    """What a failed call tells the machine. The runner maps the client's error tree here."""

    UNKNOWN = "unknown"  # timeout, 5xx, lost connection: may or may not have been applied
    TRY_LATER = "try_later"  # rate limited / not connected: nothing applied
    AUTH = "auth"  # 401: usually our clock; retry once it is right
    NOT_FOUND = "not_found"
    ALREADY_PAID = "already_paid"  # DYNAMIC_QR_ALREADY_PAID: the customer paid
    DUPLICATE = "duplicate"  # the id was already used: our earlier request was applied
    NOT_REVERSIBLE = "not_reversible"
    ALREADY_CAPTURED = "already_captured"
    NOT_ALLOWED = "not_allowed"  # a definite refusal in the current state
    INVALID = "invalid"  # a definite refusal of the request itself
    ANOMALY = "anomaly"  # an answer we cannot trust (unknown status, another sale's fields)


PAID_STATUSES = frozenset({PaymentStatus.COMPLETED, PaymentStatus.AUTHORIZED})
DEAD_STATUSES = frozenset(
    {PaymentStatus.FAILED, PaymentStatus.CANCELED, PaymentStatus.EXPIRED, PaymentStatus.REFUNDED}
)


# ---- events: past facts -------------------------------------------------------------------


@dataclass(frozen=True)
class QrCreated:
    code_id: str
    qr_url: str
    expiry_at: float


@dataclass(frozen=True)
class StatusPolled:
    status: PaymentStatus
    payment_id: str | None = None
    paid_at: float | None = None
    # what the answer says it is about; checked against the sale (None: not in the answer)
    merchant_payment_id: str | None = None
    amount_yen: int | None = None
    currency: str | None = None


@dataclass(frozen=True)
class QrDeleted:
    pass


@dataclass(frozen=True)
class PaymentCancelled:
    pass


@dataclass(frozen=True)
class RefundAccepted:
    status: str = "CREATED"


@dataclass(frozen=True)
class Captured:
    pass


@dataclass(frozen=True)
class Reverted:
    pass


@dataclass(frozen=True)
class VendFinished:
    ok: bool
    detail: str = ""
    amount_yen: int | None = None  # preauth: what was vended, when less than authorised


@dataclass(frozen=True)
class CallFailed:
    call: Call
    failure: Failure
    detail: str = ""


@dataclass(frozen=True)
class CancelPressed:
    by: str = "customer"


@dataclass(frozen=True)
class Ticked:
    pass


@dataclass(frozen=True)
class Recovered:
    """The kiosk restarted with this sale unfinished (or the journal came back after a
    failure): the customer is gone, never vend now. Deadlines restart on the new clock."""

    on_paid_not_vended: str = "refund"  # "refund" | "hold"


@dataclass(frozen=True)
class AttendantSettled:
    """The attendant settled a HELD sale: refunded it, or handed the goods out by hand."""

    refunded: bool


@dataclass(frozen=True)
class AttendantReleased:
    """The attendant gives back a HELD sale the machine settles itself (`Sale.give_back` is
    RELEASE or CHECK): revert an authorisation, or ask PayPay again about an unpaid one."""


Event = (
    QrCreated
    | StatusPolled
    | QrDeleted
    | PaymentCancelled
    | RefundAccepted
    | Captured
    | Reverted
    | VendFinished
    | CallFailed
    | CancelPressed
    | Ticked
    | Recovered
    | AttendantSettled
    | AttendantReleased
)

# The call whose answer each result event is; the machine refuses results nobody asked for.
RESULT_OF: dict[type, Call] = {
    QrCreated: Call.CREATE,
    QrDeleted: Call.DELETE,
    PaymentCancelled: Call.CANCEL,
    Captured: Call.CAPTURE,
    Reverted: Call.REVERT,
    VendFinished: Call.VEND,
}


# ---- commands: imperatives for the runner -------------------------------------------------


@dataclass(frozen=True)
class CreateQr:
    merchant_payment_id: str
    amount_yen: int
    description: str
    preauth: bool
    call: Call = Call.CREATE


@dataclass(frozen=True)
class PollStatus:
    merchant_payment_id: str
    call: Call = Call.POLL


@dataclass(frozen=True)
class DeleteQr:
    code_id: str
    call: Call = Call.DELETE


@dataclass(frozen=True)
class CancelPayment:
    merchant_payment_id: str
    call: Call = Call.CANCEL


@dataclass(frozen=True)
class Refund:
    merchant_refund_id: str
    payment_id: str
    amount_yen: int
    reason: str
    call: Call = Call.REFUND


@dataclass(frozen=True)
class QueryRefund:
    merchant_refund_id: str
    payment_id: str
    call: Call = Call.REFUND_STATUS


@dataclass(frozen=True)
class Capture:
    merchant_capture_id: str
    merchant_payment_id: str
    amount_yen: int
    description: str
    call: Call = Call.CAPTURE


@dataclass(frozen=True)
class Revert:
    merchant_revert_id: str
    payment_id: str
    reason: str
    call: Call = Call.REVERT


@dataclass(frozen=True)
class Vend:
    merchant_payment_id: str
    amount_yen: int
    description: str
    call: Call = Call.VEND


@dataclass(frozen=True)
class Record:
    """A line for the journal's step log that a person should read (vend failed, held, ...)."""

    note: str


CallCommand = (
    CreateQr
    | PollStatus
    | DeleteQr
    | CancelPayment
    | Refund
    | QueryRefund
    | Capture
    | Revert
    | Vend
)
Command = CallCommand | Record


# ---- the sale record ----------------------------------------------------------------------


GRACE_POLL_S = 2.0  # polls in the grace window come at least this often
RETRY_MAX_S = 30.0  # the longest pause between asking PayPay again


@dataclass(frozen=True)
class Now:
    """One instant on both clocks. `mono` (never steps) measures every interval and deadline;
    `wall` is for records, PayPay's fields and the JST cancel cut-off only."""

    mono: float
    wall: float


def as_now(now: float | Now) -> Now:
    """A bare float is both clocks at once (tests and the pure transcripts)."""
    return now if isinstance(now, Now) else Now(now, now)


@dataclass(frozen=True)
class Timing:
    """Every duration the machine uses: data in the sale, so a restart keeps the same rules."""

    qr_timeout_s: float = QR_TIMEOUT_S
    poll_interval_s: float = POLL_INTERVAL_S
    grace_s: float = GRACE_S
    grace_poll_s: float = GRACE_POLL_S
    retry_s: float = RETRY_S
    retry_max_s: float = RETRY_MAX_S  # backoff cap; never above poll_interval_s (handlers._retry)
    expiry_margin_s: float = 5.0  # give up this long before PayPay's expiryDate
    confirm_s: float = 300.0  # the longest any unknown outcome is chased before HELD
    already_paid_s: float = 60.0  # after DYNAMIC_QR_ALREADY_PAID: wait this long for the status
    vend_deadline_s: float = VEND_DEADLINE_S  # paid later after the QR left the screen: no vend
    skew_margin_s: float = 90.0  # our wall clock may be this far off PayPay's (the clock guard)
    # PayPay's default code validity (expiryDate - requestedAt, 300-301 s observed; we request
    # none): how long a code whose create answer was lost may be payable
    code_lifetime_s: float = 300.0


@dataclass(frozen=True)
class Sale:
    merchant_payment_id: str
    amount_yen: int
    description: str
    preauth: bool
    created_at: float
    timing: Timing = dataclasses.field(default_factory=Timing)
    state: State = State.CREATING
    in_flight: Call | None = None
    # *_at below are on the monotonic clock unless marked "wall"; a restart rebases them
    next_at: float | None = None  # when the state's call is next due (poll or retry)
    retries: int = 0
    give_up_at: float | None = None
    shown_at: float | None = None
    grace_until_at: float | None = None
    deadline_at: float | None = None  # past it the waiting state escalates (HELD or GRACE)
    deadline_wall_at: float | None = None  # wall: the same deadline, kept across restarts
    qr_left_at: float | None = None  # when the QR left the screen (vend deadline)
    expiry_mono_at: float | None = None  # PayPay's expiryDate, on the monotonic clock
    code_id: str | None = None
    qr_url: str | None = None
    expiry_at: float | None = None  # wall: PayPay's expiryDate
    payment_id: str | None = None
    paid_at: float | None = None
    paid_status: PaymentStatus | None = None
    cancel_requested: bool = False
    end_reason: str | None = None
    already_paid: bool = False
    qr_dead: bool = False
    delete_proven: bool = False  # PayPay's own answer says the code is gone
    # the customer was told the outcome and the kiosk sells again while this sale's code is
    # still watched in the background: never vended from now on (the next customer is there)
    customer_released: bool = False
    anomaly: str | None = None  # an untrustworthy answer: the sale ends HELD
    verify: bool = False  # ask for the status before repeating a call that may have applied
    refused: bool = False  # PayPay definitely refused the money-back call once
    vend_started: bool = False
    vended: bool = False
    captured: bool = False
    recovered: bool = False
    attendant_released: bool = False  # given back from HELD: never vended, money goes back
    on_paid_not_vended: str = "refund"
    creates_sent: int = 0
    authorized_yen: int | None = None  # preauth: what was authorised, when less was vended

    @property
    def merchant_refund_id(self) -> str:
        return f"{self.merchant_payment_id}-R0"

    @property
    def merchant_capture_id(self) -> str:
        return f"{self.merchant_payment_id}-C"

    @property
    def merchant_revert_id(self) -> str:
        return f"{self.merchant_payment_id}-V"

    @property
    def paid(self) -> bool:
        return self.paid_status is not None

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def give_back(self) -> GiveBack:
        """A refund needs a completed payment; an authorisation only reverts (PayPay refuses
        a refund of it); an unpaid sale has nothing to give back until PayPay says so."""
        if not self.paid:
            return GiveBack.CHECK
        if self.paid_status is PaymentStatus.AUTHORIZED and not self.captured:
            return GiveBack.RELEASE
        return GiveBack.REFUND
