"""The relay's HTTP server: PayPay's paths for kiosks, and PayPay's webhook endpoint.

Why its own server (not the status page's): it answers machines, on its own port (behind TLS
termination in production), and its per-call work is only what the relay decides; keep-alive
(HTTP/1.1) so a kiosk's pool reuses its connection. Bodies over 64 KiB are refused unread.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from kiosk.fleet.relay.relay import Incoming, Relay, Reply
from kiosk.fleet.relay.webhooks import Confirmer, Network, allowed, merchant_order_id

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/webhooks/paypay"
MAX_BODY = 64 * 1024


class RelayServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(
        self,
        address: tuple[str, int],
        relay: Relay,
        confirmer: Confirmer | None,
        sources: Sequence[Network],
    ) -> None:
        self.relay = relay
        self.confirmer = confirmer
        self.sources = tuple(sources)
        super().__init__(address, _Handler)

    def webhook(self, client: str, body: bytes) -> Reply:
        if self.confirmer is None:
            return Reply(404, "text/plain", b"no webhook endpoint\n")
        if not allowed(client, self.sources):
            log.warning("relay webhook refused: source %s is not configured", client)
            return Reply(403, "text/plain", b"source not allowed\n")
        try:
            mpid = merchant_order_id(body)
        except ValueError as exc:
            log.warning("relay webhook unreadable from %s: %s", client, exc)
            return Reply(400, "text/plain", f"{exc}\n".encode())
        self.confirmer.hint(mpid)
        return Reply(200, "application/json", b"{}")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 64 * 1024  # the answer leaves in one write when the request is done
    server: RelayServer

    def log_message(self, format: str, *args: object) -> None:
        pass  # every decision is logged by the relay itself, without headers

    def _serve(self) -> None:
        length_text = self.headers.get("Content-Length") or "0"
        if not length_text.isdigit() or int(length_text) > MAX_BODY:
            self._send(Reply(413, "text/plain", b"body too large\n"), close=True)
            return
        body = self.rfile.read(int(length_text))
        path = self.path
        if self.command == "POST" and path.split("?", 1)[0] == WEBHOOK_PATH:
            self._send(self.server.webhook(self.client_address[0], body))
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = Incoming(self.command, path, headers, body)
        self._send(self.server.relay.handle(request))

    do_GET = do_POST = do_DELETE = _serve

    def setup(self) -> None:
        super().setup()
        # a small answer must not wait for the client's delayed ACK (Nagle): ~40 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _send(self, reply: Reply, close: bool = False) -> None:
        self.send_response(reply.status)
        if reply.content_type:
            self.send_header("Content-Type", reply.content_type)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(reply.body)  # buffered (wbufsize): sent with the headers at the end
