"""The deadline holds over TLS too, the way PayPay is reached in production.

A local HTTPS server (a throwaway self-signed certificate made with the openssl command for
127.0.0.1) answers a first call normally, then trickles the next answer's status line a byte
every 0.3 s. The client's urllib3 transport trusts that certificate (and nothing else); the
call must end by its deadline with RequestTimeout, through the same bounded sockets.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import urllib3

from kiosk import opa
from kiosk.opa import sockets
from kiosk.opa.http_transport import Urllib3Transport
from tests.opa.conftest import FakeTime
from tests.opa.server import KEY, SECRET

ANSWER = b'{"resultInfo":{"code":"SUCCESS","codeId":"08100001"},"data":{"status":"CREATED"}}'
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    command += ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"]
    command += ["-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(
        command,
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[int]:
    """Answers the first request on each connection at once, the second a byte at a time."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve(conn: ssl.SSLSocket) -> None:
        with conn:
            for index in range(2):
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    request += chunk
                reply = HEAD % len(ANSWER) + ANSWER
                if index == 0:
                    conn.sendall(reply)
                    continue
                for byte in reply:
                    if stop.wait(0.3):
                        return
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        return

    def accept() -> None:
        while not stop.is_set():
            try:
                raw, _ = listener.accept()
                conn = context.wrap_socket(raw, server_side=True)
            except OSError:
                continue
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    listener.settimeout(0.2)
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(5)
    listener.close()


def test_a_trickled_answer_over_tls_ends_by_the_deadline(
    tls_server: int, certificate: tuple[Path, Path], fake_time: FakeTime
) -> None:
    http = Urllib3Transport()
    trusted = ssl.create_default_context(cafile=str(certificate[0]))
    http.pool_manager = sockets.use_bounded_pools(urllib3.PoolManager(ssl_context=trusted))
    client = opa.Client(
        auth=(KEY, SECRET),
        base_url=f"https://127.0.0.1:{tls_server}",
        http=http,
        clock=fake_time.clock,
        retry=opa.RetryPolicy(max_total_s=1.5),
    )
    with client:
        assert client.typed.get_qr_payment_details("M1").status == "CREATED"  # TLS works
        started = time.monotonic()
        with pytest.raises(opa.RequestTimeout):
            client.Code.get_payment_details("M1")  # same kept-alive TLS connection, trickled
        elapsed_s = time.monotonic() - started
    assert elapsed_s < 1.5 + 1.5  # the deadline plus scheduling slack; unbounded it took 20 s
