"""The fleet's topic tree and JSON payloads, version 1 (documented in docs/fleet.md).

Why one module: the kiosk's publisher and the hub both read and write these shapes; a field
renamed on one side only would lose facts silently. Invariants: every payload carries
`schema` (a version); a topic or payload the hub cannot read raises `PayloadError` naming the
problem, never a half-read fact; kiosk ids are what a broker ACL can confine (`%u` in a
pattern), so they are restricted to letters, digits, - and _.

    {prefix}/v1/{kiosk}/status    retained; kiosk: online / last will offline
    {prefix}/v1/{kiosk}/events    QoS 1; kiosk: one outbox row each (sale, refund, service,
                                  health, reply)
    {prefix}/v1/{kiosk}/commands  QoS 1; hub: out of service, catalogue, reconcile
    {prefix}/v1/{kiosk}/config    reserved (retained documents from the hub; unused in v1)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

SCHEMA = 1
VERSION = f"v{SCHEMA}"
KIND_SALE = "sale"
KIND_REFUND = "refund"
KIND_SERVICE = "service"
KIND_HEALTH = "health"
KIND_REPLY = "reply"
EVENT_KINDS = frozenset({KIND_SALE, KIND_REFUND, KIND_SERVICE, KIND_HEALTH, KIND_REPLY})
LEAVES = ("status", "events", "commands", "config")
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_PREFIX = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")


class PayloadError(ValueError):
    """An MQTT topic or payload that does not follow the schema; says what is wrong."""


def check_kiosk_id(kiosk: str) -> str:
    if not _ID.match(kiosk):
        raise PayloadError(f"kiosk id {kiosk!r} is not 1-64 letters, digits, - or _")
    return kiosk


def check_prefix(prefix: str) -> str:
    if not _PREFIX.match(prefix):
        raise PayloadError(f"topic prefix {prefix!r} is not words of letters, digits, - or _")
    return prefix


@dataclass(frozen=True)
class Topics:
    prefix: str

    def of(self, kiosk: str, leaf: str) -> str:
        return f"{self.prefix}/{VERSION}/{check_kiosk_id(kiosk)}/{leaf}"

    def all(self, leaf: str) -> str:
        return f"{self.prefix}/{VERSION}/+/{leaf}"

    def parse(self, topic: str) -> tuple[str, str]:
        """(kiosk, leaf) of a topic under this tree; PayloadError for anything else."""
        head = f"{self.prefix}/{VERSION}/"
        rest = topic[len(head) :].split("/") if topic.startswith(head) else []
        if len(rest) != 2 or rest[1] not in LEAVES:
            raise PayloadError(f"topic {topic!r} is not {head}<kiosk>/<{'|'.join(LEAVES)}>")
        return check_kiosk_id(rest[0]), rest[1]


@dataclass(frozen=True)
class Event:
    """One outbox row as published: `key` is unique across the fleet (the ledger's
    idempotency key); `seq` increases per kiosk journal; `at` is the kiosk's wall time."""

    kiosk: str
    seq: int
    key: str
    kind: str
    at: float
    data: dict[str, Any]

    def encode(self) -> bytes:
        body = {
            "schema": SCHEMA,
            "kiosk": self.kiosk,
            "seq": self.seq,
            "key": self.key,
            "kind": self.kind,
            "at": self.at,
            "data": self.data,
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def load_json(payload: bytes) -> dict[str, Any]:
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(f"payload is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise PayloadError("payload is not a JSON object")
    schema = body.get("schema")
    if schema != SCHEMA:
        raise PayloadError(f"payload schema {schema!r} is not {SCHEMA}")
    return body


def _field(body: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = body.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise PayloadError(f"payload field {name!r} is missing or not {_kind_name(kind)}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


def decode_event(kiosk: str, payload: bytes) -> Event:
    """An event published on `kiosk`'s events topic; its body must name the same kiosk (the
    broker's ACL says who published, the body cannot claim to be another kiosk)."""
    body = load_json(payload)
    claimed = _field(body, "kiosk", str)
    if claimed != kiosk:
        raise PayloadError(f"payload names kiosk {claimed!r} on kiosk {kiosk!r}'s topic")
    kind = _field(body, "kind", str)
    if kind not in EVENT_KINDS:
        raise PayloadError(f"payload kind {kind!r} is not one of {sorted(EVENT_KINDS)}")
    seq = _field(body, "seq", int)
    if seq < 1:
        raise PayloadError(f"payload seq {seq} is not positive")
    key = _field(body, "key", str)
    if not 1 <= len(key) <= 128:
        raise PayloadError("payload key is not 1-128 characters")
    at = float(_field(body, "at", (int, float)))
    data = _field(body, "data", dict)
    _check_data(kind, data)
    return Event(kiosk, seq, key, kind, at, data)


_REQUIRED: dict[str, dict[str, type | tuple[type, ...]]] = {
    KIND_SALE: {
        "merchant_payment_id": str,
        "amount_yen": int,
        "state": str,
        "paid": bool,
        "created_at": (int, float),
    },
    KIND_REFUND: {
        "merchant_refund_id": str,
        "merchant_payment_id": str,
        "amount_yen": int,
        "status": str,
    },
    KIND_SERVICE: {"out_of_service": bool},
    KIND_HEALTH: {"backlog": int, "held": int},
    KIND_REPLY: {"command_id": str, "result": str},
}


def _check_data(kind: str, data: dict[str, Any]) -> None:
    for name, expected in _REQUIRED[kind].items():
        value = data.get(name)
        ok = isinstance(value, expected) and (expected is bool or not isinstance(value, bool))
        if not ok:
            raise PayloadError(
                f"{kind} data field {name!r} is missing or not {_kind_name(expected)}"
            )


COMMAND_KINDS = ("out_of_service", "back_in_service", "reconcile", "replay", "catalogue", "poll")


@dataclass(frozen=True)
class Command:
    command_id: str
    kind: str
    issued_at: float
    reason: str
    from_seq: int = 0  # replay: the outbox rows to send again
    to_seq: int = 0
    document: Any = None  # catalogue: the versioned price list (checked by kiosk.fleet.catalogue)
    merchant_payment_id: str = ""  # poll: the sale to poll now (the relay's webhook nudge)


def parse_command(payload: bytes) -> Command:
    body = load_json(payload)
    command_id, kind, issued_at = body.get("command_id"), body.get("kind"), body.get("issued_at")
    if not isinstance(command_id, str) or not 1 <= len(command_id) <= 64:
        raise PayloadError("command field 'command_id' is missing or not 1-64 characters")
    if kind not in COMMAND_KINDS:
        raise PayloadError(f"command kind {kind!r} is not one of {', '.join(COMMAND_KINDS)}")
    if not isinstance(issued_at, int | float) or isinstance(issued_at, bool):
        raise PayloadError("command field 'issued_at' is missing or not a number")
    reason = body.get("reason", "")
    seqs = [body.get("from_seq", 0), body.get("to_seq", 0)]
    if kind == "replay" and not (
        all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in seqs)
        and seqs[0] <= seqs[1]
    ):
        raise PayloadError("replay needs whole numbers 0 < from_seq <= to_seq")
    mpid = body.get("merchant_payment_id", "")
    if kind == "poll" and not (isinstance(mpid, str) and 1 <= len(mpid) <= 64):
        raise PayloadError("poll needs merchant_payment_id (1-64 characters)")
    return Command(
        command_id,
        str(kind),
        float(issued_at),
        str(reason)[:200],
        int(seqs[0]),
        int(seqs[1]),
        body.get("document"),
        str(mpid) if kind == "poll" else "",
    )
