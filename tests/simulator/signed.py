"""A tiny signed-request helper: PayPay's OPA-Auth over plain ``requests``.

Used until (and beside) the project's own client, so the simulator is tested against the
signing module alone. Nonces count up, so every request is deterministic.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from typing import Any

import requests

from kiosk.opa.signing import auth_header

JSON_TYPE = "application/json;charset=UTF-8"
# Every helper's session, closed by the suite after each test (`close_sessions`): tests make
# throwaway helpers inline, and a pooled socket left for the garbage collector surfaces as a
# ResourceWarning in whichever later test happens to be running then.
_SESSIONS: list[requests.Session] = []


def close_sessions() -> None:
    while _SESSIONS:
        _SESSIONS.pop().close()


class Signed:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        api_secret: str,
        merchant_id: str = "",
        *,
        epoch: Callable[[], float] = time.time,
        content_type: str = JSON_TYPE,
    ) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.api_secret = api_secret
        self.merchant_id = merchant_id
        self.epoch = epoch
        self.content_type = content_type
        self.session = requests.Session()
        _SESSIONS.append(self.session)
        self._nonces = (f"n{i:07d}" for i in itertools.count())

    def request(
        self,
        method: str,
        path: str,
        body: object = None,
        *,
        raw: str | None = None,
        headers: dict[str, str] | None = None,
        sign_body: str | None = None,
        timeout: float = 10.0,
    ) -> requests.Response:
        text = raw if raw is not None else (None if body is None else json.dumps(body))
        header = auth_header(
            api_key=self.api_key,
            api_secret=self.api_secret,
            method=method,
            path=path,
            nonce=next(self._nonces),
            epoch=int(self.epoch()),
            content_type=self.content_type if text else None,
            body=sign_body if sign_body is not None else text,
        )
        sent = {"Authorization": header, "X-ASSUME-MERCHANT": self.merchant_id}
        if text:
            sent["Content-Type"] = self.content_type
        sent.update(headers or {})
        return self.session.request(
            method,
            self.base_url + path,
            data=text.encode("utf-8") if text else None,
            headers=sent,
            timeout=timeout,
        )

    def create(self, mpid: str, amount: int = 500, **extra: Any) -> requests.Response:
        body = {
            "merchantPaymentId": mpid,
            "amount": {"amount": amount, "currency": "JPY"},
            "codeType": "ORDER_QR",
            "orderDescription": "Coffee",
            "requestedAt": int(self.epoch()),
        } | extra
        return self.request("POST", "/v2/codes", body)

    def details(self, mpid: str) -> requests.Response:
        return self.request("GET", f"/v2/codes/payments/{mpid}")
