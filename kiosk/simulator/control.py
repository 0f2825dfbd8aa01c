"""``SimulatorControl``: a small requests client of the ``/_sim/`` control API, for tests.

Why a client: tests, the chaos runner and the demo mode drive the simulator the same way,
whether it runs in this process or another one. Every method raises ``RuntimeError`` with the
simulator's resultInfo when the control API refuses.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

TIMEOUT_S = 10.0


class SimulatorControl:
    def __init__(self, base_url: str, session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()

    def _call(self, method: str, path: str, body: object = None) -> Any:
        response = self.session.request(method, self.base_url + path, json=body, timeout=TIMEOUT_S)
        payload = response.json()
        if response.status_code >= 300:
            raise RuntimeError(f"control {method} {path}: {response.status_code} {payload}")
        return payload.get("data")

    def pay(self, code_id: str, *, after_s: float | None = None) -> dict[str, Any]:
        body = {"after_s": after_s} if after_s else None
        return dict(self._call("POST", f"/_sim/codes/{quote(code_id, safe='')}/pay", body))

    def decline(self, code_id: str) -> dict[str, Any]:
        return dict(self._call("POST", f"/_sim/codes/{quote(code_id, safe='')}/decline"))

    def expire(self, code_id: str) -> None:
        self._call("POST", f"/_sim/codes/{quote(code_id, safe='')}/expire")

    def pay_by_merchant_payment_id(self, merchant_payment_id: str) -> dict[str, Any]:
        mpid = quote(merchant_payment_id, safe="")
        return dict(self._call("POST", f"/_sim/payments/{mpid}/pay"))

    def confirm_capture(self, merchant_payment_id: str) -> dict[str, Any]:
        """The customer accepts a capture above the authorized amount."""
        mpid = quote(merchant_payment_id, safe="")
        return dict(self._call("POST", f"/_sim/payments/{mpid}/confirm_capture"))

    def add_fault(
        self,
        endpoint: str | list[str] = "*",
        status: int | None = None,
        code: str | None = None,
        times: int | None = 1,
        latency_s: float | None = None,
        drop_response: bool = False,
        probability: float | None = None,
        *,
        applied: bool = False,
        code_id: str | None = None,
        message: str | None = None,
        envelope: bool = True,
        data: dict[str, Any] | None = None,
    ) -> None:
        """Arm a fault (docs/simulator.md): `envelope=False` answers `status` as a proxy's HTML
        page; `data` applies the call and answers success with those data fields changed."""
        fault: dict[str, Any] = {
            "endpoint": endpoint,
            "status": status,
            "code": code,
            "times": times,
            "latency_s": latency_s,
            "drop_response": drop_response,
            "probability": probability,
            "applied": applied,
            "code_id": code_id,
            "message": message,
            "envelope": envelope,
            "data": data,
        }
        self._call("POST", "/_sim/faults", fault)

    def faults(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/_sim/faults")["faults"])

    def faults_fired(self) -> int:
        """How many answers the armed faults have changed since the simulator started."""
        return int(self._call("GET", "/_sim/faults")["fired"])

    def clear_faults(self) -> None:
        self._call("DELETE", "/_sim/faults")

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        return dict(self._call("POST", "/_sim/clock", {"advance_s": seconds}))

    def clock(self) -> dict[str, Any]:
        return dict(self._call("GET", "/_sim/clock"))

    def ledger(self) -> dict[str, Any]:
        return dict(self._call("GET", "/_sim/ledger"))

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> SimulatorControl:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
