"""From what came back (an HTTP answer, or an exception instead) to an envelope or an OpaError.

Why apart from the transport: this is the money-critical judgement, "did PayPay answer, and
what did it say?", kept small and pure so it can be read against the reference at a glance:
- no answer: never sent (NotConnected), no answer in time (RequestTimeout), or lost after
  sending (ConnectionLost); only the first is known not to have been applied;
- a 2xx is success only with PayPay's JSON envelope (a captive portal's 200 page is not);
- any other status goes through ``errors.classify``; a 5xx without the envelope (a gateway's
  HTML page) is UnreadableResponse, an unknown outcome.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import urllib3.exceptions

from kiosk.opa import errors
from kiosk.opa.endpoints import Endpoint


@dataclass(frozen=True)
class Failure:
    error: errors.OpaError
    retry_after_s: float | None = None


def http_date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def retry_after_s_of(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if 0 <= seconds <= 3600 else None


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


def transport_error(
    exc: Exception, endpoint: Endpoint, timeout: tuple[float, float], *, answered: bool = False
) -> errors.OpaError:
    """No (complete) HTTP answer: never sent (NotConnected), timed out, or lost after sending.

    ``answered``: the status line had come back (the body read failed), so the request surely
    arrived and the outcome is unknown, whatever the error says (a TLS error mid-body too).
    A plain ValueError from sending is http.client refusing a header or the URL before a byte
    left (its message may quote the header: only the type name is kept).
    """
    chain = _causes(exc)
    refused = isinstance(exc, ValueError) and not isinstance(exc, urllib3.exceptions.HTTPError)
    kind: type[errors.OpaError]
    if refused and not answered:
        kind, what = errors.NotConnected, "request refused before sending"
    elif not answered and any(isinstance(c, _NEVER_SENT) for c in chain):
        kind, what = errors.NotConnected, f"could not connect within {timeout[0]:g} s"
    elif any(isinstance(c, _TIMED_OUT) for c in chain):
        kind, what = errors.RequestTimeout, f"no answer within {timeout[1]:g} s"
    else:
        kind, what = errors.ConnectionLost, "connection lost after the request was sent"
    return kind(f"{what} ({type(exc).__name__})", api_name=endpoint.api_name)


def _json_object(content: bytes) -> dict[str, Any] | None:
    try:
        parsed = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None
    return parsed if isinstance(parsed, dict) else None


def interpret(
    status: int, headers: Mapping[str, str], content: bytes, endpoint: Endpoint
) -> dict[str, Any] | Failure:
    envelope = _json_object(content)
    result_info = envelope.get("resultInfo") if envelope is not None else None
    if not isinstance(result_info, dict):
        result_info = None
    if 200 <= status < 300:
        if envelope is not None and result_info is not None:
            return envelope
        return Failure(
            errors.UnreadableResponse(
                "a 2xx answer without PayPay's JSON envelope",
                status=status,
                api_name=endpoint.api_name,
            )
        )
    retry_after_s = retry_after_s_of(headers.get("Retry-After"))
    if result_info is None:
        kind = errors.UnreadableResponse if status >= 500 else errors.classify(status, None)
        message = f"HTTP {status} without PayPay's JSON envelope"
        error = kind(message, status=status, api_name=endpoint.api_name)
        return Failure(error, retry_after_s)
    code = _text(result_info.get("code"))
    kind = errors.classify(status, code)
    error = kind(
        _text(result_info.get("message")) or f"HTTP {status}",
        status=status,
        code=code,
        code_id=_text(result_info.get("codeId")),
        api_name=endpoint.api_name,
    )
    return Failure(error, retry_after_s)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
