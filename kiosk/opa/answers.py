"""From an HTTP answer to PayPay's success envelope or an OpaError.

Why apart from the transport: this is the money-critical judgement, "did PayPay answer, and
what did it say?", kept small and pure so it can be read against the reference at a glance
(what "no answer at all" means is ``http_transport.no_answer``'s job):
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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from kiosk.opa import errors
from kiosk.opa.endpoints import Endpoint

MAX_ERROR_BODY_CHARS = 2048  # what an error keeps of the answer's body
MAX_ERROR_HEADERS = 40


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


def _json_object(headers: Mapping[str, str], content: bytes) -> dict[str, Any] | str:
    """The decoded JSON object, or why the body is not one."""
    media_type = (headers.get("content-type") or "").split(";", 1)[0].strip().lower()
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
    status: int,
    headers: Mapping[str, str],
    content: bytes,
    endpoint: Endpoint,
    *,
    redact: Callable[[str], str] = str,
) -> dict[str, Any] | Failure:
    """PayPay's envelope when it says success, else a Failure whose error carries the status,
    PayPay's code, the start of the body and the headers (``redact`` scrubs our secrets).
    Header names are looked up in lower case (the transport lowers them)."""
    retry_after = headers.get("retry-after")
    evidence: dict[str, Any] = {
        "status": status,
        "api_name": endpoint.api_name,
        "body": redact(content[: 2 * MAX_ERROR_BODY_CHARS].decode("utf-8", "replace"))[
            :MAX_ERROR_BODY_CHARS
        ],
        "headers": {
            name: redact(value)[:256] for name, value in list(headers.items())[:MAX_ERROR_HEADERS]
        },
    }
    found = envelope_of(headers, content)
    if isinstance(found, str):
        message = f"HTTP {status} without PayPay's JSON envelope ({found})"
        return Failure(errors.UnreadableResponse(message, **evidence), retry_after)
    envelope, result_info, code = found
    if 200 <= status < 300 and code in endpoint.success_codes:
        return envelope
    kind = errors.classify(status, code)
    error = kind(
        redact(_text(result_info.get("message")) or f"HTTP {status} {code}"),
        code=code,
        code_id=_text(result_info.get("codeId")),
        **evidence,
    )
    return Failure(error, retry_after)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
