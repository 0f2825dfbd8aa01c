"""The small view models screens are drawn from. A screen is a pure function of its view, so
a view holds everything visible (and nothing else): equal views draw identical pixels, which is
how the loop knows it need not redraw.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.domain import Item, SaleView, ServiceIssue, Totals
from kiosk.ui.settings import Mode

QR_PENDING = "qr:pending"  # a QR screen's URL while its code is not known (static layer, banner)


@dataclass(frozen=True)
class Chrome:
    """What every screen shares: language, branding and the mode banner."""

    language: str
    mode: Mode
    brand_name: str
    accent_rgb: tuple[int, int, int]
    pay_url: str | None = None  # demo: the QR's pay page, shown in the banner for a browser


@dataclass(frozen=True)
class AttractView:
    drift: int  # a slow step that moves the content a little against burn-in
    prompt: str = "tap_to_start"  # a catalogue key; MDB: "choose_on_machine" / "credit_start"
    amount_yen: int | None = None  # the credit, for "credit_start"


@dataclass(frozen=True)
class StartingView:
    """Shown while the kiosk starts (before the sale engine is built), so the screen is never
    black for long."""


@dataclass(frozen=True)
class MenuView:
    items: tuple[Item, ...]
    page: int = 0


@dataclass(frozen=True)
class KeypadView:
    digits: str  # the amount keyed so far, without separators
    max_amount_yen: int


@dataclass(frozen=True)
class SaleScreenView:
    sale: SaleView
    spin: int = 0  # animation step for the waiting phases


@dataclass(frozen=True)
class OutOfServiceView:
    issue: ServiceIssue
    drift: int = 0  # may stay up for hours: moves a little, like the attract screen


@dataclass(frozen=True)
class PinView:
    entered: int  # digits typed so far (never the digits themselves)
    tries_left: int | None = None  # set after a wrong PIN
    locked_s: int | None = None  # seconds until the next try is allowed
    checking: bool = False  # the PIN is being checked


@dataclass(frozen=True)
class AttendantMenuView:
    sale_in_progress: bool
    out_of_service: bool
    message: str | None = None  # the catalogue text of the last action's outcome
    hardware: str | None = None  # the vending machine link and its last results (MDB)


@dataclass(frozen=True)
class SaleRow:
    merchant_payment_id: str
    time_text: str  # HH:MM, already local
    amount_yen: int
    status: str
    refundable_yen: int


@dataclass(frozen=True)
class SalesListView:
    rows: tuple[SaleRow, ...]
    page: int = 0
    message: str | None = None


@dataclass(frozen=True)
class RefundView:
    row: SaleRow
    digits: str = ""  # partial amount keyed so far; "" before a choice
    partial: bool = False


@dataclass(frozen=True)
class HeldRow:
    merchant_payment_id: str
    time_text: str  # HH:MM, already local
    amount_yen: int
    description: str
    reason: str = ""  # the journal's held reason code (kiosk.ui.i18n.held_why_key)
    give_back: str = "refund"  # what giving it back does: "refund", "release" or "check"


@dataclass(frozen=True)
class HeldSalesView:
    """Held sales; each is settled by "Handed out" (paid ones) or its give-back (refund,
    release the authorisation, or check with PayPay again)."""

    rows: tuple[HeldRow, ...]
    message: str | None = None
    page: int = 0  # the screen shows as many rows as fit, a page at a time


@dataclass(frozen=True)
class ConfirmView:
    """A yes/no question; `action` is what "yes" does (e.g. "refund_yes", "exit_yes")."""

    question: str
    action: str


@dataclass(frozen=True)
class ReconcileView:
    lines: tuple[str, ...]
    message: str | None = None


ScreenView = (
    AttractView
    | StartingView
    | MenuView
    | KeypadView
    | SaleScreenView
    | OutOfServiceView
    | PinView
    | AttendantMenuView
    | SalesListView
    | RefundView
    | HeldSalesView
    | ConfirmView
    | Totals  # the attendant's totals screen shows kiosk.domain.Totals as it is
    | ReconcileView
)
