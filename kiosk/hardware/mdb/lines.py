"""The Qibixx MDB Pi HAT's ASCII line protocol, cashless-slave side: parse and format lines.

Why a module of its own: every byte we send or accept is decided here, so the golden
transcripts test one place, and a line we do not understand becomes a typed `Unknown`
(logged by the driver) instead of an exception in the I/O loop.

Sources. DOCUMENTED (Qibixx, "Vending Sessions Examples" and "Cashless VMC" tutorials):
`C,1` enables the cashless slave; the HAT reports `c,STATUS,INACTIVE|DISABLED|ENABLED|IDLE`,
`c,STATUS,VEND,<price>,<item>` for the machine's VEND REQUEST, `c,VEND,SUCCESS` after VEND
SUCCESS, and `r,ACK` when the machine polled; `V` asks the version, answered `v,<ver>,<cpu>`.
STATED IN ISSUE 16 (from the HAT's users): `C,0` disables, `C,SETCONF,<p>=<v>` configures (not
kept across a HAT power-up), `C,START,<funds>` begins a session, `C,VEND,<price>` approves,
`C,STOP` denies / ends the session, `c,ERR,VEND 3` is a VEND FAILURE (not dispensed).
INFERRED (say so wherever used): `c,VEND,CANCEL` for the machine's VEND CANCEL, any other
`c,ERR,...` as an error report, the SETCONF parameter names in `setconf_lines`, and that the
HAT writes prices as decimals in the machine's currency units (e.g. `1.00`, `150`).
Lines end in "\n"; we accept "\r\n" too.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum


class ReaderStatus(StrEnum):
    INACTIVE = "INACTIVE"  # the machine has not set us up (it reset, or has not polled yet)
    DISABLED = "DISABLED"  # set up, but the machine does not let us take payments now
    ENABLED = "ENABLED"  # ready: no session
    IDLE = "IDLE"  # a session is open (Session Idle)


# ---- what the HAT tells us ----------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    status: ReaderStatus


@dataclass(frozen=True)
class VendRequested:
    price: str  # as the HAT wrote it: echoed back byte-exact in C,VEND
    item: int


@dataclass(frozen=True)
class VendSucceeded:
    pass


@dataclass(frozen=True)
class VendFailed:
    detail: str


@dataclass(frozen=True)
class VendCancelled:  # INFERRED line: c,VEND,CANCEL
    pass


@dataclass(frozen=True)
class Acked:  # r,ACK: the machine polled us; also the HAT's echo c,1 / c,0 (documented)
    pass


@dataclass(frozen=True)
class Version:
    text: str


@dataclass(frozen=True)
class Unknown:
    line: str
    why: str


HatMessage = (
    Status | VendRequested | VendSucceeded | VendFailed | VendCancelled | Acked | Version | Unknown
)

MAX_LINE = 200  # longer is noise on the serial line, not a message


def parse(raw: bytes) -> HatMessage:
    """One line from the HAT (without or with its line end)."""
    if len(raw) > MAX_LINE:
        return Unknown(raw[:40].decode("ascii", "replace"), f"line longer than {MAX_LINE} bytes")
    try:
        line = raw.decode("ascii").rstrip("\r\n")
    except UnicodeDecodeError:
        return Unknown(raw.decode("ascii", "replace").rstrip("\r\n"), "not ASCII")
    parts = line.split(",")
    head = parts[0]
    if head == "r" and parts[1:] == ["ACK"]:
        return Acked()
    if head == "v" and len(parts) >= 2:
        return Version(",".join(parts[1:]))
    if head != "c" or len(parts) < 2:
        return Unknown(line, "not a cashless-slave line")
    return _cashless(line, parts[1:])


def _cashless(line: str, parts: list[str]) -> HatMessage:
    if parts in (["1"], ["0"]):
        return Acked()
    if parts[0] == "STATUS" and len(parts) == 2:
        try:
            return Status(ReaderStatus(parts[1]))
        except ValueError:
            return Unknown(line, f"unknown status {parts[1]!r}")
    if parts[0] == "STATUS" and len(parts) == 4 and parts[1] == "VEND":
        return _vend_request(line, parts[2], parts[3])
    if parts == ["VEND", "SUCCESS"]:
        return VendSucceeded()
    if parts == ["VEND", "CANCEL"]:
        return VendCancelled()
    if parts[0] == "ERR":
        return VendFailed(",".join(parts[1:]))
    return Unknown(line, "unknown cashless line")


def _vend_request(line: str, price: str, item: str) -> HatMessage:
    if not item.isdigit() or len(item) > 5:
        return Unknown(line, f"item number {item!r} is not 0-65535")
    if price_units(price) is None:
        return Unknown(line, f"price {price!r} is not a decimal number")
    return VendRequested(price, int(item))


def price_units(text: str) -> Decimal | None:
    """The HAT's decimal price, or None when it is not one (no sign, exponent or junk)."""
    if not text or len(text) > 12 or not all(ch.isdigit() or ch == "." for ch in text):
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def to_yen(price: str, yen_per_unit: int) -> int | None:
    """A whole number of yen for the HAT's price, or None when it is not one."""
    units = price_units(price)
    if units is None:
        return None
    yen = units * yen_per_unit
    return int(yen) if yen == yen.to_integral_value() else None


def from_yen(amount_yen: int, yen_per_unit: int) -> str:
    """Yen as the HAT's price text (no trailing zeros: 150, 1.5)."""
    value = Decimal(amount_yen) / Decimal(yen_per_unit)
    text = format(value.normalize(), "f")
    return text


# ---- what we send -------------------------------------------------------------------------


def enable() -> str:
    return "C,1"


def disable() -> str:
    return "C,0"


def start_session(funds: str) -> str:
    return f"C,START,{funds}"


def approve(price: str) -> str:
    return f"C,VEND,{price}"


def stop() -> str:
    return "C,STOP"


def ask_version() -> str:
    return "V"


def setconf_lines(settings: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    """`C,SETCONF,<p>=<v>` for each (parameter, value): re-sent at every (re)configuration
    because the HAT does not keep them across a power-up (issue 16). Parameter NAMES ARE
    INFERRED: the operator sets them in `mdb.setconf` to what their HAT firmware documents."""
    return tuple(f"C,SETCONF,{name}={value}" for name, value in settings)
