"""`kiosk hub run | migrate | command`: the fleet hub (kiosk.fleet.hub) from its config file.

Why here: the composition root builds the hub from `hub.toml` and the credentials and runs it
until SIGTERM; the hub's parts take everything as parameters.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from kiosk.commands.common import CommandError, ExitCode, say
from kiosk.ops.logs import Redactor, setup_logging

if TYPE_CHECKING:
    from kiosk.commands.paypay import DemoAuth
    from kiosk.fleet.hub.config import HubConfig
    from kiosk.fleet.hub.reconcile import Finding
    from kiosk.opa import Client

log = logging.getLogger(__name__)


def add_hub_parser(sub: argparse._SubParsersAction[Any]) -> None:
    hub = sub.add_parser("hub", help="the fleet hub: ledger, alerts, commands (docs/fleet.md)")
    hsub = hub.add_subparsers(dest="hub_command", required=True, metavar="ACTION")
    for name, text in (
        ("run", "run the hub until stopped"),
        ("migrate", "bring the ledger database to this hub's schema and exit"),
        ("command", "send one command to a kiosk"),
        ("example", "print an example hub.toml"),
        ("hash-password", "hash a status page password for hub.password_hash"),
        ("reconcile", "reconcile one day's sales against PayPay now"),
    ):
        p = hsub.add_parser(name, help=text)
        p.add_argument("--config", type=Path, help="hub.toml (default /etc/kiosk/hub.toml)")
        if name == "command":
            p.add_argument("kiosk")
            kinds = ("out_of_service", "back_in_service", "reconcile", "catalogue")
            p.add_argument("kind", choices=kinds)
            p.add_argument("--reason", default="")
            p.add_argument("--document", type=Path, help="catalogue: the JSON price list")
        if name == "reconcile":
            p.add_argument("--day", help="YYYY-MM-DD (JST; default: yesterday)")
    from kiosk.commands.relaycmd import add_keys_parser

    add_keys_parser(hsub)


def run_hub_command(
    args: argparse.Namespace, redactor: Redactor, demo: Callable[[], DemoAuth]
) -> int:
    from kiosk.fleet.hub.config import DEFAULT_PATH, HubConfigError, example, load_hub_config
    from kiosk.fleet.hub.migrate import MigrationError, migrate
    from kiosk.ops.secrets import SecretError

    if args.hub_command == "example":
        say(example().rstrip("\n"))
        return int(ExitCode.OK)
    if args.hub_command == "hash-password":
        return _hash_password()
    path = args.config or Path(os.environ.get("KIOSK_HUB_CONFIG", DEFAULT_PATH))
    try:
        config = load_hub_config(path, os.environ)
    except (HubConfigError, SecretError) as exc:
        raise CommandError(ExitCode.CONFIG, str(exc)) from None
    for secret in (config.hub.password, *config.hub.alert_urls, config.relay.master_key):
        if secret:
            redactor.add(secret)
    try:
        if args.hub_command == "migrate":
            applied = migrate(config.hub.database)
            say(f"ledger migrated: {', '.join(applied) or 'already up to date'}")
            return int(ExitCode.OK)
        if args.hub_command == "command":
            return _command(config, args)
        if args.hub_command == "reconcile":
            return _reconcile_once(config, args.day, demo, redactor)
        if args.hub_command == "keys":
            from kiosk.commands.relaycmd import run_keys

            return run_keys(config, args)
        setup_logging("info", redactor, env=os.environ)
        return _run(config, demo, redactor)
    except MigrationError as exc:
        raise CommandError(ExitCode.FAILED, str(exc)) from None


def _hash_password() -> int:
    import getpass
    import sys

    from kiosk.fleet.hub.web import hash_password

    if sys.stdin.isatty():
        first = getpass.getpass("Status page password: ")
        if first != getpass.getpass("The same password again: "):
            raise CommandError(ExitCode.FAILED, "the two passwords differ; run it again")
    else:
        first = sys.stdin.readline().rstrip("\n")
    try:
        say(hash_password(first, os.urandom(16)))
    except ValueError as exc:
        raise CommandError(ExitCode.FAILED, str(exc)) from None
    return int(ExitCode.OK)


def _catalogue_document(path: Path | None) -> object:
    """The document, checked here as the kiosk will check it (a bad one is never sent)."""
    import json

    from kiosk.fleet.catalogue import parse_catalogue
    from kiosk.fleet.schema import PayloadError

    if path is None:
        raise CommandError(ExitCode.USAGE, "catalogue needs --document FILE (JSON)")
    try:
        document = json.loads(path.read_text("utf-8"))
        parse_catalogue(document)
    except OSError as exc:
        raise CommandError(ExitCode.USAGE, f"cannot read {path}: {exc.strerror}") from None
    except (ValueError, PayloadError) as exc:
        raise CommandError(ExitCode.USAGE, f"{path}: {exc}") from None
    return document


def _command(config: HubConfig, args: argparse.Namespace) -> int:
    from dataclasses import replace

    from kiosk.fleet.hub.service import Hub

    extra = {"document": _catalogue_document(args.document)} if args.kind == "catalogue" else {}
    settings = replace(config.hub, client_id=f"{config.hub.client_id}-cli-{os.getpid()}")
    hub = Hub(settings, listen=False)
    hub.start()
    try:
        if not hub.connected.wait(10):
            raise CommandError(ExitCode.FAILED, "cannot reach the broker within 10 s")
        command_id = hub.send_command(args.kiosk, args.kind, args.reason, wait_s=10, extra=extra)
        say(f"sent {args.kind} to {args.kiosk}: command {command_id}")
    finally:
        hub.stop()
    return int(ExitCode.OK)


def paypay_client(
    config: HubConfig, demo: Callable[[], DemoAuth], redactor: Redactor
) -> Client | None:
    """The hub's own PayPay client for reconciliation (None when paypay_mode is empty)."""
    from kiosk.opa import Client
    from kiosk.ops.secrets import SecretError, load_credentials

    if not config.paypay_mode:
        return None
    try:
        credentials = load_credentials(os.environ)
    except SecretError as exc:
        raise CommandError(ExitCode.CONFIG, str(exc)) from None
    if credentials is not None:
        key, secret = credentials.values
        redactor.add(key)
        redactor.add(secret)
    elif config.paypay_mode == "simulator":
        auth = demo()
        key, secret = auth.api_key, auth.api_secret
    else:
        raise CommandError(
            ExitCode.CONFIG,
            f"hub.paypay_mode is {config.paypay_mode} but no PayPay credentials were found",
        )
    client = Client(
        (key, secret),
        production_mode=config.paypay_mode == "production",
        base_url=config.paypay_url or None,
    )
    client.set_assume_merchant(
        config.merchant_id or (demo().merchant_id if config.paypay_mode == "simulator" else "")
    )
    return client


def reconcile_with(config: HubConfig, client: Client, day: date) -> list[Finding]:
    import psycopg

    from kiosk.fleet.hub.reconcile import reconcile_day

    with psycopg.connect(config.hub.database) as db:
        return reconcile_day(db, client.Code, day, now=time.time())


def _reconcile_once(
    config: HubConfig, day_text: str | None, demo: Callable[[], DemoAuth], redactor: Redactor
) -> int:
    from kiosk.domain import JST
    from kiosk.fleet.hub.reconcile import report

    client = paypay_client(config, demo, redactor)
    if client is None:
        raise CommandError(ExitCode.CONFIG, "hub.paypay_mode is empty: nothing to reconcile with")
    try:
        day = (
            date.fromisoformat(day_text)
            if day_text
            else (datetime.now(JST) - timedelta(days=1)).date()
        )
    except ValueError:
        raise CommandError(ExitCode.USAGE, f"--day {day_text!r} is not YYYY-MM-DD") from None
    try:
        findings = reconcile_with(config, client, day)
    finally:
        client.close()
    for line in report(day, findings):
        say(line)
    bad = any(f.verdict in ("flagged", "unknown") for f in findings)
    return int(ExitCode.FAILED if bad else ExitCode.OK)


def _run(config: HubConfig, demo: Callable[[], DemoAuth], redactor: Redactor) -> int:
    from kiosk.fleet.hub.nightly import Nightly
    from kiosk.fleet.hub.service import Hub

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if config.relay.port:  # a missing or bad master key stops the start, before anything runs
        from kiosk.commands.relaycmd import sealer_for

        sealer_for(config)
    hub = Hub(config.hub)
    hub.start()
    client = paypay_client(config, demo, redactor)
    nightly = None
    if client is not None:
        paypay = client
        nightly = Nightly(config.reconcile_hour, lambda day: reconcile_with(config, paypay, day))
        nightly.start()
    server = None
    if config.http_port:
        from kiosk.fleet.hub.web import WebApp, serve

        server = serve(
            WebApp(config.hub.database, config.password_hash), config.http_host, config.http_port
        )
        host, port = server.server_address[:2]
        log.info("hub status page url=http://%s:%s/", host, port)
    relay = None
    if config.relay.port:
        from kiosk.commands.relaycmd import start_relay

        relay = start_relay(config, hub, demo, redactor)
    log.info("hub started broker=%s", config.hub.broker_url)
    stop.wait()
    if relay is not None:
        relay.stop()
    if server is not None:
        server.shutdown()
        server.server_close()
    if nightly is not None and client is not None:
        nightly.stop()
        client.close()
    hub.stop()
    log.info("hub stopped")
    return int(ExitCode.OK)
