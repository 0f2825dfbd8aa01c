"""The kiosk's vocabulary: yen amounts, catalogue items, orders, PayPay statuses, and what the
screen is told about a sale.

Why tiny and pure: every other layer (sale machine, journal, runner, UI) speaks these types, so
they import nothing with I/O, clock or randomness, and validate at construction so a bad amount
can never reach PayPay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Japan's time, PayPay's and the kiosk's business day (cancel cut-off, totals, ids), whatever
# time zone the machine was left in. The one definition.
JST = timezone(timedelta(hours=9), "JST")
# Times shown to a person (attendant screens, CLI) are in the `display_time_zone` option's zone;
# the business day above stays Japan's whatever it says.
DISPLAY_TIME_ZONE = "Asia/Tokyo"
MAX_AMOUNT_YEN = 9_999_999  # a kiosk sale above ten million yen is a typo, not a purchase
MAX_ID_LENGTH = 64
MAX_DESCRIPTION_LENGTH = 255


def time_zone(name: str) -> tzinfo:
    """The IANA zone `name` (Asia/Tokyo, UTC, Europe/London). ValueError when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a known IANA time zone (e.g. Asia/Tokyo, UTC)") from None


def zone_label(zone: tzinfo, at: float) -> str:
    """The zone's short name at `at` (JST, CET, EDT) for a column header."""
    return datetime.fromtimestamp(at, zone).tzname() or str(zone)


def validate_amount_yen(value: object, *, field: str = "amount_yen") -> int:
    """A JPY amount: a positive whole number of yen. ValueError names the field and the value."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{field} must be a whole number of yen, got {value!r}")
    if not 1 <= value <= MAX_AMOUNT_YEN:
        raise ValueError(f"{field} must be between 1 and {MAX_AMOUNT_YEN} yen, got {value}")
    return value


class PaymentStatus(StrEnum):
    """PayPay's payment statuses (reference section 4.3)."""

    CREATED = "CREATED"
    AUTHORIZED = "AUTHORIZED"
    REAUTHORIZING = "REAUTHORIZING"
    COMPLETED = "COMPLETED"
    REFUNDED = "REFUNDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"


@dataclass(frozen=True)
class Item:
    """One catalogue entry. Prices are tax-inclusive yen."""

    sku: str
    name_ja: str
    name_en: str
    price_yen: int
    image: str | None = None

    def __post_init__(self) -> None:
        validate_amount_yen(self.price_yen, field=f"price of {self.sku!r}")
        if not self.sku or len(self.sku) > MAX_ID_LENGTH:
            raise ValueError(f"item sku must be 1 to {MAX_ID_LENGTH} characters, got {self.sku!r}")


@dataclass(frozen=True)
class Order:
    """What the customer is about to pay: either catalogue lines or a keyed amount."""

    amount_yen: int
    description: str
    items: tuple[tuple[Item, int], ...] = ()

    def __post_init__(self) -> None:
        validate_amount_yen(self.amount_yen)
        if len(self.description) > MAX_DESCRIPTION_LENGTH:
            raise ValueError(f"description is longer than {MAX_DESCRIPTION_LENGTH} characters")
        if self.items and sum(i.price_yen * q for i, q in self.items) != self.amount_yen:
            raise ValueError("amount_yen does not equal the sum of the items")

    @classmethod
    def of_items(cls, lines: tuple[tuple[Item, int], ...]) -> Order:
        if not lines or any(q < 1 for _, q in lines):
            raise ValueError("an order needs at least one item, each with quantity >= 1")
        total = sum(item.price_yen * quantity for item, quantity in lines)
        names = ", ".join(item.name_en if q == 1 else f"{item.name_en} x{q}" for item, q in lines)
        return cls(amount_yen=total, description=names[:MAX_DESCRIPTION_LENGTH], items=lines)

    @classmethod
    def of_amount(cls, amount_yen: int, description: str = "Purchase") -> Order:
        return cls(amount_yen=validate_amount_yen(amount_yen), description=description)


MACHINE_ITEM = "Vending machine item "  # a sale a vending machine's selection started (MDB)


def machine_item_description(item: int) -> str:
    return f"{MACHINE_ITEM}{item}"


def machine_item_of(description: str) -> int | None:
    """The vending machine's item number of a sale it started, for the QR screen."""
    rest = description.removeprefix(MACHINE_ITEM)
    return int(rest) if rest != description and rest.isdigit() else None


class Phase(StrEnum):
    """What the customer-facing screen shows for a sale; the sale machine's many states map
    onto these few. CONFIRMING covers every "we are making sure" moment: the grace window and
    any unknown outcome being resolved. It is never shown as a failure."""

    CREATING = "creating"
    AWAITING_PAYMENT = "awaiting_payment"
    CONFIRMING = "confirming"
    VENDING = "vending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REFUNDED = "refunded"  # paid, but the goods could not be handed out: money returned
    HELD = "held"  # staff will help; the reason says whether PayPay has the money


FINAL_PHASES = frozenset(
    {Phase.SUCCEEDED, Phase.FAILED, Phase.CANCELLED, Phase.EXPIRED, Phase.REFUNDED, Phase.HELD}
)


class ServiceIssue(StrEnum):
    """Why the kiosk is out of service. Each names a cause the attendant can act on."""

    NETWORK = "network"
    CLOCK = "clock"
    MAINTENANCE = "maintenance"
    CONFIGURATION = "configuration"
    HELD_SALE = "held_sale"
    JOURNAL = "journal"
    ENGINE = "engine"  # the sale engine stopped on an error (systemd restarts the kiosk)
    ATTENDANT = "attendant"  # switched off by the attendant


@dataclass(frozen=True)
class SaleView:
    """Everything a screen needs to know about the sale in progress, and nothing else."""

    merchant_payment_id: str
    phase: Phase
    amount_yen: int
    description: str
    qr_url: str | None = None
    seconds_left: int | None = None  # until the kiosk gives up on the QR
    seconds_total: int | None = None
    reason: str | None = None  # a machine-readable reason for FAILED/CANCELLED/EXPIRED/REFUNDED


@dataclass(frozen=True)
class SaleRecord:
    """One journal row as the attendant screen and the CLI list it."""

    merchant_payment_id: str
    amount_yen: int
    status: str  # the sale machine's state, e.g. SUCCEEDED, REFUNDED, HELD
    created_at: float  # epoch seconds
    refundable_yen: int
    description: str = ""
    refunded_yen: int = 0
    reason: str = ""  # why it ended so (the attendant reads it for HELD sales)


@dataclass(frozen=True)
class Totals:
    """Paid sales of one day: how many, how much, how much went back. The one Totals: the
    journal counts them, the attendant screen and the status file show them."""

    count: int = 0
    amount_yen: int = 0
    refunded_yen: int = 0
    day: str = ""  # the JST date, YYYY-MM-DD, when the totals are a day's


@dataclass(frozen=True)
class ReconcileSummary:
    """What reconciliation at start did, for the attendant: one line per settled sale."""

    at: float
    settled: int
    unresolved: int
    held: int
    lines: tuple[str, ...]


VendKind = str  # "none" | "command" | "gpio" | "mdb"


# The sale's default durations: the one source for the options table (kiosk.config.options),
# SaleSettings below and the machine's Timing (kiosk.sale.model).
QR_TIMEOUT_S = 120  # PayPay's own QR expiry is about 300 s
POLL_INTERVAL_S = 4.0
GRACE_S = 8
RETRY_S = 2.0  # first pause before asking PayPay again after an unknown outcome
VEND_TIMEOUT_S = 20.0
VEND_DEADLINE_S = 60.0  # a payment first seen this long after the QR left: given back, not vended
VEND_PULSE_S = 0.5


@dataclass(frozen=True)
class SaleSettings:
    """Everything the sale engine needs from the configuration (parsed by kiosk.config)."""

    terminal_id: str
    store_id: str | None = None
    qr_timeout_s: float = QR_TIMEOUT_S
    poll_interval_s: float = POLL_INTERVAL_S
    grace_s: float = GRACE_S
    retry_s: float = RETRY_S
    preauth: bool = False
    on_paid_not_vended: str = "refund"  # "refund" | "hold"
    vend: VendKind = "none"
    vend_command: tuple[str, ...] = ()
    vend_timeout_s: float = VEND_TIMEOUT_S
    vend_deadline_s: float = VEND_DEADLINE_S  # paid later after the QR left: refund, never vend
    vend_gpio_pin: int | None = None
    vend_pulse_s: float = VEND_PULSE_S
    clock_skew_limit_s: float = 90.0  # PayPay rejects beyond 120 s; stop selling well before

    def __post_init__(self) -> None:
        if not self.terminal_id or len(self.terminal_id) > 24:
            raise ValueError(f"terminal_id must be 1 to 24 characters, got {self.terminal_id!r}")
        if self.on_paid_not_vended not in ("refund", "hold"):
            raise ValueError(
                f"on_paid_not_vended must be 'refund' or 'hold', got {self.on_paid_not_vended!r}"
            )
        if self.vend not in ("none", "command", "gpio", "mdb"):
            raise ValueError(f"vend must be none, command, gpio or mdb, got {self.vend!r}")
        if not 0 < self.qr_timeout_s <= 290:  # PayPay's QR lives about 300 s
            raise ValueError(
                f"qr_timeout_s must be above 0 and at most 290 s, got {self.qr_timeout_s}"
            )
        if not 0 < self.poll_interval_s <= 30:
            raise ValueError(
                f"poll_interval_s must be above 0 and at most 30 s, got {self.poll_interval_s}"
            )
        if self.grace_s < 0:
            raise ValueError(f"grace_s must not be negative, got {self.grace_s}")
        if not 0 <= self.vend_deadline_s <= 3600:
            raise ValueError(f"vend_deadline_s must be 0 to 3600 s, got {self.vend_deadline_s}")
