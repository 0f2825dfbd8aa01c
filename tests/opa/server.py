"""A small PayPay-like HTTP server for client tests: real sockets, signatures verified.

Why: the client is tested over real HTTP, never against mocks of our own code. This server
verifies every request with ``kiosk.opa.signing.verify`` (as PayPay does), records what it
saw, counts TCP connections (keep-alive), and answers as each test scripts it: any status and
body, a delay, never answering, dropping the connection, a gateway's HTML page, a Date header.
It also stands in for the endpoints the project's simulator does not model.

Hostile on request: headers or body trickled a byte at a time, a body of any size streamed
without being built in memory, a connection reset (RST) mid-body, no Content-Type at all.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from kiosk.opa import signing

KEY = "test_key"
SECRET = "test_secret_not_for_production"
SUCCESS = {"code": "SUCCESS", "message": "Success", "codeId": "08100001"}


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict -> JSON; str/bytes sent as they are; None -> echo envelope
    content_type: str | None = "application/json"  # None: no Content-Type header at all
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    hang: bool = False  # read the request, never answer (until the server stops)
    drop: bool = False  # read the request, close the connection without a word
    date: str | None = None  # the Date header; None: the real current time
    trickle_s: float = 0.0  # send the body one byte at a time, this far apart
    cut_body: bool = False  # send the headers and half the body, then close the connection
    trickle_headers_s: float = 0.0  # send the status line and headers a byte at a time too
    reset_body: bool = False  # send the headers and half the body, then reset (RST) the socket
    stream: tuple[bytes, int] | None = None  # the body: this chunk repeated n times (no copy)
    raw: bytes | None = None  # send exactly these bytes as the whole answer (then hang?), close


def envelope(code: str, code_id: str, message: str = "", data: Any = None) -> dict[str, Any]:
    return {"resultInfo": {"code": code, "message": message, "codeId": code_id}, "data": data}


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: str
    auth_error: str | None


def echo(seen: Seen) -> Reply:
    """The default answer: success, with what the server received as ``data``."""
    data = {
        "method": seen.method,
        "path": seen.path,
        "query": seen.query,
        "body": json.loads(seen.body) if seen.body else None,
    }
    return Reply(201 if seen.method == "POST" else 200, {"resultInfo": SUCCESS, "data": data})


class OpaTestServer:
    def __init__(self, *, now_epoch: Callable[[], int] | None = None) -> None:
        self.now_epoch = now_epoch or (lambda: int(time.time()))
        self.secret_for_key = {KEY: SECRET}
        self.responder: Callable[[Seen], Reply] = echo
        self.seen: list[Seen] = []
        self.connections = 0
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> OpaTestServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def queue(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, in order, then go back to the responder."""
        with self._lock:
            self._replies.extend(replies)

    def next_reply(self, seen: Seen) -> Reply:
        with self._lock:
            self.seen.append(seen)
            queued = self._replies.popleft() if self._replies else None
        if seen.auth_error is not None:
            return Reply(401, envelope("UNAUTHORIZED", "08100016", "Unauthorized request"))
        reply = queued or self.responder(seen)
        if reply.body is None:
            reply = replace(reply, body=echo(seen).body)
        return reply

    def count_connection(self) -> None:
        with self._lock:
            self.connections += 1


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # many clients at once (the deadline tests): no backlog resets
    daemon_threads = True
    block_on_close = False
    owner: OpaTestServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 20  # an idle kept-alive connection ends on its own
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass

    def setup(self) -> None:
        super().setup()
        # headers and body go out in two writes: without this, Nagle + delayed ACK add 40 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.owner.count_connection()

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8") if length else ""
        parts = urlsplit(self.path)
        auth_error = None
        try:
            signing.verify(
                header=self.headers.get("Authorization", ""),
                secret_for_key=owner.secret_for_key,
                method=self.command,
                path=parts.path,
                content_type_header=self.headers.get("Content-Type"),
                body=body,
                now_epoch=owner.now_epoch(),
            )
        except ValueError as exc:
            auth_error = str(exc)
        seen = Seen(
            self.command,
            parts.path,
            parts.query,
            {k.lower(): v for k, v in self.headers.items()},
            body,
            auth_error,
        )
        self._answer(owner, owner.next_reply(seen))

    def _answer(self, owner: OpaTestServer, reply: Reply) -> None:
        if reply.raw is not None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self._send(owner, reply.raw, reply.trickle_s)
                if reply.hang:  # the bytes, then silence
                    owner.stopping.wait(30)
            return
        if reply.hang:
            owner.stopping.wait(30)
            self.close_connection = True
            return
        if reply.drop:
            self.close_connection = True
            return
        if reply.delay_s:
            owner.stopping.wait(reply.delay_s)
        payload = _payload(reply)
        length = len(payload) if reply.stream is None else len(reply.stream[0]) * reply.stream[1]
        head = [f"HTTP/1.1 {reply.status} {_reason(reply.status)}"]
        head.append(f"Date: {reply.date or formatdate(usegmt=True)}")
        if reply.content_type is not None:
            head.append(f"Content-Type: {reply.content_type}")
        head.append(f"Content-Length: {length}")
        head += [f"{name}: {value}" for name, value in reply.headers.items()]
        header_bytes = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        try:
            self._send(owner, header_bytes, reply.trickle_headers_s)
            if reply.cut_body or reply.reset_body:
                self.wfile.write(payload[: len(payload) // 2])
                self.wfile.flush()
                if reply.reset_body:  # SO_LINGER 0: close sends RST, not FIN
                    linger = struct.pack("ii", 1, 0)
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                self.close_connection = True
                return
            if reply.stream is not None:
                chunk, count = reply.stream
                for _ in range(count):
                    self.wfile.write(chunk)
                return
            self._send(owner, payload, reply.trickle_s)
        except OSError:  # the client gave up and closed the connection
            self.close_connection = True

    def _send(self, owner: OpaTestServer, data: bytes, trickle_s: float) -> None:
        if not trickle_s:
            self.wfile.write(data)
            return
        for index in range(len(data)):
            self.wfile.write(data[index : index + 1])
            self.wfile.flush()
            if owner.stopping.wait(trickle_s):
                self.close_connection = True
                return


def _payload(reply: Reply) -> bytes:
    if isinstance(reply.body, dict | list):
        return json.dumps(reply.body).encode()
    if isinstance(reply.body, str):
        return reply.body.encode()
    return reply.body or b""


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Whatever"
