"""The fleet's part in `kiosk run` (only when `fleet.url` is set): the broker password, the
outbox, the link to the broker, and a catalogue from the hub handed to the screen between
sales. Kept apart so a kiosk without a fleet never imports kiosk.fleet or paho.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.commands.common import CommandError, ExitCode
from kiosk.config import Config
from kiosk.engine.journal import FactSink, Journal
from kiosk.engine.runner import Runner
from kiosk.ops.secrets import SecretError, load_fleet_password

if TYPE_CHECKING:
    from kiosk.fleet.link import FleetLink
    from kiosk.ui.app import App

log = logging.getLogger(__name__)


def take_catalogue(app: App, fleet: FleetLink | None, runner: Runner) -> None:
    """A catalogue the hub sent takes effect between sales (nothing is being paid)."""
    if fleet is None or runner.current_sale() is not None:
        return
    new = fleet.take_catalogue()
    if new is not None:
        app.settings = replace(app.settings, catalogue=new.items)
        app.controller.use_settings(app.settings)
        log.info("fleet catalogue in use version=%d items=%d", new.version, len(new.items))


def load_fleet_secret(config: Config, env: Mapping[str, str]) -> str:
    """The broker password, checked before anything starts (and that the fleet extra is
    installed: a kiosk set up for a fleet must not sell without reporting)."""
    if not config.fleet.url:
        return ""
    import importlib.util

    if importlib.util.find_spec("paho") is None:
        raise CommandError(
            ExitCode.CONFIG,
            "fleet.url is set but paho-mqtt is not installed: sudo systemd/install.sh --fleet "
            "(or pip install 'paypay-kiosk[fleet]')",
        )
    try:
        return load_fleet_password(env)
    except SecretError as exc:
        raise CommandError(ExitCode.CONFIG, str(exc)) from None


def fleet_sink(config: Config) -> FactSink | None:
    """The outbox when the kiosk belongs to a fleet (kiosk.fleet is imported only then)."""
    if not config.fleet.url:
        return None
    from kiosk.fleet.outbox import OutboxSink

    return OutboxSink()


def start_fleet(
    config: Config, password: str, journal: Journal, runner: Runner, state: Path
) -> FleetLink:
    from kiosk.fleet.catalogue import CatalogueStore
    from kiosk.fleet.link import FleetLink, broker_settings

    store = CatalogueStore(state / "catalogue.json") if config.entry == "catalogue" else None
    link = FleetLink(broker_settings(config, password), journal, runner, store=store)
    link.start()  # connects in the background: a broker that is down delays nothing
    return link
