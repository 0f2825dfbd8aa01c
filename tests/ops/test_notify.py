"""sd_notify over a real AF_UNIX datagram socket, by path and by abstract name."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.ops.notify import Notifier, socket_address


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(5)
    yield sock, str(path)
    sock.close()


def test_ready_with_status_is_one_datagram(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    notifier = Notifier.from_env({"NOTIFY_SOCKET": path}, pid=os.getpid())
    assert notifier.ready("idle: waiting\nfor a customer") is True
    assert sock.recv(4096) == b"READY=1\nSTATUS=idle: waiting for a customer"


def test_every_helper_sends_its_field(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    notifier = Notifier(path)
    notifier.watchdog()
    notifier.status("awaiting_payment KIOSK-1")
    notifier.extend_timeout(20)
    notifier.stopping("deleting QR")
    notifier("READY=1")
    received = [sock.recv(4096) for _ in range(5)]
    assert received == [
        b"WATCHDOG=1",
        b"STATUS=awaiting_payment KIOSK-1",
        b"EXTEND_TIMEOUT_USEC=20000000",
        b"STOPPING=1\nSTATUS=deleting QR",
        b"READY=1",
    ]


def test_abstract_socket_name() -> None:
    name = f"kiosk-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(5)
    try:
        assert socket_address("@" + name) == "\0" + name
        assert Notifier.from_env({"NOTIFY_SOCKET": "@" + name}, pid=1).watchdog() is True
        assert sock.recv(4096) == b"WATCHDOG=1"
    finally:
        sock.close()


def test_without_notify_socket_nothing_is_sent() -> None:
    notifier = Notifier.from_env({}, pid=os.getpid())
    assert notifier.enabled is False
    assert notifier.ready() is False


def test_missing_socket_is_logged_once_and_never_raises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = Notifier(str(tmp_path / "gone.sock"))
    assert notifier.watchdog() is False
    assert notifier.watchdog() is False
    warnings = [r.getMessage() for r in caplog.records if r.name == "kiosk.ops.notify"]
    assert warnings == ["sd_notify failed error=FileNotFoundError"]


def test_watchdog_interval_is_half_the_timeout_and_only_for_our_pid() -> None:
    env = {"NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "42"}
    assert Notifier.from_env(env, pid=42).watchdog_interval_s == 15.0
    assert Notifier.from_env(env, pid=43).watchdog_interval_s is None
    assert Notifier.from_env({"WATCHDOG_USEC": "0"}, pid=1).watchdog_interval_s is None
