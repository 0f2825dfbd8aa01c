"""The hub's configuration: a small TOML file (`[hub]`) plus secrets from the credentials.

Why its own table: the hub runs on a server, not a kiosk; it shares no option with the kiosk.
Invariants: every key is checked (type, range) and a bad one names the key, the value and what
is allowed; passwords and alert target URLs (they carry tokens) never come from the TOML file:
$HUB_MQTT_PASSWORD or the credential file `hub_mqtt_password`, and `alert_urls` (one apprise
URL a line); the database password through libpq's own PGPASSWORD or ~/.pgpass.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.fleet.hub.service import HubSettings
from kiosk.fleet.publisher import broker_address
from kiosk.fleet.schema import PayloadError, check_prefix
from kiosk.ops.pin import is_pin_hash
from kiosk.ops.secrets import DEFAULT_CREDENTIALS_DIR, read_secret_file

DEFAULT_PATH = Path("/etc/kiosk/hub.toml")
KEYS: dict[str, tuple[type, Any, str]] = {
    "broker_url": (str, "mqtt://127.0.0.1:1883", "mqtt://host[:port] or mqtts://host[:port]"),
    "username": (str, "hub", "the hub's broker user"),
    "ca_file": (str, "", "mqtts: CA certificate file (empty: system CAs)"),
    "topic_prefix": (str, "kiosk", "the kiosks' fleet.topic_prefix"),
    "client_id": (str, "hub", "MQTT client id (its persistent session on the broker)"),
    "database": (str, "postgresql:///fleet", "libpq connection string of the ledger"),
    "silent_s": (float, 90.0, "seconds without a message before a kiosk is called silent"),
    "http_host": (str, "127.0.0.1", "status page address (0.0.0.0: every interface)"),
    "http_port": (int, 0, "status page port (0: no status page)"),
    "password_hash": (str, "", "status page password hash from `kiosk hub hash-password`"),
    "paypay_mode": (
        str,
        "",
        "nightly reconciliation against PayPay: sandbox, production, or"
        " simulator (paypay_url); empty: none",
    ),
    "paypay_url": (str, "", "simulator mode: the PayPay simulator's URL"),
    "merchant_id": (str, "", "PayPay merchant id (X-ASSUME-MERCHANT)"),
    "reconcile_hour": (int, 2, "hour (JST, 0-23) the day before is reconciled"),
    "relay_port": (int, 0, "PayPay relay port for kiosks (0: no relay; docs/relay.md)"),
    "relay_host": (str, "127.0.0.1", "PayPay relay address (0.0.0.0: every interface)"),
    "relay_rate_per_min": (int, 120, "calls a minute a newly issued kiosk key may make"),
    "relay_daily_refund_limit_yen": (int, 10000, "yen a newly issued kiosk key may refund a day"),
    "relay_max_skew_s": (
        int,
        120,
        "seconds a kiosk's signed epoch may differ from the hub's (1-600)",
    ),
    "webhook_sources": (
        str,
        "",
        "PayPay webhook source addresses/networks, comma separated (empty: no webhooks)",
    ),
}


class HubConfigError(ValueError):
    """A hub setting is wrong; the message names the key and what is allowed."""


@dataclass(frozen=True)
class HubConfig:
    hub: HubSettings
    http_host: str  # the HTTP server (status page; other routes, e.g. a relay, join it)
    http_port: int
    password_hash: str = field(repr=False)
    paypay_mode: str = ""
    paypay_url: str = ""
    merchant_id: str = ""
    reconcile_hour: int = 2
    relay: RelaySettings = field(default_factory=lambda: RelaySettings())


@dataclass(frozen=True)
class RelaySettings:
    host: str = "127.0.0.1"
    port: int = 0
    rate_per_min: int = 120
    daily_refund_limit_yen: int = 10000
    max_skew_s: int = 120
    webhook_sources: tuple[str, ...] = ()
    master_key: str = field(default="", repr=False)  # base64, from the credentials only


def _value(key: str, raw: Any) -> Any:
    kind, _, allowed = KEYS[key]
    if kind is float and isinstance(raw, int) and not isinstance(raw, bool):
        raw = float(raw)
    if not isinstance(raw, kind) or isinstance(raw, bool):
        raise HubConfigError(f"hub.{key} = {raw!r} is not {kind.__name__} ({allowed})")
    return raw


def load_hub_config(path: Path, env: Mapping[str, str]) -> HubConfig:
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise HubConfigError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise HubConfigError(f"{path} is not valid TOML: {exc}") from None
    section = data.get("hub", {})
    unknown = sorted(set(section) - set(KEYS)) + sorted(set(data) - {"hub"})
    if unknown:
        raise HubConfigError(f"{path}: unknown setting(s) {', '.join(unknown)}")
    values = {k: _value(k, section[k]) if k in section else KEYS[k][1] for k in KEYS}
    try:
        broker_address(values["broker_url"])
        check_prefix(values["topic_prefix"])
    except (ValueError, PayloadError) as exc:
        raise HubConfigError(f"{path}: {exc}") from None
    if not 0 <= values["http_port"] <= 65535:
        raise HubConfigError(f"hub.http_port = {values['http_port']} is not 0 to 65535")
    if values["http_port"] and not is_pin_hash(values["password_hash"]):
        raise HubConfigError(
            "hub.password_hash is not set to the output of `kiosk hub hash-password`"
            " (the status page needs it)"
        )
    if values["paypay_mode"] not in ("", "sandbox", "production", "simulator"):
        raise HubConfigError(
            f"hub.paypay_mode = {values['paypay_mode']!r} is not empty, sandbox, production or"
            " simulator"
        )
    if values["paypay_mode"] == "simulator" and not values["paypay_url"].startswith("http"):
        raise HubConfigError("hub.paypay_url must be the simulator's http(s) URL")
    if not 0 <= values["reconcile_hour"] <= 23:
        raise HubConfigError(f"hub.reconcile_hour = {values['reconcile_hour']} is not 0 to 23")
    if not 1 <= values["silent_s"] <= 86400:
        raise HubConfigError(f"hub.silent_s = {values['silent_s']} is not 1 to 86400")
    credentials = _credentials_dir(env)
    relay = _relay(
        path, values, _secret(env, "HUB_RELAY_MASTER_KEY", credentials, "relay_master_key")
    )
    settings = HubSettings(
        broker_url=values["broker_url"],
        database=values["database"],
        prefix=values["topic_prefix"],
        client_id=values["client_id"],
        username=values["username"],
        password=_secret(env, "HUB_MQTT_PASSWORD", credentials, "hub_mqtt_password"),
        ca_file=values["ca_file"],
        silent_s=values["silent_s"],
        alert_urls=tuple(
            line.strip()
            for line in _secret(env, "HUB_ALERT_URLS", credentials, "alert_urls").splitlines()
            if line.strip()
        ),
    )
    return HubConfig(
        settings,
        values["http_host"],
        values["http_port"],
        values["password_hash"],
        values["paypay_mode"],
        values["paypay_url"],
        values["merchant_id"],
        values["reconcile_hour"],
        relay,
    )


def _relay(path: Path, values: dict[str, Any], master_key: str) -> RelaySettings:
    from kiosk.fleet.relay.webhooks import parse_sources

    for key, low, high in (
        ("relay_port", 0, 65535),
        ("relay_rate_per_min", 1, 100000),
        ("relay_daily_refund_limit_yen", 0, 10**9),
        ("relay_max_skew_s", 1, 600),  # nonces are kept for twice this (store.NONCE_KEEP_S)
    ):
        if not low <= values[key] <= high:
            raise HubConfigError(f"hub.{key} = {values[key]} is not {low} to {high}")
    sources = tuple(s.strip() for s in values["webhook_sources"].split(",") if s.strip())
    try:
        parse_sources(sources)
    except ValueError as exc:
        raise HubConfigError(f"hub.webhook_sources: {exc}") from None
    if values["relay_port"] and not values["paypay_mode"]:
        raise HubConfigError("hub.relay_port is set but hub.paypay_mode is empty (relay to where?)")
    return RelaySettings(
        values["relay_host"],
        values["relay_port"],
        values["relay_rate_per_min"],
        values["relay_daily_refund_limit_yen"],
        values["relay_max_skew_s"],
        sources,
        master_key,
    )


def _credentials_dir(env: Mapping[str, str]) -> list[Path]:
    places = [Path(env["CREDENTIALS_DIRECTORY"])] if env.get("CREDENTIALS_DIRECTORY") else []
    return [*places, DEFAULT_CREDENTIALS_DIR]


def _secret(env: Mapping[str, str], name: str, places: list[Path], filename: str) -> str:
    if env.get(name):
        return env[name].strip()
    for place in places:
        path = place / filename
        if path.exists():
            return read_secret_file(path)
    return ""


def example() -> str:
    lines = ["# kiosk hub configuration (kiosk hub run --config FILE)", "[hub]"]
    for key, (_, default, allowed) in KEYS.items():
        shown = f'"{default}"' if isinstance(default, str) else str(default)
        lines.append(f"# {allowed}")
        lines.append(f"{key} = {shown}")
    return "\n".join(lines) + "\n"
