"""Typed, frozen settings built from validated option values.

Why separate from the table: the rest of the kiosk reads `Config` attributes, never the table,
so a typo in an attribute name is a mypy error, not a runtime surprise. A test checks that
every option has a field here and every field an option.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from kiosk.config.options import OPTIONS, Mode, OnPaidNotVended, VendAdapter
from kiosk.domain import Item


@dataclass(frozen=True)
class MdbConfig:
    port: str
    mode: str
    credit_yen: int
    yen_per_unit: int
    max_price_yen: int
    setconf: str
    selection_s: float
    session_s: float
    vend_s: float


@dataclass(frozen=True)
class DisplayConfig:
    width: int
    height: int
    fullscreen: bool
    rotation: int


@dataclass(frozen=True)
class VendConfig:
    adapter: VendAdapter
    command: str
    gpio_pin: int
    timeout_s: float
    pulse_s: float
    deadline_s: float

    @property
    def argv(self) -> tuple[str, ...]:
        return tuple(shlex.split(self.command))


@dataclass(frozen=True)
class AttendantConfig:
    pin_hash: str = field(repr=False)
    corner: str
    hold_s: float


@dataclass(frozen=True)
class SimulatorConfig:
    url: str
    host: str
    port: int
    public_url: str


@dataclass(frozen=True)
class JournalConfig:
    archive_after_days: int
    prune_steps_after_days: int


@dataclass(frozen=True)
class FleetConfig:
    url: str
    username: str
    topic_prefix: str
    ca_file: str
    max_rate_per_s: float
    health_s: float


@dataclass(frozen=True)
class Config:
    mode: Mode
    merchant_id: str
    terminal_id: str
    store_id: str
    language: str
    display_time_zone: str
    entry: str
    amount_max_yen: int
    qr_timeout_s: int
    poll_interval_s: float
    grace_s: int
    preauth: bool
    on_paid_not_vended: OnPaidNotVended
    sounds: bool
    state_dir: str
    log_level: str
    healthz_port: int
    catalogue: tuple[Item, ...]
    display: DisplayConfig
    vend: VendConfig
    mdb: MdbConfig
    attendant: AttendantConfig
    simulator: SimulatorConfig
    journal: JournalConfig
    fleet: FleetConfig
    sources: tuple[str, ...] = ()  # where the values came from, for `check-config`
    paypay_url: str = ""  # the hub's relay instead of PayPay (sandbox, production)


def build(values: Mapping[str, Any], sources: tuple[str, ...] = ()) -> Config:
    """The typed settings from a complete name -> value mapping (already validated)."""

    def section(cls: type[Any], prefix: str) -> Any:
        return cls(**{f.name: values[f"{prefix}.{f.name}"] for f in fields(cls)})

    return Config(
        mode=Mode(values["mode"]),
        merchant_id=values["merchant_id"],
        terminal_id=values["terminal_id"],
        store_id=values["store_id"],
        language=values["language"],
        display_time_zone=values["display_time_zone"],
        entry=values["entry"],
        amount_max_yen=values["amount_max_yen"],
        qr_timeout_s=values["qr_timeout_s"],
        poll_interval_s=values["poll_interval_s"],
        grace_s=values["grace_s"],
        preauth=values["preauth"],
        on_paid_not_vended=OnPaidNotVended(values["on_paid_not_vended"]),
        sounds=values["sounds"],
        state_dir=values["state_dir"],
        log_level=values["log_level"],
        healthz_port=values["healthz_port"],
        catalogue=tuple(values["catalogue"]),
        display=section(DisplayConfig, "display"),
        vend=VendConfig(
            adapter=VendAdapter(values["vend.adapter"]),
            command=values["vend.command"],
            gpio_pin=values["vend.gpio_pin"],
            timeout_s=values["vend.timeout_s"],
            pulse_s=values["vend.pulse_s"],
            deadline_s=values["vend.deadline_s"],
        ),
        mdb=section(MdbConfig, "mdb"),
        attendant=section(AttendantConfig, "attendant"),
        simulator=section(SimulatorConfig, "simulator"),
        journal=section(JournalConfig, "journal"),
        fleet=section(FleetConfig, "fleet"),
        sources=sources,
        paypay_url=values["paypay_url"],
    )


def defaults() -> Config:
    return build({o.name: o.default for o in OPTIONS}, ("defaults",))


INSTALLED_STATE_DIR = Path("/var/lib/kiosk")  # kiosk.service's StateDirectory=kiosk


def state_dir_source(
    config: Config, env: Mapping[str, str], home: Path, installed: Path = INSTALLED_STATE_DIR
) -> tuple[Path, str]:
    """Where the journal and status live, and why there: the configured directory; else
    systemd's $STATE_DIRECTORY; else the installed service's directory when it exists (so root
    and the kiosk user in a shell find what the service writes); else ~/.local/state/kiosk."""
    if config.state_dir:
        return Path(config.state_dir), "state_dir setting"
    if env.get("STATE_DIRECTORY"):
        return Path(env["STATE_DIRECTORY"].split(":")[0]), "$STATE_DIRECTORY from systemd"
    if installed.is_dir():
        return installed, "the installed service's directory"
    return home / ".local" / "state" / "kiosk", "not installed: the user's own directory"


def state_dir(
    config: Config, env: Mapping[str, str], home: Path, installed: Path = INSTALLED_STATE_DIR
) -> Path:
    return state_dir_source(config, env, home, installed)[0]
