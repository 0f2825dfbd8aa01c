"""The MDB reader's vocabulary: states, events (past facts), commands and the `Slot` record
that `kiosk.hardware.mdb.machine.step` transforms. Plain data: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from kiosk.hardware.mdb.lines import HatMessage


class Reader(StrEnum):
    OFFLINE = "OFFLINE"  # serial port not open
    CONFIGURING = "CONFIGURING"  # SETCONF + C,1 sent: waiting for the HAT to answer
    DISABLED = "DISABLED"  # the machine has not enabled us (yet)
    ENABLED = "ENABLED"  # ready: no session
    SELECTED = "SELECTED"  # selection first: the machine asked a price; the customer pays
    STARTING = "STARTING"  # credit first: C,START sent; the machine opens the session
    SESSION = "SESSION"  # credit first: credit offered; the customer chooses
    VENDING = "VENDING"  # C,VEND sent: waiting for VEND SUCCESS / FAILURE
    ENDING = "ENDING"  # C,STOP sent (or vend done): waiting for the session to close
    STOPPED = "STOPPED"  # shut down: disabled


@dataclass(frozen=True)
class Timing:
    configure_s: float = 5.0  # the HAT answers a (re)configuration
    reconfigure_min_s: float = 2.0  # a RESET/SETUP loop re-sends the configuration this seldom
    quiet_s: float = 60.0  # nothing heard this long while idle: re-send the configuration
    selection_s: float = 60.0  # selection first: pay within this (below the machine's limit)
    start_s: float = 10.0  # credit first: the machine opens the session
    session_s: float = 60.0  # credit first: the customer chooses
    vend_s: float = 25.0  # the vend watchdog: the machine reports the result
    end_s: float = 5.0  # the machine closes the session after C,STOP


@dataclass(frozen=True)
class Rules:
    yen_per_unit: int = 1  # the machine's price unit in yen (scale factor)
    max_price_yen: int = 10_000  # machines that never send MAX/MIN PRICES still get a bound
    credit_first: bool = False  # the customer pays a credit on the screen, then chooses
    setconf: tuple[tuple[str, str], ...] = ()
    timing: Timing = field(default_factory=Timing)


# ---- events from the kiosk side (the HAT's are kiosk.hardware.mdb.lines messages) ---------


@dataclass(frozen=True)
class Opened:
    pass


@dataclass(frozen=True)
class LinkLost:
    reason: str


@dataclass(frozen=True)
class Ticked:
    pass


@dataclass(frozen=True)
class Bound:
    """The kiosk began sale `merchant_payment_id` for the offered `selection`."""

    selection: int
    merchant_payment_id: str


@dataclass(frozen=True)
class VendAsked:
    """The sale engine confirmed a payment and asks for the goods (kiosk's `Vendor.vend`);
    credit first: `amount_yen` is the authorised credit."""

    merchant_payment_id: str
    amount_yen: int


@dataclass(frozen=True)
class Abandoned:
    """The kiosk's sale for the selection ended unpaid (customer cancel, QR timeout)."""

    merchant_payment_id: str


@dataclass(frozen=True)
class Shutdown:
    pass


Event = HatMessage | Opened | LinkLost | Ticked | Bound | VendAsked | Abandoned | Shutdown

# ---- commands -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Send:
    line: str


@dataclass(frozen=True)
class Offer:
    """Selection first: show the QR for this price (start a sale)."""

    selection: int
    price_yen: int
    item: int


@dataclass(frozen=True)
class Withdraw:
    """The machine gave up on the selection: cancel its sale (payment after this is refunded)."""

    selection: int
    reason: str


@dataclass(frozen=True)
class Answer:
    """The one answer to a `VendAsked`."""

    ok: bool
    detail: str
    amount_yen: int | None = None
    item: int | None = None


@dataclass(frozen=True)
class Note:
    text: str


Command = Send | Offer | Withdraw | Answer | Note


# ---- the reader's record ------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    rules: Rules = field(default_factory=Rules)
    state: Reader = Reader.OFFLINE
    deadline_at: float | None = None
    selection: int = 0  # counts VEND REQUESTs offered to the kiosk
    price: str | None = None  # the selection's price as the HAT wrote it
    price_yen: int = 0
    item: int | None = None
    merchant_payment_id: str | None = None  # the sale bound to the selection / the credit
    credit_yen: int = 0
    credit: bool = False  # the session in progress is credit first
    waiting: bool = False  # a VendAsked awaits its Answer
    configured_at: float | None = None
    heard_at: float = 0.0
    probed_at: float | None = None  # keepalive sent, no line heard since


class EventNotAccepted(Exception):
    def __init__(self, state: Reader, event: Event) -> None:
        super().__init__(f"reader state {state.value} does not accept {type(event).__name__}")
        self.state = state
        self.event = event


Result = tuple[Slot, list[Command]]
Handler = Callable[[Slot, Event, float], Result]
R = Reader
BUSY = (R.SELECTED, R.STARTING, R.SESSION, R.VENDING, R.ENDING)
LIVE = (R.CONFIGURING, R.DISABLED, R.ENABLED, *BUSY)
