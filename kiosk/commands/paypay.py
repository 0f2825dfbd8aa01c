"""Building the PayPay client the configuration asks for, in one place for every command.

Why: `kiosk run`, `doctor`, `refund` and `reconcile` must talk to the same PayPay with the same
merchant. Demo mode talks to a simulator: the one `simulator.url` names, or, inside `kiosk run`,
the one it starts in-process. The simulator's demo credentials come in as a parameter because
only `kiosk.cli` may import the simulator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kiosk.config import Config, Mode
from kiosk.opa import Client, ResponseInfo
from kiosk.ops.secrets import Credentials


@dataclass(frozen=True)
class DemoAuth:
    """The simulator's built-in credentials (not secrets: they move no money)."""

    api_key: str
    api_secret: str
    merchant_id: str


def make_client(
    config: Config,
    credentials: Credentials | None,
    demo: Callable[[], DemoAuth] | None,
    *,
    base_url: str | None = None,
    on_response: Callable[[ResponseInfo], None] | None = None,
) -> tuple[Client | None, str]:
    """(client, what it talks to). No client in demo mode without a simulator URL.

    In demo mode PayPay credentials are optional: when given (PAYPAY_API_KEY, systemd
    credentials) they sign the simulator's requests, exactly as they would PayPay's, so the
    whole path that handles secrets runs in a demo too."""
    if config.mode is Mode.DEMO:
        url = base_url or config.simulator.url
        if not url or demo is None:
            return None, "demo mode (built-in simulator)"
        # configured credentials, if any, sign for the simulator too (it is started with them)
        auth = demo()
        key, secret = credentials.values if credentials else (auth.api_key, auth.api_secret)
        client = Client((key, secret), base_url=url, on_response=on_response)
        client.set_assume_merchant(config.merchant_id or auth.merchant_id)
        return client, f"simulator at {url}"
    if credentials is None:
        raise ValueError("sandbox and production need credentials")  # checked before
    production = config.mode is Mode.PRODUCTION
    client = Client(
        (credentials.api_key, credentials.api_secret),
        production_mode=production,
        base_url=base_url or config.paypay_url or None,
        on_response=on_response,
    )
    client.set_assume_merchant(config.merchant_id)
    return client, f"PayPay {config.mode.value} ({client.base_url})"
