"""The options table: every setting's name, type, default, help and allowed values.

Why one table: validation (`kiosk.config.load`), `config/kiosk.example.toml` and the docs'
option table (`kiosk.config.render`) all come from `OPTIONS`, so they cannot drift apart; a
test checks the generated files are in sync. Add an option here and in `settings.py`.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from kiosk.domain import (
    DISPLAY_TIME_ZONE,
    GRACE_S,
    MAX_AMOUNT_YEN,
    POLL_INTERVAL_S,
    QR_TIMEOUT_S,
    VEND_DEADLINE_S,
    VEND_PULSE_S,
    VEND_TIMEOUT_S,
    Item,
    time_zone,
)
from kiosk.hardware.vend import template_problem
from kiosk.ops.pin import is_pin_hash

DEFAULT_PATH = Path("/etc/kiosk/kiosk.toml")
ENV_PREFIX = "KIOSK_"
ENV_CONFIG_PATH = "KIOSK_CONFIG"  # names the file; not an option
SECRET_WORDS = ("secret", "api_key", "apikey", "password", "token", "credential")


class Mode(StrEnum):
    DEMO = "demo"  # the built-in simulator; no PayPay keys needed
    SANDBOX = "sandbox"
    PRODUCTION = "production"


class VendAdapter(StrEnum):
    NONE = "none"
    COMMAND = "command"
    GPIO = "gpio"
    MDB = "mdb"


class OnPaidNotVended(StrEnum):
    REFUND = "refund"
    HOLD = "hold"


class Kind(StrEnum):
    STR = "text"
    INT = "integer"
    FLOAT = "number"
    BOOL = "boolean"
    CHOICE = "choice"
    ITEMS = "list of items"


Check = Callable[[Any], str | None]  # returns why a well-typed value is still not allowed


@dataclass(frozen=True)
class Option:
    name: str  # dotted: a section and a key, e.g. "display.width"
    kind: Kind
    default: Any
    help: str
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    check: Check | None = None
    allowed_text: str = ""  # overrides the generated "allowed" text
    sensitive: bool = False  # never echo the value

    @property
    def env_name(self) -> str:
        return ENV_PREFIX + self.name.replace(".", "_").upper()

    @property
    def allowed(self) -> str:
        if self.allowed_text:
            return self.allowed_text
        if self.kind is Kind.CHOICE:
            return "one of " + ", ".join(str(c) for c in self.choices)
        if self.kind is Kind.BOOL:
            return "true or false"
        if self.kind in (Kind.INT, Kind.FLOAT):
            what = "a whole number" if self.kind is Kind.INT else "a number"
            return f"{what} from {_num(self.minimum)} to {_num(self.maximum)}"
        return "text"


def _num(value: float | None) -> str:
    return "-" if value is None else (str(int(value)) if float(value).is_integer() else str(value))


def _check_pin_hash(value: str) -> str | None:
    if value and not is_pin_hash(value):
        return "not a PIN hash"
    return None


def _check_command(value: str) -> str | None:
    try:
        argv = tuple(shlex.split(value))
    except ValueError as exc:
        return f"not splittable into words ({exc})"
    problem = template_problem(argv)
    return f"not usable: {problem}" if problem else None


def _check_url(value: str) -> str | None:
    if value and not value.startswith(("http://", "https://")):
        return "not an http(s) URL"
    return None


def _check_http_url(value: str) -> str | None:
    if value and not value.startswith(("http://", "https://")):
        return "not an http:// or https:// URL"
    return None


def _check_broker_url(value: str) -> str | None:
    if value and not value.startswith(("mqtt://", "mqtts://")):
        return "not an mqtt:// or mqtts:// URL"
    if "@" in value:
        return "carries a user or password: put the password in the credentials instead"
    return None


def _check_topic_prefix(value: str) -> str | None:
    words = value.split("/")
    ok = all(w and all(c.isascii() and (c.isalnum() or c in "-_") for c in w) for w in words)
    return None if ok else "not words of letters, digits, - and _ separated by /"


def _check_id(value: str) -> str | None:
    return "longer than 64 characters" if len(value) > 64 else None


def _check_terminal_id(value: str) -> str | None:
    # it prefixes every merchantPaymentId (at most 64 characters with the sale counter)
    if not 1 <= len(value) <= 24:
        return "not 1 to 24 characters"
    if not all(c.isascii() and (c.isalnum() or c in "-_") for c in value):
        return "not made of letters, digits, - and _"
    return None


def _check_port(value: str) -> str | None:
    return None if value == "sim" or value.startswith("/") else 'not "sim" or a device path'


def _check_time_zone(value: str) -> str | None:
    try:
        time_zone(value)
    except ValueError:
        return "not a known IANA time zone"
    return None


def parse_setconf(value: str) -> tuple[tuple[str, str], ...]:
    """`a=1,b=2` -> (("a", "1"), ("b", "2")); ValueError names the bad pair."""
    pairs = []
    for part in filter(None, (p.strip() for p in value.split(","))):
        name, eq, setting = part.partition("=")
        ok = eq and name and setting and all(c.isalnum() or c in "-_." for c in name + setting)
        if not ok:
            raise ValueError(f"{part!r} is not name=value (letters, digits, - _ .)")
        pairs.append((name, setting))
    return tuple(pairs)


def _check_setconf(value: str) -> str | None:
    try:
        parse_setconf(value)
    except ValueError as exc:
        return f"not name=value pairs: {exc}"
    return None


DEMO_CATALOGUE = (
    Item("coffee", "コーヒー", "Coffee", 150),
    Item("tea", "お茶", "Green tea", 130),
    Item("water", "水", "Water", 100),
)

# fmt: off
OPTIONS: tuple[Option, ...] = (
    Option("mode", Kind.CHOICE, "demo", "demo runs against the built-in PayPay simulator (no "
           "keys); sandbox and production talk to PayPay with PAYPAY_API_KEY/SECRET",
           choices=tuple(m.value for m in Mode)),
    Option("merchant_id", Kind.STR, "", "PayPay merchant id (X-ASSUME-MERCHANT); required in "
           "sandbox and production", check=_check_id),
    Option("paypay_url", Kind.STR, "", "sandbox and production: send the PayPay calls here "
           "instead, the fleet hub's relay (https://hub:8443; its kiosk key as PAYPAY_API_KEY/"
           "SECRET, docs/relay.md); empty: PayPay itself", check=_check_http_url,
           allowed_text="empty or an http(s):// URL"),
    Option("terminal_id", Kind.STR, "kiosk-1", "this kiosk's name; prefixes merchantPaymentIds "
           "and appears in the journal", check=_check_terminal_id,
           allowed_text="1 to 24 letters, digits, - or _"),
    Option("store_id", Kind.STR, "", "PayPay storeId sent with each order (empty: none)",
           check=_check_id),
    Option("language", Kind.CHOICE, "ja", "the language a customer sees first",
           choices=("ja", "en")),
    Option("display_time_zone", Kind.STR, DISPLAY_TIME_ZONE, "the time zone of every time shown "
           "to a person (attendant screens, kiosk journal and status, --since/--until); "
           "PayPay's cancel cut-off and the day's totals stay Japan time",
           check=_check_time_zone, allowed_text="an IANA time zone name, e.g. Asia/Tokyo, UTC"),
    Option("entry", Kind.CHOICE, "catalogue", "catalogue: the customer picks items; amount: the "
           "attendant keys an amount", choices=("catalogue", "amount")),
    Option("amount_max_yen", Kind.INT, 50_000, "largest amount the attendant may key in",
           minimum=1, maximum=MAX_AMOUNT_YEN),
    Option("qr_timeout_s", Kind.INT, QR_TIMEOUT_S, "seconds a QR stays on screen before the "
           "kiosk deletes it (PayPay's own expiry is about 300 s)", minimum=30, maximum=290),
    Option("poll_interval_s", Kind.FLOAT, POLL_INTERVAL_S, "seconds between payment status "
           "queries", minimum=2, maximum=30),
    Option("grace_s", Kind.INT, GRACE_S, "seconds to keep polling after a timeout or cancel, "
           "to catch a payment made in the last moment", minimum=0, maximum=60),
    Option("preauth", Kind.BOOL, False, "authorise first, vend, then capture the vended amount "
           "(vending machines); false: plain payment"),
    Option("on_paid_not_vended", Kind.CHOICE, "refund", "when paid goods could not be handed "
           "out: refund automatically, or hold the sale for the attendant",
           choices=tuple(m.value for m in OnPaidNotVended)),
    Option("sounds", Kind.BOOL, False, "play sounds on success and failure"),
    Option("state_dir", Kind.STR, "", "where the journal lives (empty: $STATE_DIRECTORY "
           "from systemd, else /var/lib/kiosk when installed, else ~/.local/state/kiosk)"),
    Option("log_level", Kind.CHOICE, "info", "least severe log level written",
           choices=("debug", "info", "warning", "error")),
    Option("healthz_port", Kind.INT, 0, "serve GET /healthz on 127.0.0.1 at this port (0: off)",
           minimum=0, maximum=65535),
    Option("catalogue", Kind.ITEMS, DEMO_CATALOGUE, "the items on sale, in screen order: sku, "
           "name_ja, name_en, price_yen (tax-inclusive), optional image (a path "
           "relative to this file's directory, e.g. images/tea.png, or absolute)",
           allowed_text="[[catalogue]] tables"),
    Option("display.width", Kind.INT, 0, "window width in pixels (0: the screen's own)",
           minimum=0, maximum=7680),
    Option("display.height", Kind.INT, 0, "window height in pixels (0: the screen's own)",
           minimum=0, maximum=4320),
    Option("display.fullscreen", Kind.BOOL, True, "take the whole screen, no window frame"),
    Option("display.rotation", Kind.CHOICE, 0, "rotate the picture (and touches) clockwise by "
           "this many degrees, for a panel mounted sideways", choices=(0, 90, 180, 270)),
    Option("vend.adapter", Kind.CHOICE, "none", "how goods are handed out: none (attended "
           "counter), command (run vend.command), gpio (pulse vend.gpio_pin), mdb (a vending "
           "machine's cashless slot through a Qibixx MDB HAT; see the mdb.* options)",
           choices=tuple(m.value for m in VendAdapter)),
    Option("vend.command", Kind.STR, "", "program (and arguments) run for each vend; "
           "{merchant_payment_id}, {amount_yen} and {description} in it are filled in; exit "
           "status 0 within vend.timeout_s means vended", check=_check_command),
    Option("vend.gpio_pin", Kind.INT, 17, "BCM pin pulsed high to vend", minimum=0, maximum=27),
    Option("vend.timeout_s", Kind.FLOAT, VEND_TIMEOUT_S, "a vend not confirmed within this "
           "time failed", minimum=0.5, maximum=120),
    Option("vend.pulse_s", Kind.FLOAT, VEND_PULSE_S, "how long vend.gpio_pin is held high",
           minimum=0.05, maximum=10),
    Option("vend.deadline_s", Kind.FLOAT, VEND_DEADLINE_S, "a payment first seen more than "
           "this long after the QR left the screen is given back (refund or revert), never "
           "vended: the customer has most likely gone", minimum=0, maximum=3600),
    Option("mdb.port", Kind.STR, "/dev/serial0", "vend.adapter = mdb: the HAT's serial port "
           "(115200 baud); in demo mode \"sim\" plays a vending machine in-process",
           check=_check_port),
    Option("mdb.mode", Kind.CHOICE, "selection", "selection: the customer chooses on the "
           "machine and pays that price; credit: the customer pays mdb.credit_yen on the "
           "screen first (with preauth = true the unused rest is released)",
           choices=("selection", "credit")),
    Option("mdb.credit_yen", Kind.INT, 500, "mdb.mode = credit: the credit a customer pays for "
           "(at least the dearest item)", minimum=10, maximum=MAX_AMOUNT_YEN),
    Option("mdb.yen_per_unit", Kind.INT, 1, "yen per unit of the prices the machine sends "
           "(its scale factor; 1 for a machine set up in yen)", minimum=1, maximum=1000),
    Option("mdb.max_price_yen", Kind.INT, 10_000, "a vend request above this is refused (not "
           "every machine sends its price range)", minimum=1, maximum=MAX_AMOUNT_YEN),
    Option("mdb.setconf", Kind.STR, "", "HAT settings re-sent at every (re)configuration, as "
           "name=value pairs separated by commas (names from your HAT's firmware manual)",
           check=_check_setconf, allowed_text="name=value pairs separated by commas"),
    Option("mdb.selection_s", Kind.FLOAT, 60.0, "selection first: a chosen item not paid "
           "within this is refused (keep it below the machine's own response time limit)",
           minimum=10, maximum=250),
    Option("mdb.session_s", Kind.FLOAT, 60.0, "credit first: the customer must choose within "
           "this, else the credit is given back", minimum=10, maximum=250),
    Option("mdb.vend_s", Kind.FLOAT, 25.0, "an approved vend the machine does not confirm "
           "within this failed (the payment goes back)", minimum=5, maximum=120),
    Option("attendant.pin_hash", Kind.STR, "", "the attendant PIN's hash from `kiosk hash-pin` "
           "(empty: the demo PIN 1234, in demo and sandbox only; required in production)",
           check=_check_pin_hash,
           allowed_text="empty or the output of `kiosk hash-pin`", sensitive=True),
    Option("attendant.corner", Kind.CHOICE, "top-right", "the screen corner an attendant holds "
           "to open the PIN pad", choices=("top-left", "top-right", "bottom-left",
                                           "bottom-right")),
    Option("attendant.hold_s", Kind.FLOAT, 3.0, "how long the corner must be held",
           minimum=1, maximum=10),
    Option("simulator.url", Kind.STR, "", "demo mode: use this running simulator (e.g. "
           "kiosk-simulator.service at http://127.0.0.1:8765); empty: start one in-process",
           check=_check_url),
    Option("simulator.host", Kind.STR, "127.0.0.1", "demo mode, in-process simulator: address "
           "to listen on (0.0.0.0 lets phones on the LAN open the pay page)"),
    Option("simulator.port", Kind.INT, 0, "demo mode, in-process simulator: port (0: any free)",
           minimum=0, maximum=65535),
    Option("simulator.public_url", Kind.STR, "", "demo mode: base URL phones use to reach the "
           "pay page (empty: derived from host and port)", check=_check_url),
    Option("journal.archive_after_days", Kind.INT, 400, "finished sales older than this move "
           "from the journal to compressed files in <state dir>/archive (kiosk journal export "
           "--archive reads them); above PayPay's refund window of 365 days",
           minimum=367, maximum=36500),
    Option("journal.prune_steps_after_days", Kind.INT, 90, "the step log (intents, outcomes) "
           "of finished sales is deleted after this many days; the sale itself stays",
           minimum=1, maximum=36500),
    Option("fleet.url", Kind.STR, "", "MQTT broker the kiosk reports its sales and health to "
           "(mqtt://host:1883 or mqtts://host:8883; empty: no fleet, the kiosk runs alone); the "
           "password comes from the credentials (mqtt_password), see docs/fleet.md",
           check=_check_broker_url, allowed_text="empty, mqtt://host[:port] or mqtts://..."),
    Option("fleet.username", Kind.STR, "", "broker user name (empty: terminal_id)",
           check=_check_id),
    Option("fleet.topic_prefix", Kind.STR, "kiosk", "first words of every fleet topic",
           check=_check_topic_prefix, allowed_text="words of letters, digits, - and _ (a/b)"),
    Option("fleet.ca_file", Kind.STR, "", "mqtts: the CA certificate file that signed the "
           "broker's (empty: the system's CAs)"),
    Option("fleet.max_rate_per_s", Kind.FLOAT, 20.0, "most messages a second sent to the broker "
           "(a backlog after an outage drains at this rate)", minimum=1, maximum=1000),
    Option("fleet.health_s", Kind.FLOAT, 30.0, "seconds between health snapshots (the hub "
           "calls a kiosk silent after hearing nothing for its own limit, 90 s by default)",
           minimum=5, maximum=3600),
)
# fmt: on

BY_NAME: dict[str, Option] = {o.name: o for o in OPTIONS}
SECTIONS = tuple(dict.fromkeys(o.name.split(".")[0] for o in OPTIONS if "." in o.name))
ITEM_KEYS = ("sku", "name_ja", "name_en", "price_yen", "image")
