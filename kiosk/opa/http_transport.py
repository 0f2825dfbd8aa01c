"""The HTTP transport: one request out, one complete answer back, within the time it is given.

Why a seam: the transport is the only piece that touches sockets. It knows nothing of PayPay
(no signing, no envelopes, no retries): ``Urllib3Transport`` sends bytes with urllib3 and reads
the answer under the call's deadline; a test plugs in any object with the same ``send`` and
``close`` and no socket at all. When no complete answer comes back it raises ``NoAnswer`` naming
what is known: never sent (NotConnected), no answer in time (RequestTimeout), lost after sending
(ConnectionLost), or an answer too big to be PayPay's (UnreadableResponse).

Why urllib3 and not requests: the create call sits on the kiosk's tap-to-QR path, and requests'
per-call Python work (prepare_request, merge_environment_settings, cookies, hooks,
build_response: 1-2 ms per call, measured on loopback) gave us nothing (no cookies, no
redirects, no environment proxies). urllib3 is the connection pool requests is built on; we
drive it directly: one PoolManager (a ProxyManager when a proxy is configured), no urllib3
retries (ours are above), no redirects, TLS certificate verification on (system CAs), keep-alive.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any, Protocol
from urllib.parse import unquote

import urllib3
import urllib3.exceptions

from kiosk.opa import errors, sockets

log = logging.getLogger("kiosk.opa")

MAX_BODY_BYTES = 1 << 20  # PayPay's envelopes are a few KiB; more is not PayPay
BODY_CHUNK_BYTES = 16 * 1024


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None = None

    def __repr__(self) -> str:  # never the headers: they carry the signature
        return f"HttpRequest({self.method} {self.url})"


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: Mapping[str, str]  # case-insensitive lookups
    body: bytes


@dataclass(frozen=True)
class Limits:
    """One attempt's time: connect and per-wait read timeouts, and what is left of the call."""

    connect_s: float
    read_s: float
    budget_s: float


class NoAnswer(Exception):
    """No complete answer. ``kind`` is the OpaError class the caller raises; ``status`` is set
    when the status line had come back (then the request surely arrived)."""

    def __init__(self, kind: type[errors.OpaError], what: str, status: int | None = None):
        super().__init__(what)
        self.kind, self.what, self.status = kind, what, status


class HttpTransport(Protocol):
    def send(self, request: HttpRequest, limits: Limits) -> HttpAnswer: ...
    def close(self) -> None: ...


class Urllib3Transport:
    """Sends over one urllib3 pool of bounded sockets (see ``sockets``); thread-safe."""

    def __init__(self, *, pool_maxsize: int = 10, proxy_url: str | None = None) -> None:
        self.pool_manager = _new_pool_manager(pool_maxsize, proxy_url)

    def close(self) -> None:
        self.pool_manager.clear()

    def send(self, request: HttpRequest, limits: Limits) -> HttpAnswer:
        timeout = (min(limits.connect_s, limits.budget_s), min(limits.read_s, limits.budget_s))
        with sockets.bounded_by(limits.budget_s, timeout[1]):
            try:
                response = self.pool_manager.urlopen(
                    request.method,
                    request.url,
                    body=request.body,
                    headers=dict(request.headers),
                    timeout=urllib3.Timeout(connect=timeout[0], read=timeout[1]),
                    retries=False,
                    redirect=False,
                    preload_content=False,  # the body is read below, under the deadline
                )
            except Exception as exc:  # whatever the bytes did, the caller gets a NoAnswer
                raise no_answer(exc, timeout) from None
            body = _read_body(response, timeout)
        return HttpAnswer(response.status, response.headers, body)


def _read_body(response: urllib3.BaseHTTPResponse, timeout: tuple[float, float]) -> bytes:
    """The whole body, unless it outgrows MAX_BODY_BYTES (the deadline is the sockets').

    A body read to its end hands the connection back to the pool (keep-alive); any other
    ending closes it, so no half-read answer is ever mistaken for the next one. The request was
    answered, so a failure here is never "not sent".
    """
    chunks: list[bytes] = []
    declared = _declared_length(response)  # refused unread when it says it is too big
    size = 0
    failure: NoAnswer | None = None
    try:
        while declared <= MAX_BODY_BYTES and (chunk := response.read1(BODY_CHUNK_BYTES)):
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                break
        if max(declared, size) > MAX_BODY_BYTES:
            why = f"answer body over {MAX_BODY_BYTES} bytes"
            failure = NoAnswer(errors.UnreadableResponse, why, response.status)
    except Exception as exc:  # a reset, a bad chunk, a timeout: the outcome is unknown
        failure = no_answer(exc, timeout, answered=True, status=response.status)
    finally:
        if failure is not None or not response.closed:
            response.close()
        response.release_conn()
    if failure is not None:
        raise failure
    return b"".join(chunks)


def _declared_length(response: urllib3.BaseHTTPResponse) -> int:
    try:
        return int(response.headers.get("Content-Length") or 0)
    except ValueError:
        return 0


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps (args, reason, cause, context), bounded."""
    seen: list[BaseException] = []
    todo: list[object] = [exc]
    while todo and len(seen) < 20:
        item = todo.pop()
        if not isinstance(item, BaseException) or any(item is s for s in seen):
            continue
        seen.append(item)
        todo.extend(item.args)
        todo.extend([getattr(item, "reason", None), item.__cause__, item.__context__])
    return seen


# urllib3 raises these (retries=False: the error itself, no MaxRetryError) before a byte of the
# request left: no connection, name resolution, proxy, TLS handshake or certificate, bad URL.
_NEVER_SENT = (
    urllib3.exceptions.NewConnectionError,  # NameResolutionError too
    urllib3.exceptions.ConnectTimeoutError,
    urllib3.exceptions.ProxyError,
    urllib3.exceptions.SSLError,
    urllib3.exceptions.LocationValueError,  # LocationParseError, URLSchemeUnknown
)
_TIMED_OUT = (urllib3.exceptions.ReadTimeoutError, TimeoutError)
_EXPECTED = (urllib3.exceptions.HTTPError, OSError, ValueError, HTTPException)


def no_answer(
    exc: Exception,
    timeout: tuple[float, float],
    *,
    answered: bool = False,
    status: int | None = None,
) -> NoAnswer:
    """What an exception from sending or reading means: never sent, timed out, or lost.

    ``answered``: the status line had come back (the body read failed), so the request surely
    arrived and the outcome is unknown, whatever the error says (a TLS error mid-body too).
    A plain ValueError from sending is http.client refusing a header or the URL before a byte
    left (its message may quote the header: only the type name is kept).
    """
    if not isinstance(exc, _EXPECTED):  # not known to come from urllib3: keep a trace for us
        log.error("opa unexpected %s while talking to PayPay", type(exc).__name__)
    chain = _causes(exc)
    refused = isinstance(exc, ValueError) and not isinstance(exc, urllib3.exceptions.HTTPError)
    kind: type[errors.OpaError]
    if refused and not answered:
        kind, what = errors.NotConnected, "request refused before sending"
    elif not answered and any(isinstance(c, _NEVER_SENT) for c in chain):
        kind, what = errors.NotConnected, f"could not connect within {timeout[0]:g} s"
    elif any(isinstance(c, _TIMED_OUT) for c in chain):
        kind, what = errors.RequestTimeout, f"no complete answer within {timeout[1]:g} s"
        what += " or the deadline"
    else:
        kind, what = errors.ConnectionLost, "connection lost after the request was sent"
    return NoAnswer(kind, f"{what} ({type(exc).__name__})", status)


def proxy_for(base_url: str, proxies: Mapping[str, str]) -> str | None:
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
