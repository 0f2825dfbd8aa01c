"""`kiosk hub keys ...` and the relay inside `kiosk hub run` (composition root of the relay).

Why here: the relay's parts (store, sealer, forwarder, server, webhook confirmer) take
everything as parameters; this module reads the merchant's credentials and the master key
(credentials only, never the TOML file), registers them with the log redactor, and wires them.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.commands.common import CommandError, ExitCode, say
from kiosk.ops.logs import Redactor

if TYPE_CHECKING:
    from kiosk.commands.paypay import DemoAuth
    from kiosk.fleet.hub.config import HubConfig
    from kiosk.fleet.hub.service import Hub
    from kiosk.fleet.relay.forward import Forwarder
    from kiosk.fleet.relay.relay import Relay
    from kiosk.fleet.relay.sealing import Sealer
    from kiosk.fleet.relay.server import RelayServer

log = logging.getLogger(__name__)


def add_keys_parser(hsub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = hsub.add_parser("keys", help="the relay's per-kiosk API keys (docs/relay.md)")
    ksub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    for name, text in (
        ("issue", "issue a key for a kiosk (its secret is shown once)"),
        ("list", "list keys (never secrets)"),
        ("rotate", "issue a new key for the same kiosk and revoke the old one at once"),
        ("revoke", "revoke a key, or every key of a kiosk, at once"),
        ("limits", "change a key's (or a kiosk's keys') rate and daily refund limit"),
    ):
        p = ksub.add_parser(name, help=text)
        p.add_argument("--config", type=Path, help="hub.toml (default /etc/kiosk/hub.toml)")
        if name == "issue":
            p.add_argument("kiosk", help="the kiosk's terminal_id")
        if name in ("rotate", "revoke", "limits"):
            p.add_argument("key", help="key id" + (" or kiosk id" if name != "rotate" else ""))
        if name in ("issue", "limits"):
            p.add_argument("--rate-per-min", type=int, help="calls a minute")
            p.add_argument("--refund-limit-yen", type=int, help="yen refunded a day at most")


def sealer_for(config: HubConfig) -> Sealer:
    from kiosk.fleet.relay.sealing import Sealer, SealError, parse_master_key

    if not config.relay.master_key:
        raise CommandError(
            ExitCode.CONFIG,
            "no relay master key: set the credential relay_master_key (or"
            " $HUB_RELAY_MASTER_KEY) to the output of `openssl rand -base64 32`",
        )
    try:
        return Sealer(parse_master_key(config.relay.master_key))
    except SealError as exc:
        raise CommandError(ExitCode.CONFIG, str(exc)) from None


def run_keys(config: HubConfig, args: argparse.Namespace) -> int:
    import psycopg

    from kiosk.fleet.hub.migrate import migrate

    sealer = sealer_for(config) if args.keys_command in ("issue", "rotate") else None
    try:
        migrate(config.hub.database)
        return _keys(config, args, sealer)
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CommandError(ExitCode.FAILED, f"the ledger database: {first}") from None


def _keys(config: HubConfig, args: argparse.Namespace, sealer: Sealer | None) -> int:
    from kiosk.fleet.relay.store import Store
    from kiosk.fleet.schema import PayloadError, check_kiosk_id

    store = Store(config.hub.database, size=1)
    try:
        if args.keys_command == "list":
            for row in store.list_keys():
                state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "active"
                say(
                    f"{row.key_id}  kiosk={row.kiosk}  rate_per_min={row.rate_per_min}"
                    f"  daily_refund_limit_yen={row.daily_refund_limit_yen}"
                    f"  created={row.created_at:%Y-%m-%d %H:%M}  {state}"
                )
            return int(ExitCode.OK)
        if args.keys_command == "revoke":
            if not store.revoke(args.key, time.time()):
                raise CommandError(ExitCode.FAILED, f"no active key or kiosk {args.key}")
            say(f"revoked {args.key}")
            return int(ExitCode.OK)
        if args.keys_command == "limits":
            _check_limits(args.rate_per_min, args.refund_limit_yen)
            if not store.set_limits(args.key, args.rate_per_min, args.refund_limit_yen):
                raise CommandError(ExitCode.FAILED, f"no key or kiosk {args.key}")
            say(f"limits changed for {args.key}")
            return int(ExitCode.OK)
        assert sealer is not None
        if args.keys_command == "rotate":
            issued = store.rotate(sealer, args.key, time.time())
            if issued is None:
                raise CommandError(ExitCode.FAILED, f"no active key {args.key}")
            say(f"revoked {args.key}")
        else:
            try:
                check_kiosk_id(args.kiosk)
            except PayloadError as exc:
                raise CommandError(ExitCode.USAGE, str(exc)) from None
            rate = args.rate_per_min or config.relay.rate_per_min
            limit = config.relay.daily_refund_limit_yen
            limit = limit if args.refund_limit_yen is None else args.refund_limit_yen
            _check_limits(rate, limit)
            issued = store.issue(sealer, args.kiosk, rate, limit)
        say(f"kiosk {issued.kiosk}: key issued (the secret is shown only now)")
        say(f"PAYPAY_API_KEY={issued.key_id}")
        say(f"PAYPAY_API_SECRET={issued.secret}")
        return int(ExitCode.OK)
    finally:
        store.close()


def _check_limits(rate: int | None, limit: int | None) -> None:
    if rate is not None and not 1 <= rate <= 100000:
        raise CommandError(ExitCode.USAGE, f"--rate-per-min {rate} is not 1 to 100000")
    if limit is not None and not 0 <= limit <= 10**9:
        raise CommandError(ExitCode.USAGE, f"--refund-limit-yen {limit} is not 0 to 1000000000")


@dataclass
class RunningRelay:
    server: RelayServer
    relay: Relay
    thread: threading.Thread

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self.server.confirmer is not None:
            self.server.confirmer.stop()
        self.relay.forwarder.http.close()
        self.relay.store.close()


def merchant_forwarder(
    config: HubConfig, demo: Callable[[], DemoAuth], redactor: Redactor
) -> Forwarder:
    """The merchant's signer over the project's transport (the only holder of its secret)."""
    from kiosk.fleet.relay.forward import Forwarder, Merchant
    from kiosk.opa import Client
    from kiosk.opa.http_transport import Urllib3Transport
    from kiosk.opa.signing import Signer
    from kiosk.ops.secrets import SecretError, load_credentials

    try:
        credentials = load_credentials(os.environ)
    except SecretError as exc:
        raise CommandError(ExitCode.CONFIG, str(exc)) from None
    merchant_id = config.merchant_id
    if credentials is not None:
        key, secret = credentials.values
    elif config.paypay_mode == "simulator":
        auth = demo()
        key, secret, merchant_id = auth.api_key, auth.api_secret, merchant_id or auth.merchant_id
    else:
        raise CommandError(ExitCode.CONFIG, "the relay needs the merchant's PayPay credentials")
    redactor.add(key)
    redactor.add(secret)
    production = config.paypay_mode == "production"
    base_url = Client(("k", "s"), production_mode=production, base_url=config.paypay_url or None)
    url = base_url.base_url
    base_url.close()
    signer = Signer(key, secret, nonce=lambda: secrets.token_hex(8), clock=time.time)
    return Forwarder(Merchant(url, merchant_id), signer, Urllib3Transport(pool_maxsize=32))


def start_relay(
    config: HubConfig, hub: Hub, demo: Callable[[], DemoAuth], redactor: Redactor
) -> RunningRelay:
    from kiosk.fleet.relay.relay import Relay
    from kiosk.fleet.relay.server import RelayServer
    from kiosk.fleet.relay.store import Store
    from kiosk.fleet.relay.webhooks import Confirmer, parse_sources

    redactor.add(config.relay.master_key)
    sealer = sealer_for(config)
    forwarder = merchant_forwarder(config, demo, redactor)
    store = Store(config.hub.database, size=16)
    relay = Relay(store, sealer, forwarder, max_skew_s=config.relay.max_skew_s)
    sources = parse_sources(config.relay.webhook_sources)
    confirmer = None
    if sources:
        confirmer = Confirmer(forwarder, relay.owner_of, relay.learn_payment, hub.nudge)
        confirmer.start()
    try:
        server = RelayServer((config.relay.host, config.relay.port), relay, confirmer, sources)
    except OSError as exc:
        raise CommandError(
            ExitCode.FAILED,
            f"relay cannot listen on {config.relay.host}:{config.relay.port}: {exc.strerror}",
        ) from None
    thread = threading.Thread(target=server.serve_forever, name="relay-http", daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    log.info(
        "hub relay url=http://%s:%s/ paypay=%s webhooks=%s",
        host,
        port,
        forwarder.merchant.base_url,
        "on" if confirmer else "off",
    )
    return RunningRelay(server, relay, thread)
