"""The relay's decision for one kiosk call: who is calling, may it, then PayPay's answer.

Why / invariants (docs/relay.md):
- a kiosk signs exactly as for PayPay, with its own key; the relay verifies the HMAC, the
  epoch (within `max_skew_s`) and that the nonce is new for that key (shared in PostgreSQL);
- a revoked key is refused on the next call: the key is read on every call, never cached;
- scope (kiosk.fleet.relay.scope): only ids with the kiosk's terminal prefix, codes it created,
  payments it was seen to own, refunds within what the sale has left and the daily limit;
- every refusal is a PayPay-style envelope, logged and kept in `relay_refusals`;
- the relay's own failure (PayPay unreachable, its database down) is a 5xx without an
  envelope: the kiosk's client treats it as an unknown outcome and asks again, never as "no";
- PayPay's answer goes back unchanged (status, content type, body); what it proves (a code's
  id, a paid sale) is written down after, and a failure to write it never hides the answer.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg

from kiosk.engine.clock import jst_day_bounds
from kiosk.fleet.relay.forward import Forwarder
from kiosk.fleet.relay.scope import (
    Call,
    Refusal,
    check_owned,
    classify,
    out_of_scope,
    owns,
    unauthorized,
)
from kiosk.fleet.relay.sealing import Sealer, SealError
from kiosk.fleet.relay.store import KeyRow, Store
from kiosk.opa.endpoints import GET_QR_PAYMENT
from kiosk.opa.signing import parse_auth_header, verify

log = logging.getLogger(__name__)

PAID = ("COMPLETED", "AUTHORIZED", "REFUNDED")


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


def failure(what: str) -> Reply:
    """The relay could not get PayPay's answer: not an envelope, so never read as a refusal."""
    return Reply(504, "text/plain; charset=utf-8", f"relay: {what}\n".encode())


@dataclass(frozen=True)
class Incoming:
    method: str
    path: str  # with its query string, as the kiosk signed and sent it
    headers: dict[str, str]  # names in lower case
    body: bytes


class Relay:
    def __init__(
        self,
        store: Store,
        sealer: Sealer,
        forwarder: Forwarder,
        *,
        max_skew_s: int = 120,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.sealer = sealer
        self.forwarder = forwarder
        self.max_skew_s = max_skew_s
        self.clock = clock
        self._next_prune = 0.0

    def handle(self, request: Incoming) -> Reply:
        key: KeyRow | None = None
        try:
            key = self._authenticate(request)
            call = self._authorize(request, key)
        except Refusal as refusal:
            return self._refuse(request, key, refusal)
        except (psycopg.Error, SealError) as exc:
            log.error("relay: cannot decide, database or key store failed error=%s", exc)
            return failure("the relay's database is unavailable")
        return self._forward(request, key, call)

    # ---- who -------------------------------------------------------------------------------

    def _authenticate(self, request: Incoming) -> KeyRow:
        header = request.headers.get("authorization", "")
        try:
            fields = parse_auth_header(header)
        except ValueError as exc:
            raise unauthorized(str(exc)) from None
        key = self.store.key(fields.api_key)
        if key is None:
            raise unauthorized("unknown API key")
        try:
            return self._check(request, fields.nonce, header, key)
        except Refusal as refusal:  # the refusal is logged with the key that made it
            refusal.key_id, refusal.kiosk = key.key_id, key.kiosk
            raise

    def _check(self, request: Incoming, nonce: str, header: str, key: KeyRow) -> KeyRow:
        if key.revoked_at is not None:
            raise unauthorized("this API key was revoked")
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise Refusal(400, "INVALID_REQUEST_PARAMS", "the body is not UTF-8") from None
        secret = self.sealer.open(key.key_id, key.sealed)  # SealError: the hub's fault, 5xx
        now = self.clock()
        try:
            verify(
                header=header,
                secret_for_key={key.key_id: secret},
                method=request.method,
                path=request.path,
                content_type_header=request.headers.get("content-type"),
                body=text,
                now_epoch=int(now),
                max_skew_s=self.max_skew_s,
            )
        except ValueError as exc:
            raise unauthorized(str(exc)) from None
        fresh, calls = self.store.admit(key.key_id, nonce, now)
        if not fresh:
            raise unauthorized("this nonce was used before (a replayed request)")
        if calls > key.rate_per_min:
            raise Refusal(429, "RATE_LIMIT", f"more than {key.rate_per_min} calls a minute")
        if now >= self._next_prune:
            self._next_prune = now + 60
            self.store.prune(now)
        return key

    # ---- may it ----------------------------------------------------------------------------

    def _authorize(self, request: Incoming, key: KeyRow) -> Call:
        call = classify(request.method, request.path, request.body)
        check_owned(call, key.kiosk)
        if call.action == "delete_code" and self.store.code_owner(call.code_id) != key.kiosk:
            raise out_of_scope(f"code {call.code_id} was not created by {key.kiosk}")
        if call.action == "revert" and self.store.payment_owner(call.payment_id) != key.kiosk:
            raise out_of_scope(f"payment {call.payment_id} is not a {key.kiosk} sale")
        if call.action == "refund":
            if self.store.payment_owner(call.payment_id) is None:
                self._learn_sale_of(call.owned_id, key.kiosk)
            day_start, _ = jst_day_bounds(self.clock())
            self.store.reserve_refund(call, key, day_start)
        return call

    def _refuse(self, request: Incoming, key: KeyRow | None, refusal: Refusal) -> Reply:
        key_id = key.key_id if key else refusal.key_id
        kiosk = key.kiosk if key else refusal.kiosk
        path = request.path.split("?", 1)[0]
        log.warning(
            "relay refused kiosk=%s key=%s call=%s %s code=%s reason=%s",
            kiosk or "-",
            key_id or "-",
            request.method,
            path,
            refusal.code,
            refusal.message,
        )
        try:
            self.store.refused(key_id, kiosk, request.method, path, refusal.code, refusal.message)
        except psycopg.Error as exc:
            log.error("relay: refusal not kept error=%s", type(exc).__name__)
        return Reply(refusal.status, "application/json", refusal.envelope())

    # ---- PayPay ----------------------------------------------------------------------------

    def _forward(self, request: Incoming, key: KeyRow, call: Call) -> Reply:
        content_type = request.headers.get("content-type", "application/json")
        answer = self.forwarder.send(
            request.method, request.path, content_type, request.body, call.read_timeout_s
        )
        if answer is None:
            return failure("no answer from PayPay (the outcome is unknown: ask again)")
        if not self._learn(key, call, answer.status, answer.body):
            # a code id the relay could not record would be one its kiosk can never delete
            return failure("the answer could not be recorded (the outcome is unknown: ask again)")
        extra = tuple(
            (name, answer.headers[name]) for name in ("Retry-After",) if name in answer.headers
        )
        return Reply(answer.status, answer.headers.get("Content-Type", ""), answer.body, extra)

    def _learn(self, key: KeyRow, call: Call, status: int, body: bytes) -> bool:
        """Write down what PayPay's answer proves (for later scope checks). False only when a
        created code could not be recorded."""
        try:
            code = str(_envelope(body).get("resultInfo", {}).get("code", ""))
            if (
                call.action == "refund"
                and 400 <= status < 500
                and code
                and not code.startswith("DUPLICATE")
            ):  # PayPay said no: nothing moved (a duplicate may be an earlier one that did)
                self.store.release_refund(call.owned_id)
            data = _envelope(body).get("data") if 200 <= status < 300 else None
            if not isinstance(data, dict):
                return True
            if call.action == "create_code" and isinstance(data.get("codeId"), str):
                self.store.record_code(data["codeId"], call.owned_id, key.kiosk)
            elif call.action in ("read_code", "read_payment"):
                self.learn_payment(key.kiosk, data)
        except psycopg.Error as exc:
            log.error("relay: could not record %s error=%s", call.action, type(exc).__name__)
            return call.action != "create_code"
        return True

    def _learn_sale_of(self, refund_id: str, kiosk: str) -> None:
        """A refund of a sale the relay has not seen paid (sold before the kiosk used the
        relay, or its poll's record was lost): the kiosk's refund ids are "<mpid>-R<n>", so
        ask PayPay about that sale, as the merchant, once."""
        match = re.match(r"^(.+)-R\d+$", refund_id)
        if match is None:
            return
        path = GET_QR_PAYMENT.path_for(match[1])
        answer = self.forwarder.send("GET", path, "", b"", GET_QR_PAYMENT.read_timeout_s)
        if answer is not None and 200 <= answer.status < 300:
            data = _envelope(answer.body).get("data")
            if isinstance(data, dict):
                self.learn_payment(kiosk, data)

    def owner_of(self, mpid: str) -> str | None:
        """The kiosk (with a key, even revoked) whose id this merchantPaymentId is."""
        return next((k for k in self.store.kiosks() if owns(k, mpid)), None)

    def learn_payment(self, kiosk: str, data: dict[str, Any]) -> bool:
        amount = data.get("amount")
        value = amount.get("amount") if isinstance(amount, dict) else None
        payment_id, mpid = data.get("paymentId"), data.get("merchantPaymentId")
        if (
            data.get("status") in PAID
            and isinstance(payment_id, str)
            and isinstance(mpid, str)
            and owns(kiosk, mpid)
            and isinstance(value, int)
        ):
            self.store.record_payment(payment_id, mpid, kiosk, value)
            return True
        return False


def _envelope(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    if isinstance(value, dict) and isinstance(value.get("resultInfo"), dict):
        return value
    return {}
