"""From what came back (an HTTP answer, or an exception instead) to an envelope or an OpaError.

Why apart from the transport: this is the money-critical judgement, "did PayPay answer, and
what did it say?", kept small and pure so it can be read against the reference at a glance:
- no answer: never sent (NotConnected), no answer in time (RequestTimeout), or lost after
  sending (ConnectionLost); only the first is known not to have been applied;
- only PayPay's JSON envelope proves anything: a JSON content type and a JSON object whose
  ``resultInfo.code`` is a non-empty string. Without it, whatever the status (an HTML 404 from a
  proxy, an empty 400, a captive portal's 200, JSON served as text/html), the answer is
  UnreadableResponse: an unknown outcome, never NotFound or Rejected;
- with it, the code decides: a 2xx is success only when the code is one of the call's success
  codes (SUCCESS, REQUEST_ACCEPTED, ...); any other code is that error (``errors.classify``),
  whatever the status.
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
    retry_after: str | None = None  # the answer's Retry-After header, as sent


def http_date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def retry_after_s_of(value: str | None, now_epoch: float) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or an HTTP date), or None.

    Huge values stay huge (the caller gives up rather than retry early); garbage is None.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(min(int(text[:12]), 10**9))
    at = http_date(text)
    return None if at is None else max(0.0, at - now_epoch)


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
        kind, what = (
            errors.RequestTimeout,
            f"no complete answer within {timeout[1]:g} s or the deadline",
        )
    else:
        kind, what = errors.ConnectionLost, "connection lost after the request was sent"
    return kind(f"{what} ({type(exc).__name__})", api_name=endpoint.api_name)


def _json_object(headers: Mapping[str, str], content: bytes) -> dict[str, Any] | str:
    """The decoded JSON object, or why the body is not one."""
    media_type = (headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        return f"content type {media_type or 'missing'!r}"
    try:
        parsed = json.loads(content)
    except RecursionError:  # nesting deeper than the interpreter's stack: not PayPay's
        return "JSON nested too deeply"
    except (ValueError, UnicodeDecodeError):
        return "not JSON" if content else "empty body"
    return parsed if isinstance(parsed, dict) else "JSON that is not an object"


def envelope_of(
    headers: Mapping[str, str], content: bytes
) -> tuple[dict[str, Any], dict[str, Any], str] | str:
    """(envelope, resultInfo, code) when this is PayPay's envelope, else why it is not."""
    envelope = _json_object(headers, content)
    if isinstance(envelope, str):
        return envelope
    result_info = envelope.get("resultInfo")
    if not isinstance(result_info, dict):
        return "no resultInfo object"
    code = _text(result_info.get("code"))
    if code is None:
        return "no resultInfo.code"
    return envelope, result_info, code


def interpret(
    status: int, headers: Mapping[str, str], content: bytes, endpoint: Endpoint
) -> dict[str, Any] | Failure:
    retry_after = headers.get("Retry-After")
    found = envelope_of(headers, content)
    if isinstance(found, str):
        error: errors.OpaError = errors.UnreadableResponse(
            f"HTTP {status} without PayPay's JSON envelope ({found})",
            status=status,
            api_name=endpoint.api_name,
        )
        return Failure(error, retry_after)
    envelope, result_info, code = found
    if 200 <= status < 300 and code in endpoint.success_codes:
        return envelope
    kind = errors.classify(status, code)
    error = kind(
        _text(result_info.get("message")) or f"HTTP {status} {code}",
        status=status,
        code=code,
        code_id=_text(result_info.get("codeId")),
        api_name=endpoint.api_name,
    )
    return Failure(error, retry_after)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
