"""Forwarding one call to PayPay with the merchant's key: re-signed, sent once, answered as is.

Why one attempt and no retries: the kiosk's client already retries by its own rules (a POST
never twice, GET and DELETE by their deadline); a relay retrying too would change the timing
the kiosk's unknown-outcome rules were built on. The kiosk's body goes out byte for byte, so
its retry reaches PayPay with the same merchantPaymentId / merchantRefundId (PayPay's own
idempotency). No complete answer is `None`: the relay says 504 without an envelope, which
the kiosk reads as an unknown outcome, never as a refusal.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from kiosk.opa.http_transport import HttpAnswer, HttpRequest, HttpTransport, Limits, NoAnswer
from kiosk.opa.signing import Signer

log = logging.getLogger(__name__)
CONNECT_S = 5.0
MARGIN_S = 2.0  # the relay gives up before the kiosk does, so the kiosk hears why


@dataclass(frozen=True)
class Merchant:
    base_url: str  # PayPay's (or the simulator's) base URL, no trailing slash
    merchant_id: str


class Forwarder:
    def __init__(self, merchant: Merchant, signer: Signer, http: HttpTransport) -> None:
        self.merchant = merchant
        self.signer = signer  # the only holder of the merchant's key and secret
        self.http = http

    def __repr__(self) -> str:
        return f"Forwarder({self.merchant.base_url})"

    def send(
        self, method: str, path: str, content_type: str, body: bytes, read_timeout_s: float
    ) -> HttpAnswer | None:
        text = body.decode("utf-8") if body else None
        headers = {
            "Authorization": self.signer.authorization(method, path, content_type, text),
            "X-ASSUME-MERCHANT": self.merchant.merchant_id,
        }
        if body:
            headers["Content-Type"] = content_type
        read_s = max(1.0, read_timeout_s - MARGIN_S)
        request = HttpRequest(method, self.merchant.base_url + path, headers, body or None)
        started = time.monotonic()
        try:
            return self.http.send(request, Limits(CONNECT_S, read_s, CONNECT_S + read_s))
        except NoAnswer as exc:
            log.warning(
                "relay: no answer from PayPay %s %s kind=%s after_s=%.1f",
                method,
                path.split("?", 1)[0],
                exc.kind.__name__,
                time.monotonic() - started,
            )
            return None
