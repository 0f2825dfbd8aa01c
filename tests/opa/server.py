"""A small PayPay-like HTTP server for client tests: real sockets, signatures verified.

Why: the client is tested over real HTTP, never against mocks of our own code. This server
verifies every request with ``kiosk.opa.signing.verify`` (as PayPay does), records what it
saw, counts TCP connections (keep-alive), and answers as each test scripts it: any status and
body, a delay, never answering, dropping the connection, a gateway's HTML page, a Date header.
It also stands in for the endpoints the project's simulator does not model.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from email.utils import formatdate
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
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    hang: bool = False  # read the request, never answer (until the server stops)
    drop: bool = False  # read the request, close the connection without a word
    date: str | None = None  # the Date header; None: the real current time
    trickle_s: float = 0.0  # send the body one byte at a time, this far apart
    cut_body: bool = False  # send the headers and half the body, then close the connection


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
        if reply.hang:
            owner.stopping.wait(30)
            self.close_connection = True
            return
        if reply.drop:
            self.close_connection = True
            return
        if reply.delay_s:
            owner.stopping.wait(reply.delay_s)
        if isinstance(reply.body, dict | list):
            payload = json.dumps(reply.body).encode()
        elif isinstance(reply.body, str):
            payload = reply.body.encode()
        else:
            payload = reply.body or b""
        self.send_response_only(reply.status)
        self.send_header("Date", reply.date or formatdate(usegmt=True))
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if reply.cut_body:
            self.wfile.write(payload[: len(payload) // 2])
            self.close_connection = True
            return
        if not reply.trickle_s:
            self.wfile.write(payload)
            return
        try:
            for index in range(len(payload)):
                self.wfile.write(payload[index : index + 1])
                self.wfile.flush()
                if owner.stopping.wait(reply.trickle_s):
                    break
        except OSError:  # the client gave up and closed the connection
            self.close_connection = True
