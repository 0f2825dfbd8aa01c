"""``kiosk.opa.Client``: the official SDK's surface over a bounded, typed, thread-safe transport.

Why: merchants know ``client.Code.create_qr_code(...)``; the kiosk needs that call to end in
bounded time with a typed answer. The client is composition only: it checks its configuration
strictly (the seed SDK crashed on ``production_mode="true"``), picks the environment, and wires
the pieces: a ``signing.Signer`` (the only holder of the secret), the ``retry.RetryPolicy``, an
HTTP transport (``http_transport.Urllib3Transport``, one kept-alive pool; or any object passed
as ``http=``, e.g. a test's scripted one without a socket) into one ``transport.Transport``,
shared by stateless resources (the SDK's envelope dicts) and ``client.typed`` (the kiosk's
calls with answers parsed into ``models``).

Invariants: ``production_mode`` and ``perf_mode`` are real bools; the secret is kept only in the
transport and never appears in a repr, a log line or an exception; every source of
nondeterminism (nonce, clocks, sleep, jitter) is a constructor argument.
"""

from __future__ import annotations

import enum
import importlib.metadata
import random
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

from kiosk.opa import endpoints, tokens, validation
from kiosk.opa.api.account import Account
from kiosk.opa.api.cashback import Cashback
from kiosk.opa.api.codes import Code
from kiosk.opa.api.payments import Payment
from kiosk.opa.api.pending import Pending
from kiosk.opa.api.preauth import Preauth
from kiosk.opa.api.user import User
from kiosk.opa.http_transport import HttpTransport, Urllib3Transport, proxy_for
from kiosk.opa.retry import RetryPolicy
from kiosk.opa.signing import Signer
from kiosk.opa.transport import Hooks, ResponseInfo, Transport
from kiosk.opa.typed import TypedCalls

Timeout = float | tuple[float, float]


class Environment(enum.Enum):
    SANDBOX = "https://stg-api.sandbox.paypay.ne.jp"
    PRODUCTION = "https://api.paypay.ne.jp"
    PERF = "https://perf-api.paypay.ne.jp"

    @classmethod
    def from_flags(cls, production_mode: bool, perf_mode: bool) -> Environment:
        _require_bool("production_mode", production_mode)
        _require_bool("perf_mode", perf_mode)
        if production_mode and perf_mode:
            raise ValueError("production_mode and perf_mode cannot both be True")
        if perf_mode:
            return cls.PERF
        return cls.PRODUCTION if production_mode else cls.SANDBOX

    @property
    def base_url(self) -> str:
        return self.value


def _require_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__}")


def _check_auth(auth: object) -> tuple[str, str]:
    if not (isinstance(auth, tuple | list) and len(auth) == 2):
        raise TypeError("auth must be a pair (API_KEY, API_SECRET)")
    api_key, api_secret = auth
    if not (isinstance(api_key, str) and api_key and isinstance(api_secret, str) and api_secret):
        raise ValueError("auth must hold a non-empty API key and a non-empty API secret")
    if ":" in api_key:
        raise ValueError("the API key must not contain ':'")
    return api_key, api_secret


def _positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds, got {type(value).__name__}")
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {value}")
    return float(value)


def _check_timeout(timeout: object) -> tuple[float, float] | None:
    if timeout is None:
        return None
    if isinstance(timeout, tuple | list):
        if len(timeout) != 2:
            raise TypeError("timeout must be seconds or a (connect, read) pair")
        return (_positive("timeout[0]", timeout[0]), _positive("timeout[1]", timeout[1]))
    seconds = _positive("timeout", timeout)
    return (seconds, seconds)


def _check_base_url(base_url: object) -> str | None:
    if base_url is None:
        return None
    if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
        raise ValueError("base_url must start with http:// or https://")
    return base_url.rstrip("/")


def _default_nonce() -> str:
    return secrets.token_hex(4)  # 8 characters, as PayPay recommends


class Client:
    """A PayPay OPA client. Thread-safe; reuse one instance (it keeps connections alive)."""

    def __init__(
        self,
        auth: tuple[str, str],
        production_mode: bool = False,
        perf_mode: bool = False,
        base_url: str | None = None,
        timeout: Timeout | None = None,
        *,
        on_response: Callable[[ResponseInfo], None] | None = None,
        nonce_factory: Callable[[], str] = _default_nonce,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] | None = None,
        retry: RetryPolicy | None = None,
        pool_maxsize: int = 10,
        proxies: Mapping[str, str] | None = None,
        http: HttpTransport | None = None,
    ) -> None:
        api_key, api_secret = _check_auth(auth)
        self.environment = Environment.from_flags(production_mode, perf_mode)
        self.production_mode = production_mode
        self.perf_mode = perf_mode
        self.base_url = _check_base_url(base_url) or self.environment.base_url
        self._api_key = api_key
        self._clock = clock
        self._nonce = nonce_factory
        hooks = Hooks(
            clock=clock,
            monotonic=monotonic,
            sleep=sleep,
            jitter=jitter or random.Random().random,
            on_response=on_response,
        )
        if http is None:
            proxy_url = proxy_for(self.base_url, proxies or {})
            http = Urllib3Transport(pool_maxsize=pool_maxsize, proxy_url=proxy_url)
        self._transport = Transport(
            signer=Signer(api_key, api_secret, nonce=nonce_factory, clock=clock),
            http=http,
            base_url=self.base_url,
            timeout=_check_timeout(timeout),
            retry=retry or RetryPolicy(),
            hooks=hooks,
        )
        self.Code = Code(self._transport, clock)
        self.Payment = Payment(self._transport, clock)
        self.Preauth = Preauth(self._transport, clock)
        self.Pending = Pending(self._transport, clock)
        self.Account = Account(self._transport, clock)
        self.User = User(self._transport, clock)
        self.Cashback = Cashback(self._transport, clock)
        self.typed = TypedCalls(self.Code, self.Payment)

    def __repr__(self) -> str:
        return f"Client(environment={self.environment.name}, base_url={self.base_url!r})"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the kept-alive connections."""
        self._transport.close()

    @property
    def assume_merchant(self) -> str:
        return self._transport.assume_merchant

    def set_assume_merchant(self, merchant: str) -> None:
        """Send ``X-ASSUME-MERCHANT`` on every later call (an empty value stops sending it)."""
        if not isinstance(merchant, str):
            raise TypeError("merchant must be a string")
        if merchant:
            validation.check_id("merchant", merchant)
        self._transport.assume_merchant = merchant

    def timeouts_for(self, api_name: str) -> tuple[float, float]:
        """The (connect, read) timeouts one attempt of this API gets, in seconds."""
        for endpoint in endpoints.ALL:
            if endpoint.api_name == api_name:
                return self._transport.timeouts_for(endpoint)
        raise ValueError(f"unknown API name {api_name!r}")

    def get_version(self) -> str:
        try:
            return importlib.metadata.version("paypay-kiosk")
        except importlib.metadata.PackageNotFoundError:
            from kiosk import __version__

            return __version__

    def encode_jwt(
        self,
        secret: str,
        scope: str = "direct_debit",
        redirect_url: str | None = None,
        reference_id: str | None = None,
        device_id: str = "",
        phone_number: str | int = "",
        *,
        redirectUrl: str | None = None,
        referenceId: str | None = None,
        deviceId: str | None = None,
        phoneNumber: str | int | None = None,
        expires_in_s: float = 300.0,
        raw_secret: bool = False,
    ) -> str:
        """An account-link JWT (HS256). camelCase keywords, as in the seed README, also work."""
        claims: dict[str, Any] = {
            "iss": "merchant",
            "exp": int(self._clock() + expires_in_s),
            "scope": scope,
            "nonce": self._nonce(),
            "redirectUrl": redirectUrl if redirectUrl is not None else redirect_url,
            "referenceId": referenceId or reference_id or self._nonce(),
            "deviceId": deviceId if deviceId is not None else device_id,
            "phoneNumber": str(phoneNumber if phoneNumber is not None else phone_number),
        }
        return tokens.encode(claims, secret, raw_secret=raw_secret)

    def decode_jwt(
        self,
        secret: str,
        token: str,
        *,
        audience: str | None = None,
        raw_secret: bool = False,
    ) -> tuple[str | None, str | None]:
        """``(userAuthorizationId, referenceId)`` from a verified token; raises if invalid.

        A token with an ``aud`` claim must name ``audience`` (default: this client's API key).
        """
        claims = tokens.decode(
            token, secret, audience=audience or self._api_key, raw_secret=raw_secret
        )
        return claims.get("userAuthorizationId"), claims.get("referenceId")
