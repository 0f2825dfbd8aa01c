"""Sends one signed OPA request, retried only where safe; ``answers`` judges what came back.

Why: the seed SDK hangs without timeouts, re-encodes bodies, keeps per-request state on shared
objects and returns error payloads as data. Here:
- the body is serialised once (compact JSON); those exact bytes are hashed and sent;
- every attempt has a connect and a read timeout (per API, see ``endpoints``) and all attempts
  together stay under an overall cap;
- only GET and DELETE are retried, on connection errors, 429 and 503, with exponential backoff
  and jitter; a POST is sent at most once, and an unknown outcome raises OutcomeUnknown;
- nothing per request is stored on the object, so one Transport serves many threads; the only
  mutable attribute is ``assume_merchant`` (configuration, replaced atomically);
- every HTTP answer (errors too) is reported to ``on_response`` with its ``Date`` header, so a
  caller can watch the clock skew that would break signatures (PayPay allows 120 s);
- errors are raised outside ``except`` blocks: no exception chain keeps the request (and its
  Authorization header) alive.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import requests
import urllib3.exceptions

from kiosk.opa import answers, errors, signing
from kiosk.opa.endpoints import Endpoint

log = logging.getLogger("kiosk.opa")

CONTENT_TYPE = "application/json;charset=UTF-8"
DEFAULT_CONNECT_TIMEOUT_S = 10.0
MAX_BODY_BYTES = 1 << 20  # PayPay's envelopes are a few KiB; more is not PayPay
BODY_CHUNK_BYTES = 16 * 1024


@dataclass(frozen=True)
class ResponseInfo:
    """One HTTP answer, as the clock guard and the logs see it (no headers, no body)."""

    api_name: str
    method: str
    path: str
    status: int
    server_date_epoch: float | None
    local_epoch: float
    elapsed_s: float


@dataclass(frozen=True)
class RetryPolicy:
    """How GET and DELETE are repeated; ``max_total_s`` caps every call, retried or not."""

    max_attempts: int = 3
    backoff_base_s: float = 0.5
    backoff_max_s: float = 8.0
    max_total_s: float = 60.0

    def __post_init__(self) -> None:
        if isinstance(self.max_attempts, bool) or not (
            isinstance(self.max_attempts, int) and self.max_attempts >= 1
        ):
            raise ValueError("max_attempts must be an int >= 1")
        for name in ("backoff_base_s", "backoff_max_s", "max_total_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")

    def delay_s(self, retry_index: int, unit: float) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random (unit in [0, 1))."""
        ceiling: float = min(self.backoff_max_s, self.backoff_base_s * 2.0**retry_index)
        return ceiling / 2 + ceiling / 2 * unit


@dataclass(frozen=True)
class Hooks:
    """Every source of nondeterminism, injectable so tests are exact."""

    nonce: Callable[[], str]
    clock: Callable[[], float]  # epoch seconds
    monotonic: Callable[[], float]
    sleep: Callable[[float], None]
    jitter: Callable[[], float]  # uniform in [0, 1)
    on_response: Callable[[ResponseInfo], None] | None = None


class Transport:
    def __init__(
        self,
        *,
        api_key: str,
        api_secret: str,
        base_url: str,
        timeout: tuple[float, float] | None,
        retry: RetryPolicy,
        hooks: Hooks,
        pool_maxsize: int = 10,
        proxies: Mapping[str, str] | None = None,
    ) -> None:
        self._api_key = api_key
        self._api_secret = api_secret
        self.base_url = base_url
        self._timeout = timeout
        self._retry = retry
        self._hooks = hooks
        self.assume_merchant = ""
        self.session = _new_session(pool_maxsize)
        if proxies:
            self.session.proxies.update(proxies)

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r})"

    def close(self) -> None:
        self.session.close()

    def timeouts_for(self, endpoint: Endpoint) -> tuple[float, float]:
        if self._timeout is not None:
            return self._timeout
        read_s = endpoint.read_timeout_s
        return (min(DEFAULT_CONNECT_TIMEOUT_S, read_s), read_s)

    def call(
        self,
        endpoint: Endpoint,
        *ids: str,
        query: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One API call: the envelope dict on a 2xx, else an OpaError subclass is raised."""
        path = endpoint.path_for(*ids)
        payload = None if body is None else _serialise(body)
        deadline = self._hooks.monotonic() + self._retry.max_total_s
        attempt = 0
        while True:
            attempt += 1
            outcome = self._attempt(endpoint, path, query, payload, deadline)
            if isinstance(outcome, dict):
                return outcome
            delay_s = self._retry_delay_s(endpoint, outcome, attempt, deadline)
            if delay_s is None:
                raise outcome.error
            log.warning(
                "opa retry api=%s attempt=%d error=%s status=%s delay_s=%.3f",
                endpoint.api_name,
                attempt,
                type(outcome.error).__name__,
                outcome.error.status,
                delay_s,
            )
            self._hooks.sleep(delay_s)

    def _retry_delay_s(
        self, endpoint: Endpoint, failure: answers.Failure, attempt: int, deadline: float
    ) -> float | None:
        error = failure.error
        retryable = isinstance(
            error, (errors.NotConnected, errors.ConnectionLost, errors.RateLimited)
        ) or (error.status == 503)
        if not (endpoint.retry_safe and retryable and attempt < self._retry.max_attempts):
            return None
        delay_s = self._retry.delay_s(attempt - 1, self._hooks.jitter())
        if failure.retry_after_s is not None:
            delay_s = max(delay_s, failure.retry_after_s)
        if self._hooks.monotonic() + delay_s >= deadline:
            return None
        return delay_s

    def _headers(self, method: str, path: str, payload: str | None) -> dict[str, str]:
        headers = {
            "Authorization": signing.auth_header(
                api_key=self._api_key,
                api_secret=self._api_secret,
                method=method,
                path=path,
                nonce=self._hooks.nonce(),
                epoch=int(self._hooks.clock()),
                content_type=CONTENT_TYPE,
                body=payload,
            )
        }
        if payload is not None:
            headers["Content-Type"] = CONTENT_TYPE
        merchant = self.assume_merchant
        if merchant:
            headers["X-ASSUME-MERCHANT"] = merchant
        return headers

    def _attempt(
        self,
        endpoint: Endpoint,
        path: str,
        query: Mapping[str, str] | None,
        payload: str | None,
        deadline: float,
    ) -> dict[str, Any] | answers.Failure:
        remaining_s = deadline - self._hooks.monotonic()
        connect_s, read_s = self.timeouts_for(endpoint)
        timeout = (min(connect_s, remaining_s), min(read_s, remaining_s))
        headers = self._headers(endpoint.method, path, payload)
        started = self._hooks.monotonic()
        outcome: tuple[requests.Response, bytes] | answers.Failure
        try:
            response = self.session.request(
                endpoint.method,
                self.base_url + path,
                params=dict(query) if query else None,
                data=None if payload is None else payload.encode("utf-8"),
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
                stream=True,  # the body is read below, under the overall deadline
            )
            outcome = self._read_body(response, endpoint, deadline)
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            outcome = answers.Failure(answers.transport_error(exc, endpoint, timeout))
        if isinstance(outcome, answers.Failure):
            log.info(
                "opa no-answer api=%s error=%s", endpoint.api_name, type(outcome.error).__name__
            )
            return outcome
        response, content = outcome
        info = ResponseInfo(
            api_name=endpoint.api_name,
            method=endpoint.method,
            path=path,
            status=response.status_code,
            server_date_epoch=answers.http_date(response.headers.get("Date")),
            local_epoch=self._hooks.clock(),
            elapsed_s=self._hooks.monotonic() - started,
        )
        log.debug(
            "opa answer api=%s status=%d elapsed_s=%.3f", info.api_name, info.status, info.elapsed_s
        )
        self._report(info)
        return answers.interpret(response.status_code, response.headers, content, endpoint)

    def _read_body(
        self, response: requests.Response, endpoint: Endpoint, deadline: float
    ) -> tuple[requests.Response, bytes] | answers.Failure:
        """The whole body, unless it outgrows MAX_BODY_BYTES or the overall deadline passes.

        ``read1`` returns what one receive brings, so a server trickling bytes is checked
        against the deadline after each one (a plain ``read(n)`` would wait for all n bytes).
        A body read to its end hands the connection back to the pool (keep-alive); any other
        ending closes it, so no half-read answer is ever mistaken for the next one.
        """
        raw = response.raw
        chunks: list[bytes] = []
        size = 0
        error: errors.OpaError | None = None
        try:
            while chunk := raw.read1(BODY_CHUNK_BYTES):
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    error = errors.UnreadableResponse(
                        f"answer body over {MAX_BODY_BYTES} bytes",
                        status=response.status_code,
                        api_name=endpoint.api_name,
                    )
                    break
                if self._hooks.monotonic() > deadline:
                    error = errors.RequestTimeout(
                        f"answer not complete within {self._retry.max_total_s:g} s",
                        api_name=endpoint.api_name,
                    )
                    break
        finally:
            if error is not None or not raw.isclosed():
                raw.close()
            raw.release_conn()
        if error is not None:
            return answers.Failure(error)
        return response, b"".join(chunks)

    def _report(self, info: ResponseInfo) -> None:
        if self._hooks.on_response is None:
            return
        try:
            self._hooks.on_response(info)
        except Exception:  # a broken observer must never lose a payment's answer
            log.exception("opa on_response callback failed api=%s", info.api_name)


def _new_session(pool_maxsize: int) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no .netrc Authorization override, no proxy surprises
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))  # shared: keep no state
    adapter = requests.adapters.HTTPAdapter(
        pool_connections=2, pool_maxsize=pool_maxsize, max_retries=0
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = "paypay-kiosk-opa"
    session.headers["Accept-Encoding"] = "identity"  # small JSON; read1 reads the wire bytes
    return session


def _serialise(body: Mapping[str, Any]) -> str:
    try:
        return json.dumps(body, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"request body is not JSON-serialisable: {exc}") from None
