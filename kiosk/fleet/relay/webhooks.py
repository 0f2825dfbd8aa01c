"""PayPay's transaction webhooks, as hints: confirmed through PayPay, then a nudge to the kiosk.

Why hints: PayPay does not sign webhooks, so anyone who can reach the endpoint could send one.
The hub therefore (1) accepts them only from the configured source networks, (2) never acts on
their content: it asks PayPay itself (GET the code's payment details, merchant-signed), and
(3) only then tells the kiosk "poll now" over MQTT. The kiosk's own poll remains the proof, so
a lost, late, forged or duplicated webhook, or a hub that is down, only costs speed.
Invariants: the HTTP answer (200) never waits for PayPay; confirmation runs on one thread
from a bounded queue (a flood is dropped with a log line, never queued without end).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

from kiosk.fleet.relay.forward import Forwarder
from kiosk.opa.endpoints import GET_QR_PAYMENT

log = logging.getLogger(__name__)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
QUEUE_MAX = 1000


def parse_sources(text: Sequence[str]) -> tuple[Network, ...]:
    """Source networks ("203.0.113.0/24", "127.0.0.1"); ValueError names a bad one."""
    nets = []
    for item in text:
        try:
            nets.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ValueError(f"webhook source {item!r} is not an IP address or network") from None
    return tuple(nets)


def allowed(address: str, sources: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in sources)


def merchant_order_id(body: bytes) -> str:
    """The merchantPaymentId a Transaction notification names; ValueError says what is wrong."""
    try:
        event = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("not JSON") from None
    if not isinstance(event, dict) or event.get("notification_type") != "Transaction":
        raise ValueError("not a Transaction notification")
    mpid = event.get("merchant_order_id")
    if not isinstance(mpid, str) or not 1 <= len(mpid) <= 64:
        raise ValueError("merchant_order_id is missing")
    return mpid


class Confirmer:
    """Confirms hinted payments with PayPay and nudges their kiosk (one thread)."""

    def __init__(
        self,
        forwarder: Forwarder,
        owner_of: Callable[[str], str | None],
        learn: Callable[[str, dict[str, Any]], bool],
        nudge: Callable[[str, str], None],
    ) -> None:
        self.forwarder = forwarder
        self.owner_of = owner_of  # merchantPaymentId -> kiosk (by its terminal prefix)
        self.learn = learn  # records the paid sale; True when PayPay says it is paid
        self.nudge = nudge
        self.confirmed = 0  # tests and the bench read these
        self.unconfirmed = 0
        self._queue: queue.Queue[str | None] = queue.Queue(QUEUE_MAX)
        self._thread = threading.Thread(target=self._run, name="relay-webhooks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(10)

    def hint(self, mpid: str) -> None:
        try:
            self._queue.put_nowait(mpid)
        except queue.Full:
            log.warning("relay webhook dropped (queue full) mpid=%s", mpid)

    def _run(self) -> None:
        while (mpid := self._queue.get()) is not None:
            try:
                self._confirm(mpid)
            except Exception:  # one bad hint must not stop the next
                log.exception("relay webhook confirmation failed mpid=%s", mpid)

    def _confirm(self, mpid: str) -> None:
        kiosk = self.owner_of(mpid)
        if kiosk is None:
            log.warning("relay webhook for no kiosk of ours mpid=%s", mpid)
            self.unconfirmed += 1
            return
        path = GET_QR_PAYMENT.path_for(mpid)
        answer = self.forwarder.send("GET", path, "", b"", GET_QR_PAYMENT.read_timeout_s)
        data: Any = None
        if answer is not None and 200 <= answer.status < 300:
            try:
                data = json.loads(answer.body).get("data")
            except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
                data = None
        if not isinstance(data, dict) or not self.learn(kiosk, data):
            status = data.get("status") if isinstance(data, dict) else None
            log.info(
                "relay webhook not confirmed mpid=%s http=%s status=%s",
                mpid,
                answer.status if answer else "none",
                status,
            )
            self.unconfirmed += 1
            return
        self.confirmed += 1
        log.info("relay webhook confirmed mpid=%s kiosk=%s status=%s", mpid, kiosk, data["status"])
        self.nudge(kiosk, mpid)
