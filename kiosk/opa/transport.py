"""Sends one signed OPA request, retried only where safe; ``answers`` judges what came back.

Why: the seed SDK hangs without timeouts, re-encodes bodies, keeps per-request state on shared
objects and returns error payloads as data. Here:
- the body is serialised once (compact JSON); those exact bytes are hashed and sent;
- every attempt has a connect and a read timeout (per API, see ``endpoints``) and every call,
  retries included, ends by an overall deadline (``RetryPolicy.max_total_s``) that covers the
  connect, the request, the status line, the headers and the body: the pools' sockets are
  ``sockets.BoundedSocket``s, so a server trickling any of it a byte at a time is cut off;
- only GET and DELETE are retried, on connection errors, 429 and 503, with exponential backoff
  and jitter; a POST is sent at most once, and an unknown outcome raises OutcomeUnknown;
- nothing per request is stored on the object, so one Transport serves many threads; the only
  mutable attribute is ``assume_merchant`` (configuration, replaced atomically);
- every HTTP answer (errors too) is reported to ``on_response`` with its ``Date`` header, so a
  caller can watch the clock skew that would break signatures (PayPay allows 120 s);
- errors are raised outside ``except`` blocks: no exception chain keeps the request (and its
  Authorization header) alive.

Why urllib3 and not requests: the create call sits on the kiosk's 6 ms tap-to-QR path, and
requests' per-call Python work (prepare_request, merge_environment_settings, cookies, hooks,
build_response: 1-2 ms per call, measured on loopback) was a third of that budget while giving
us nothing (no cookies, no redirects, no environment proxies). urllib3 is the connection pool
requests is built on; we drive it directly: one PoolManager (a ProxyManager when a proxy is
configured), no urllib3 retries (ours are above), no redirects, TLS certificate verification on
(system CAs).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any
from urllib.parse import unquote, urlencode

import urllib3
import urllib3.exceptions

from kiosk.opa import answers, errors, signing, sockets
from kiosk.opa.endpoints import Endpoint

log = logging.getLogger("kiosk.opa")

CONTENT_TYPE = "application/json;charset=UTF-8"
DEFAULT_CONNECT_TIMEOUT_S = 10.0
MAX_BODY_BYTES = 1 << 20  # PayPay's envelopes are a few KiB; more is not PayPay
BODY_CHUNK_BYTES = 16 * 1024
BASE_HEADERS = {
    "User-Agent": "paypay-kiosk-opa",
    "Accept-Encoding": "identity",  # small JSON; read1 reads the wire bytes
}


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
        self.pool_manager = _new_pool_manager(pool_maxsize, _proxy_for(base_url, proxies or {}))

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r})"

    def close(self) -> None:
        self.pool_manager.clear()

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
        retry_after_s = answers.retry_after_s_of(failure.retry_after, self._hooks.clock())
        if retry_after_s is not None:  # the server's wish, when it fits in the deadline
            delay_s = max(delay_s, retry_after_s)
        if self._hooks.monotonic() + delay_s >= deadline:
            return None
        return delay_s

    def _headers(self, method: str, path: str, payload: str | None) -> dict[str, str]:
        headers = {
            **BASE_HEADERS,
            "Authorization": signing.auth_header(
                api_key=self._api_key,
                api_secret=self._api_secret,
                method=method,
                path=path,
                nonce=self._hooks.nonce(),
                epoch=int(self._hooks.clock()),
                content_type=CONTENT_TYPE,
                body=payload,
            ),
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
        if remaining_s <= 0:
            late = errors.RequestTimeout(
                f"no time left of the {self._retry.max_total_s:g} s deadline",
                api_name=endpoint.api_name,
            )
            return answers.Failure(late)
        connect_s, read_s = self.timeouts_for(endpoint)
        timeout = (min(connect_s, remaining_s), min(read_s, remaining_s))
        headers = self._headers(endpoint.method, path, payload)
        url = self.base_url + path
        if query:
            url += "?" + urlencode(query)
        started = self._hooks.monotonic()
        content: bytes | answers.Failure
        with sockets.bounded_by(remaining_s, timeout[1]):
            try:
                response = self.pool_manager.urlopen(
                    endpoint.method,
                    url,
                    body=None if payload is None else payload.encode("utf-8"),
                    headers=headers,
                    timeout=urllib3.Timeout(connect=timeout[0], read=timeout[1]),
                    retries=False,
                    redirect=False,
                    preload_content=False,  # the body is read below, under the deadline
                )
            except Exception as exc:  # whatever the bytes did, the caller gets an OpaError
                _note_unexpected(exc, endpoint)
                content = answers.Failure(answers.transport_error(exc, endpoint, timeout))
            else:
                content = self._read_body(response, endpoint, timeout)
        if isinstance(content, answers.Failure):
            log.info(
                "opa no-answer api=%s error=%s", endpoint.api_name, type(content.error).__name__
            )
            return content
        info = ResponseInfo(
            api_name=endpoint.api_name,
            method=endpoint.method,
            path=path,
            status=response.status,
            server_date_epoch=answers.http_date(response.headers.get("Date")),
            local_epoch=self._hooks.clock(),
            elapsed_s=self._hooks.monotonic() - started,
        )
        log.debug(
            "opa answer api=%s status=%d elapsed_s=%.3f", info.api_name, info.status, info.elapsed_s
        )
        self._report(info)
        return answers.interpret(response.status, response.headers, content, endpoint)

    def _read_body(
        self,
        response: urllib3.BaseHTTPResponse,
        endpoint: Endpoint,
        timeout: tuple[float, float],
    ) -> bytes | answers.Failure:
        """The whole body, unless it outgrows MAX_BODY_BYTES (the deadline is the sockets').

        A body read to its end hands the connection back to the pool (keep-alive); any other
        ending closes it, so no half-read answer is ever mistaken for the next one. The
        request was answered, so a failure here is never "not sent".
        """
        chunks: list[bytes] = []
        size = 0
        error: errors.OpaError | None = None
        if _declared_length(response) > MAX_BODY_BYTES:
            error = errors.UnreadableResponse(
                f"answer body declared over {MAX_BODY_BYTES} bytes",
                status=response.status,
                api_name=endpoint.api_name,
            )
        try:
            while error is None and (chunk := response.read1(BODY_CHUNK_BYTES)):
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    error = errors.UnreadableResponse(
                        f"answer body over {MAX_BODY_BYTES} bytes",
                        status=response.status,
                        api_name=endpoint.api_name,
                    )
                    break
        except Exception as exc:  # a reset, a bad chunk, a timeout: never "not sent"
            _note_unexpected(exc, endpoint)
            error = answers.transport_error(exc, endpoint, timeout, answered=True)
        finally:
            if error is not None or not response.closed:
                response.close()
            response.release_conn()
        if error is not None:
            return answers.Failure(error)
        return b"".join(chunks)

    def _report(self, info: ResponseInfo) -> None:
        if self._hooks.on_response is None:
            return
        try:
            self._hooks.on_response(info)
        except Exception:  # a broken observer must never lose a payment's answer
            log.exception("opa on_response callback failed api=%s", info.api_name)


_EXPECTED = (urllib3.exceptions.HTTPError, OSError, ValueError, HTTPException)


def _note_unexpected(exc: Exception, endpoint: Endpoint) -> None:
    """An exception urllib3 and http.client are not known to raise: keep a trace for us."""
    if not isinstance(exc, _EXPECTED):
        log.error("opa unexpected %s api=%s", type(exc).__name__, endpoint.api_name)


def _declared_length(response: urllib3.BaseHTTPResponse) -> int:
    try:
        return int(response.headers.get("Content-Length") or 0)
    except ValueError:
        return 0


def _proxy_for(base_url: str, proxies: Mapping[str, str]) -> str | None:
    """The proxy for base_url, chosen as requests chose it ({"https": url, "all": url, ...})."""
    parts = urllib3.util.parse_url(base_url)
    scheme, host = parts.scheme or "http", parts.host
    keys = (
        [scheme, "all"] if host is None else [f"{scheme}://{host}", scheme, f"all://{host}", "all"]
    )
    return next((proxies[key] for key in keys if proxies.get(key)), None)


def _new_pool_manager(pool_maxsize: int, proxy_url: str | None) -> urllib3.PoolManager:
    """One pool per host; ``block=False``: a burst past maxsize opens (then drops) extras."""
    pool_kw: dict[str, Any] = {"maxsize": pool_maxsize, "block": False, "retries": False}
    if proxy_url is None:
        return sockets.use_bounded_pools(urllib3.PoolManager(num_pools=2, **pool_kw))
    auth = urllib3.util.parse_url(proxy_url).auth
    proxy_headers = None
    if auth:  # credentials in the proxy URL, percent-decoded as requests did
        user, _, password = auth.partition(":")
        proxy_headers = urllib3.make_headers(
            proxy_basic_auth=f"{unquote(user)}:{unquote(password)}"
        )
    return sockets.use_bounded_pools(
        urllib3.ProxyManager(proxy_url, num_pools=2, proxy_headers=proxy_headers, **pool_kw)
    )


def _serialise(body: Mapping[str, Any]) -> str:
    try:
        return json.dumps(body, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"request body is not JSON-serialisable: {exc}") from None
