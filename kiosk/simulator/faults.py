"""Injected faults: error answers (PayPay's or a proxy's), latency, "applied but the answer was
lost", and answers whose fields were changed on the way (unknown statuses, another sale's ids).

Why a registry of its own: tests arm a fault through the control API, the server asks
``take(endpoint)`` once per API request and gets at most one fault, already counted. A fault
with ``times`` fires that many times then disappears; ``probability`` draws from the
simulator's seeded random source, so a seeded run is reproducible.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass
from typing import Any

from kiosk.simulator import envelope as err

ENDPOINTS = (
    "create_code",
    "get_code_payment",
    "delete_code",
    "cancel_payment",
    "get_payment",
    "refund",
    "get_refund",
    "capture",
    "revert",
    "create_payment",
    "preauthorize",
    "create_continuous_payment",
    "create_pending_payment",
    "get_pending_payment",
    "cancel_pending_payment",
    "create_qr_session",
    "get_user_authorization",
    "unlink_user",
    "check_balance",
    "give_cashback",
    "get_cashback",
    "reverse_cashback",
    "get_cashback_reversal",
)
ALL = "*"


@dataclass
class Fault:
    endpoint: str | list[str] = ALL  # one name, a list of names, or "*"
    status: int | None = None  # an HTTP error status to answer with
    code: str | None = None  # resultInfo.code; defaults from the status
    code_id: str | None = None
    message: str | None = None
    times: int | None = 1  # None: until cleared
    latency_s: float | None = None  # sleep before answering
    drop_response: bool = False  # apply the request, then close without answering
    applied: bool = False  # with a status: apply the request, then answer the error anyway
    probability: float | None = None  # fire with this chance (else always)
    envelope: bool = True  # with a status: False answers a proxy's HTML page, no PayPay envelope
    data: dict[str, Any] | None = None  # apply, then answer success with these data fields set

    def proxy_page(self) -> bytes:
        """What a load balancer answers: HTML, not PayPay's envelope (proves nothing)."""
        status = self.status or 502
        return (
            f"<html><head><title>{status}</title></head><body><center><h1>{status}</h1>"
            "</center><hr><center>nginx</center></body></html>\n"
        ).encode()

    def matches(self, endpoint: str) -> bool:
        names = [self.endpoint] if isinstance(self.endpoint, str) else self.endpoint
        return ALL in names or endpoint in names

    def error(self) -> err.ErrorSpec | None:
        if self.status is None:
            return None
        code = self.code or err.DEFAULT_CODE_FOR_STATUS.get(self.status, "INTERNAL_SERVER_ERROR")
        known = err.BY_CODE.get(code)
        code_id = self.code_id or (known.code_id if known else "08101000")
        message = self.message if self.message is not None else (known.message if known else code)
        return err.ErrorSpec(self.status, code, code_id, message)


def parse_fault(raw: object) -> Fault:
    """A fault from control-API JSON; ValueError names the bad field."""
    if not isinstance(raw, dict):
        raise ValueError("fault must be a JSON object")
    fields = set(Fault.__dataclass_fields__)
    unknown = set(raw) - fields
    if unknown:
        raise ValueError(f"unknown fault fields: {sorted(unknown)}")
    fault = Fault(**raw)
    names = [fault.endpoint] if isinstance(fault.endpoint, str) else fault.endpoint
    if not isinstance(names, list) or not names:
        raise ValueError("endpoint must be a name or a non-empty list of names")
    for name in names:
        if name != ALL and name not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {name!r}; one of {', '.join(ENDPOINTS)}")
    _check(fault)
    return fault


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check(f: Fault) -> None:
    if f.status is not None and (not isinstance(f.status, int) or not 400 <= f.status <= 599):
        raise ValueError("status must be an HTTP error status 400..599")
    if f.times is not None and (not isinstance(f.times, int) or f.times < 1):
        raise ValueError("times must be a positive integer or null")
    if f.latency_s is not None and (not _number(f.latency_s) or not 0 <= f.latency_s <= 120):
        raise ValueError("latency_s must be between 0 and 120")
    if f.probability is not None and (not _number(f.probability) or not 0 < f.probability <= 1):
        raise ValueError("probability must be in (0, 1]")
    for name in ("code", "code_id", "message"):
        if getattr(f, name) is not None and not isinstance(getattr(f, name), str):
            raise ValueError(f"{name} must be a string")
    for name in ("drop_response", "applied", "envelope"):
        if not isinstance(getattr(f, name), bool):
            raise ValueError(f"{name} must be a boolean")
    if f.data is not None and (not isinstance(f.data, dict) or not f.data):
        raise ValueError("data must be a non-empty JSON object of answer fields")
    if f.data is not None and (f.status is not None or f.drop_response):
        raise ValueError("data changes a successful answer: not with status or drop_response")
    if not f.envelope and f.status is None:
        raise ValueError("envelope: false needs a status")
    if f.status is None and f.latency_s is None and not f.drop_response and f.data is None:
        raise ValueError("a fault needs a status, a latency_s, drop_response or data")


class Faults:
    def __init__(self, rng: random.Random) -> None:
        self._lock = threading.Lock()
        self._rng = rng
        self._faults: list[Fault] = []
        self.fired = 0  # how many answers a fault changed, in all (the chaos run reports it)

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def listing(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._faults]

    def take(self, endpoint: str) -> Fault | None:
        """The first armed fault for this endpoint, counted as fired; None when none fires."""
        with self._lock:
            for fault in self._faults:
                if not fault.matches(endpoint):
                    continue
                if fault.probability is not None and self._rng.random() >= fault.probability:
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                self.fired += 1
                return fault
            return None
