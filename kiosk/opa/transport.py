"""One PayPay call: sign, send through the HTTP transport, judge the answer, retry if safe.

Why this is only composition: each money-relevant rule lives in one small piece that is tested
alone, and this module wires them, so a test can swap the HTTP transport for one without a
socket and still exercise signing, judging and retrying exactly as the kiosk runs them:
- ``signing.Signer`` signs the exact bytes that are sent (compact JSON, serialised once);
- ``http_transport`` sends them and reads the whole answer within the call's deadline;
- ``answers.interpret`` decides what the answer proves (PayPay's envelope, or an unknown);
- ``retry.RetryPolicy`` decides whether to ask again (only GET and DELETE; a POST at most once).

Every source of nondeterminism comes in through ``Hooks``; nothing per request is stored on
the object, so one Transport serves many threads (``assume_merchant`` is configuration, replaced
atomically). Every HTTP answer, errors too, goes to ``on_response`` with its ``Date`` header, so
the kiosk can watch the clock skew that breaks signatures (PayPay allows 120 s). Errors are
raised outside ``except`` blocks: no exception chain keeps the request alive.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from kiosk.opa import answers, errors, signing
from kiosk.opa.endpoints import Endpoint
from kiosk.opa.http_transport import HttpAnswer, HttpRequest, HttpTransport, Limits, NoAnswer
from kiosk.opa.retry import RetryPolicy

log = logging.getLogger("kiosk.opa")

CONTENT_TYPE = "application/json;charset=UTF-8"
DEFAULT_CONNECT_TIMEOUT_S = 10.0
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
class Hooks:
    """Every source of nondeterminism, injectable so tests are exact."""

    clock: Callable[[], float]  # epoch seconds
    monotonic: Callable[[], float]
    sleep: Callable[[float], None]
    jitter: Callable[[], float]  # uniform in [0, 1)
    on_response: Callable[[ResponseInfo], None] | None = None


class Transport:
    def __init__(
        self,
        *,
        signer: signing.Signer,
        http: HttpTransport,
        base_url: str,
        timeout: tuple[float, float] | None,
        retry: RetryPolicy,
        hooks: Hooks,
    ) -> None:
        self._signer = signer
        self.http = http
        self.base_url = base_url
        self._timeout = timeout
        self._retry = retry
        self._hooks = hooks
        self.assume_merchant = ""

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r})"

    def close(self) -> None:
        self.http.close()

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
        """One API call: PayPay's success envelope, else an OpaError subclass is raised."""
        path = endpoint.path_for(*ids)
        payload = None if body is None else _serialise(body)
        deadline = self._hooks.monotonic() + self._retry.max_total_s
        attempt = 0
        while True:
            attempt += 1
            outcome = self._attempt(endpoint, path, query, payload, deadline)
            if isinstance(outcome, dict):
                return outcome
            pause_s = self._retry.pause_s(
                retry_safe=endpoint.retry_safe,
                error=outcome.error,
                attempt=attempt,
                jitter=self._hooks.jitter(),
                retry_after_s=answers.retry_after_s_of(outcome.retry_after, self._hooks.clock()),
                time_left_s=deadline - self._hooks.monotonic(),
            )
            if pause_s is None:
                raise outcome.error
            log.warning(
                "opa retry api=%s attempt=%d error=%s status=%s delay_s=%.3f",
                endpoint.api_name,
                attempt,
                type(outcome.error).__name__,
                outcome.error.status,
                pause_s,
            )
            self._hooks.sleep(pause_s)

    def _request(
        self, endpoint: Endpoint, path: str, query: Mapping[str, str] | None, payload: str | None
    ) -> HttpRequest:
        headers = {
            **BASE_HEADERS,
            "Authorization": self._signer.authorization(
                endpoint.method, path, CONTENT_TYPE, payload
            ),
        }
        if payload is not None:
            headers["Content-Type"] = CONTENT_TYPE
        merchant = self.assume_merchant
        if merchant:
            headers["X-ASSUME-MERCHANT"] = merchant
        url = self.base_url + path + ("?" + urlencode(query) if query else "")
        body = None if payload is None else payload.encode("utf-8")
        return HttpRequest(endpoint.method, url, headers, body)

    def _attempt(
        self,
        endpoint: Endpoint,
        path: str,
        query: Mapping[str, str] | None,
        payload: str | None,
        deadline: float,
    ) -> dict[str, Any] | answers.Failure:
        budget_s = deadline - self._hooks.monotonic()
        if budget_s <= 0:
            late = f"no time left of the {self._retry.max_total_s:g} s deadline"
            return answers.Failure(errors.RequestTimeout(late, api_name=endpoint.api_name))
        connect_s, read_s = self.timeouts_for(endpoint)
        request = self._request(endpoint, path, query, payload)
        started = self._hooks.monotonic()
        answer: HttpAnswer | NoAnswer
        try:
            answer = self.http.send(request, Limits(connect_s, read_s, budget_s))
        except NoAnswer as failure:
            answer = failure
        if isinstance(answer, NoAnswer):
            log.info("opa no-answer api=%s error=%s", endpoint.api_name, answer.kind.__name__)
            error = answer.kind(answer.what, status=answer.status, api_name=endpoint.api_name)
            return answers.Failure(error)
        headers = {name.lower(): value for name, value in answer.headers.items()}
        self._report(endpoint, path, answer.status, headers, started)
        return answers.interpret(
            answer.status, headers, answer.body, endpoint, redact=self._signer.redact
        )

    def _report(
        self,
        endpoint: Endpoint,
        path: str,
        status: int,
        headers: Mapping[str, str],
        started: float,
    ) -> None:
        info = ResponseInfo(
            api_name=endpoint.api_name,
            method=endpoint.method,
            path=path,
            status=status,
            server_date_epoch=answers.http_date(headers.get("date")),
            local_epoch=self._hooks.clock(),
            elapsed_s=self._hooks.monotonic() - started,
        )
        log.debug(
            "opa answer api=%s status=%d elapsed_s=%.3f", info.api_name, info.status, info.elapsed_s
        )
        if self._hooks.on_response is None:
            return
        try:
            self._hooks.on_response(info)
        except Exception:  # a broken observer must never lose a payment's answer
            log.exception("opa on_response callback failed api=%s", info.api_name)


def _serialise(body: Mapping[str, Any]) -> str:
    try:
        return json.dumps(body, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"request body is not JSON-serialisable: {exc}") from None
