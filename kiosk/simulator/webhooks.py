"""Optional ``Transaction`` webhooks, sent as PayPay does: unsigned, a short timeout, retries.

Why a queue and one thread: the ledger calls ``notify`` inside its lock, so it must never
block on the network. Delivery is best effort (as PayPay's is); kiosks must still poll.
"""

from __future__ import annotations

import logging
import queue
import threading
from datetime import UTC, datetime
from typing import Any

import requests

from kiosk.simulator.model import Code, Payment

log = logging.getLogger(__name__)
TIMEOUT_S = 1.5
RETRIES = 3


def _iso(epoch: int | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat()


def transaction_event(code: Code, payment: Payment, merchant_id: str) -> dict[str, Any]:
    return {
        "notification_type": "Transaction",
        "merchant_id": merchant_id,
        "store_id": code.echo.get("storeId", ""),
        "pos_id": code.echo.get("terminalId", ""),
        "order_id": payment.payment_id,
        "merchant_order_id": code.merchant_payment_id,
        "authorized_at": _iso(payment.authorized_at),
        "expires_at": _iso(payment.expires_at),
        "paid_at": _iso(payment.accepted_at),
        "order_amount": payment.amount,
        "state": payment.status,
    }


class WebhookSender:
    def __init__(self, url: str, *, merchant_id: str) -> None:
        self.url = url
        self.merchant_id = merchant_id
        self.delivered: list[dict[str, Any]] = []
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="sim-webhooks", daemon=True)
        self._thread.start()

    def notify(self, code: Code, payment: Payment) -> None:
        self._queue.put(transaction_event(code, payment, self.merchant_id))

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)

    def _run(self) -> None:
        with requests.Session() as session:
            while (event := self._queue.get()) is not None:
                self._deliver(session, event)

    def _deliver(self, session: requests.Session, event: dict[str, Any]) -> None:
        for attempt in range(1 + RETRIES):
            try:
                response = session.post(self.url, json=event, timeout=TIMEOUT_S)
                if response.status_code < 300:
                    self.delivered.append(event)
                    return
                log.info("webhook refused status=%s attempt=%d", response.status_code, attempt)
            except requests.RequestException as error:
                log.info("webhook failed error=%s attempt=%d", type(error).__name__, attempt)
        log.warning("webhook dropped merchant_order_id=%s", event["merchant_order_id"])
