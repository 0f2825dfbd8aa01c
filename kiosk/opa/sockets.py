"""Sockets that end a call at its deadline, whatever the server does.

Why: a socket timeout bounds one receive, not a call. A server (or proxy) that trickles its
status line, its headers or its body a byte a second never trips a 15 s read timeout, and
http.client reads the headers inside urllib3, out of the transport's reach. So every socket the
client's pools open is made "bounded": before each receive and each send it sets its own
timeout to what is left of the current call's deadline (never more than the attempt's read
timeout), and past the deadline it raises TimeoutError at once. urllib3 turns that into
ReadTimeoutError, the client into RequestTimeout (an unknown outcome).

The deadline is the calling thread's (a ContextVar set by ``bounded_by`` around one attempt),
on the real monotonic clock: this is I/O, and the socket waits in real time. A kept-alive
connection is used by one call at a time, so the deadline it reads is always its own call's.

What it cannot bound: name resolution (getaddrinfo, bounded by the system resolver's own
timeouts) and the TCP connect and TLS handshake, which are bounded by the attempt's connect
timeout, itself clipped to what is left of the deadline.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import urllib3
import urllib3.connection
import urllib3.connectionpool

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

# (deadline on time.monotonic, longest single wait) for the call running in this context
_BOUND: ContextVar[tuple[float, float] | None] = ContextVar("opa_call_deadline", default=None)


@contextlib.contextmanager
def bounded_by(budget_s: float, per_wait_s: float) -> Iterator[None]:
    """Every socket operation of this thread ends within ``budget_s`` from now."""
    token = _BOUND.set((time.monotonic() + budget_s, per_wait_s))
    try:
        yield
    finally:
        _BOUND.reset(token)


def _arm(sock: socket.socket) -> None:
    bound = _BOUND.get()
    if bound is None:  # used outside a call (urllib3 probing a kept-alive connection)
        return
    deadline, per_wait_s = bound
    remaining_s = deadline - time.monotonic()
    if remaining_s <= 0:
        raise TimeoutError("the call's deadline has passed")
    sock.settimeout(min(per_wait_s, remaining_s))


class BoundedSocket(socket.socket):
    __slots__ = ()

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        _arm(self)
        return super().recv(bufsize, flags)

    def recv_into(self, buffer: WriteableBuffer, nbytes: int = 0, flags: int = 0) -> int:
        _arm(self)
        return super().recv_into(buffer, nbytes, flags)

    def send(self, data: ReadableBuffer, flags: int = 0) -> int:
        _arm(self)
        return super().send(data, flags)

    def sendall(self, data: ReadableBuffer, flags: int = 0) -> None:
        _arm(self)  # CPython's sendall treats the timeout as one total for all the data
        super().sendall(data, flags)


class BoundedSSLSocket(ssl.SSLSocket):
    __slots__ = ()

    def recv(self, buflen: int = 1024, flags: int = 0) -> bytes:
        _arm(self)
        return super().recv(buflen, flags)

    def recv_into(self, buffer: WriteableBuffer, nbytes: int | None = None, flags: int = 0) -> int:
        _arm(self)  # one SSL read waits at most the timeout in total (CPython's _ssl deadline)
        return super().recv_into(buffer, nbytes, flags)

    def send(self, data: ReadableBuffer, flags: int = 0) -> int:
        _arm(self)
        return super().send(data, flags)

    def sendall(self, data: ReadableBuffer, flags: int = 0) -> None:
        _arm(self)
        super().sendall(data, flags)


def bound(sock: Any) -> None:
    """Make a freshly connected socket bounded (same object, same file descriptor).

    Only the exact stdlib classes are converted (their layouts match ours); anything else (a
    TLS-in-TLS transport through an HTTPS proxy) keeps its per-wait timeouts.
    """
    if type(sock) is socket.socket:
        sock.__class__ = BoundedSocket
    elif type(sock) is ssl.SSLSocket:
        sock.__class__ = BoundedSSLSocket


class BoundedHTTPConnection(urllib3.connection.HTTPConnection):
    def connect(self) -> None:
        super().connect()
        bound(self.sock)


class BoundedHTTPSConnection(urllib3.connection.HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        bound(self.sock)


class BoundedHTTPConnectionPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = BoundedHTTPConnection


class BoundedHTTPSConnectionPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = BoundedHTTPSConnection


def use_bounded_pools(manager: urllib3.PoolManager) -> urllib3.PoolManager:
    """Make every connection ``manager`` opens from now on bounded; returns it."""
    manager.pool_classes_by_scheme = {
        "http": BoundedHTTPConnectionPool,
        "https": BoundedHTTPSConnectionPool,
    }
    return manager
