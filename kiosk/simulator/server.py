"""The simulator's HTTP server: one request, one answer, in PayPay's envelope.

Why stdlib http.server: no dependency, real sockets, HTTP/1.1 keep-alive, a thread per
connection. Invariants: every answer carries Content-Length and a Date header from the
simulator's wall clock (kiosks check their clock against it); bad input never produces a 5xx
(only an injected fault or a bug can); the body is read in full or the connection is closed,
so keep-alive framing never breaks.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from kiosk.opa.signing import verify
from kiosk.simulator import envelope as err
from kiosk.simulator.envelope import ApiError, dumps
from kiosk.simulator.faults import Fault
from kiosk.simulator.routes import ROUTES, Call, Context, Reply, find, merchant_payment_id_of

if TYPE_CHECKING:
    from kiosk.simulator.app import Simulator

log = logging.getLogger(__name__)
JSON_TYPE = "application/json;charset=UTF-8"


class SimServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], sim: Simulator) -> None:
        self.sim = sim
        self.open_sockets: set[socket.socket] = set()
        super().__init__(address, Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.open_sockets.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection that broke mid-answer: log it, never print a traceback to stderr."""
        log.debug("connection error client=%s", client_address, exc_info=True)

    def close_all(self) -> None:
        for sock in list(self.open_sockets):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 120  # idle keep-alive connections close after this long (kiosks poll every 4 s)
    server: SimServer
    server_version = "PayPaySimulator/1"

    # ---- stdlib hooks ---------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http %s", format % args)

    def date_time_string(self, timestamp: float | None = None) -> str:
        wall = self.server.sim.config.wall()
        return formatdate(wall if timestamp is None else timestamp, usegmt=True)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed requests the stdlib rejects itself: answer in the envelope, never a 5xx."""
        status = 405 if code == 501 else (400 if code >= 500 else code)
        self.close_connection = True
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            self.request_version = "HTTP/1.0"  # answer with a status line even to garbage
        text = message or "Bad request"
        self._send(status, err.error_body("INVALID_REQUEST_PARAMS", text, "08100006"))

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    # ---- sending --------------------------------------------------------------------------
    def _send(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        self.send_bytes(status, dumps(body), JSON_TYPE, headers)

    def send_bytes(
        self, status: int, payload: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)

    def _drop(self) -> None:
        """Close the connection without a byte of answer (the "response lost" fault)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    # ---- reading --------------------------------------------------------------------------
    def _read_body(self) -> bytes | None:
        """The request body, or None after answering an error (the connection then closes)."""
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            self._send(411, ApiError(err.LENGTH_REQUIRED).body())
            return None
        length_text = self.headers.get("Content-Length", "0").strip() or "0"
        if not length_text.isdigit():
            self.close_connection = True
            self._send(400, ApiError(err.INVALID_REQUEST_PARAMS, "bad Content-Length").body())
            return None
        length = int(length_text)
        if length > self.server.sim.config.max_body_bytes:
            self.close_connection = True
            self._send(413, ApiError(err.BODY_TOO_LARGE).body())
            return None
        return self.rfile.read(length) if length else b""

    # ---- dispatch -------------------------------------------------------------------------
    def _dispatch(self) -> None:
        raw = self._read_body()
        if raw is None:
            return
        split = urlsplit(self.path)
        path = split.path
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        sim = self.server.sim
        try:
            if path.startswith("/_sim/") or path == "/_sim":
                if not sim.config.control:
                    raise ApiError(err.NOT_FOUND_PATH)
                if path == "/_sim/" and self.command == "GET":
                    from kiosk.simulator.paypage import dashboard

                    page = dashboard(sim).encode("utf-8")
                    self.send_bytes(200, page, "text/html; charset=utf-8")
                    return
                from kiosk.simulator.control_api import handle_control

                reply = handle_control(sim, self.command, path, raw)
                self._send(reply.status, reply.body)
                return
            if path.startswith("/qr/"):
                from kiosk.simulator.paypage import handle_pay_page

                status, html = handle_pay_page(sim, self.command, path, raw)
                self.send_bytes(status, html.encode("utf-8"), "text/html; charset=utf-8")
                return
            self._api(path, query, raw)
        except ApiError as error:
            self._send(error.spec.status, error.body())
        except ConnectionError:  # the client left (e.g. its timeout) before the answer
            self.close_connection = True
            log.debug("client gone method=%s path=%s", self.command, path)
        except Exception:
            log.exception("simulator bug method=%s path=%s", self.command, path)
            self._send(500, ApiError(err.INTERNAL_SERVER_ERROR).body())

    def _authenticate(self, path: str, query: dict[str, str], raw: bytes) -> None:
        sim = self.server.sim
        config = sim.config
        try:
            body_text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(err.INVALID_REQUEST_PARAMS, "body is not UTF-8") from None
        try:
            verify(
                header=self.headers.get("Authorization", ""),
                secret_for_key={config.api_key: config.api_secret},
                method=self.command,
                path=path,
                content_type_header=self.headers.get("Content-Type"),
                body=body_text,
                now_epoch=int(config.wall()),
                max_skew_s=config.max_skew_s,
            )
        except ValueError as error:
            log.info("auth rejected path=%s reason=%s", path, error)
            raise ApiError(err.UNAUTHORIZED) from None
        merchant = query.get("assumeMerchant", self.headers.get("X-ASSUME-MERCHANT", ""))
        if merchant and merchant != config.merchant_id:
            raise ApiError(err.UNAUTHORIZED)
        if not merchant and config.require_merchant:
            raise ApiError(err.UNAUTHORIZED)

    def _api(self, path: str, query: dict[str, str], raw: bytes) -> None:
        sim = self.server.sim
        route, params = find(ROUTES + sim.extra_routes, self.command, path)
        self._authenticate(path, query, raw)
        sim.count_request(route.endpoint)
        if route.endpoint == "create_code" and (mpid := merchant_payment_id_of(raw)):
            sim.ledger.note_create_attempt(mpid)
        fault = sim.faults.take(route.endpoint)
        if fault is not None and fault.latency_s:
            time.sleep(fault.latency_s)
        error = fault.error() if fault is not None else None
        applied = fault is not None and fault.applied
        if error is not None and not applied:
            log.info("fault endpoint=%s status=%s", route.endpoint, error.status)
            self._send_fault(fault, error)
            return
        context = Context(ledger=sim.ledger, expiry_s=sim.config.expiry_s, qr_base=sim.qr_base)
        call = Call(params=params, query=query, raw=raw, now=sim.now())
        try:
            reply = route.handler(context, call)
        except ApiError as api_error:
            reply = Reply(api_error.spec.status, api_error.body())
        if fault is not None and fault.drop_response:
            log.info("fault endpoint=%s drop_response", route.endpoint)
            self._drop()
            return
        if error is not None:
            self._send_fault(fault, error)
            return
        if fault is not None and fault.data and isinstance(reply.body.get("data"), dict):
            log.info("fault endpoint=%s data=%s", route.endpoint, sorted(fault.data))
            reply = Reply(reply.status, reply.body | {"data": reply.body["data"] | fault.data})
        self._send(reply.status, reply.body)

    def _send_fault(self, fault: Fault | None, error: err.ErrorSpec) -> None:
        if fault is not None and not fault.envelope:  # a proxy's page: no envelope at all
            self.send_bytes(error.status, fault.proxy_page(), "text/html")
            return
        self._send(error.status, ApiError(error).body())
