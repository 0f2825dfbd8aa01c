"""The ``/_sim/`` control API: act as the customer, inject faults, move the clock, read the ledger.

Why over HTTP (not only in process): a kiosk under test may run in another process (crash
tests, the chaos runner, a merchant's QA), and the same calls then work from anywhere.
Enabled only with ``control=True``; answers use PayPay's envelope so one client parses both.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from typing import TYPE_CHECKING, Any

from kiosk.simulator import envelope as err
from kiosk.simulator.envelope import ApiError, success_body
from kiosk.simulator.faults import parse_fault
from kiosk.simulator.routes import Reply

if TYPE_CHECKING:
    from kiosk.simulator.app import Simulator

log = logging.getLogger(__name__)
CODE_ACTION = re.compile(r"^/_sim/codes/(?P<code_id>[^/]+)/(?P<action>pay|decline|expire)$")
PAY_BY_MPID = re.compile(r"^/_sim/payments/(?P<mpid>[^/]+)/(?P<action>pay|decline)$")
CONFIRM_CAPTURE = re.compile(r"^/_sim/payments/(?P<mpid>[^/]+)/confirm_capture$")
MAX_DELAY_S = 3600.0


def _json(raw: bytes) -> Any:
    if not raw.strip():
        return {}
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ApiError(err.INVALID_REQUEST_PARAMS, "body is not JSON") from None


def _number(body: Any, key: str, default: float | None = None) -> float | None:
    if not isinstance(body, dict):
        raise ApiError(err.INVALID_REQUEST_PARAMS, "body must be a JSON object")
    value = body.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ApiError(err.INVALID_REQUEST_PARAMS, f"{key} must be a number")
    if abs(value) > 1e12:  # also keeps float() away from huge ints
        raise ApiError(err.INVALID_REQUEST_PARAMS, f"{key} is out of range")
    return float(value)


def _customer(sim: Simulator, code_id: str, action: str, body: Any) -> Reply:
    from urllib.parse import unquote

    code_id = unquote(code_id)
    if action == "expire":
        sim.ledger.expire(code_id, sim.now())
        return Reply(200, success_body(None))
    decline = action == "decline"
    delay_s = _number(body, "after_s")
    if delay_s:
        if not 0 < delay_s <= MAX_DELAY_S or sim.ledger.code_by_id(code_id) is None:
            raise ApiError(err.INVALID_REQUEST_PARAMS, "unknown code or after_s out of range")
        timer = threading.Timer(delay_s, _pay_later, args=(sim, code_id, decline))
        timer.daemon = True
        timer.start()
        return Reply(202, success_body({"codeId": code_id, "after_s": delay_s}, accepted=True))
    payment = sim.ledger.pay(code_id, sim.now(), decline=decline)
    return Reply(200, success_body({"paymentId": payment.payment_id, "status": payment.status}))


def _pay_later(sim: Simulator, code_id: str, decline: bool) -> None:
    try:
        sim.ledger.pay(code_id, sim.now(), decline=decline)
    except ApiError as error:
        log.info("delayed pay skipped code_id=%s reason=%s", code_id, error.spec.code)


def _faults(sim: Simulator, method: str, body: Any) -> Reply:
    if method == "DELETE":
        sim.faults.clear()
    elif method == "POST":
        try:
            faults = [parse_fault(f) for f in (body if isinstance(body, list) else [body])]
        except (TypeError, ValueError) as error:
            raise ApiError(err.INVALID_REQUEST_PARAMS, str(error)) from None
        for fault in faults:
            sim.faults.add(fault)
    elif method != "GET":
        raise ApiError(err.METHOD_NOT_ALLOWED)
    return Reply(200, success_body({"faults": sim.faults.listing(), "fired": sim.faults.fired}))


def _clock(sim: Simulator, method: str, body: Any) -> Reply:
    if method == "POST":
        advance_s = _number(body, "advance_s", 0.0) or 0.0
        if not 0 <= advance_s <= 10 * 366 * 86_400:
            raise ApiError(
                err.INVALID_REQUEST_PARAMS, "advance_s must be >= 0 (time only moves on)"
            )
        with sim.ledger.lock:
            sim.ledger.clock_offset_s += advance_s
            sim.ledger.on_change()
    elif method != "GET":
        raise ApiError(err.METHOD_NOT_ALLOWED)
    data = {"now": sim.now(), "wall": sim.config.wall(), "offset_s": sim.ledger.clock_offset_s}
    return Reply(200, success_body(data))


def handle_control(sim: Simulator, method: str, path: str, raw: bytes) -> Reply:
    body = _json(raw)
    if match := CODE_ACTION.match(path):
        _post_only(method)
        return _customer(sim, match["code_id"], match["action"], body)
    if match := PAY_BY_MPID.match(path):
        _post_only(method)
        from urllib.parse import unquote

        with sim.ledger.lock:
            code = sim.ledger.codes.get(unquote(match["mpid"]))
        if code is None:
            raise ApiError(err.DYNAMIC_QR_PAYMENT_NOT_FOUND)
        return _customer(sim, code.code_id, match["action"], body)
    if match := CONFIRM_CAPTURE.match(path):
        _post_only(method)
        from urllib.parse import unquote

        data = sim.ledger.confirm_capture(unquote(match["mpid"]), sim.now())
        return Reply(200, success_body(data))
    if path == "/_sim/faults":
        return _faults(sim, method, body)
    if path == "/_sim/clock":
        return _clock(sim, method, body)
    if path == "/_sim/ledger" and method == "GET":
        return Reply(200, success_body(sim.snapshot()))
    raise ApiError(err.NOT_FOUND_PATH)


def _post_only(method: str) -> None:
    if method != "POST":
        raise ApiError(err.METHOD_NOT_ALLOWED)
