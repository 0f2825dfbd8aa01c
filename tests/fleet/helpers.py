"""Test helpers: a listener that records what reaches the broker, kiosk journals, and waits on
the broker's own answers (CONNACK, SUBACK, PUBACK) with deadlines that name what they waited for.

Why: the machine running the suite may be loaded (CI, other jobs); a test must wait on the real
event, never on a fixed sleep, and a deadline is generous because it is a safety net, not a
speed claim."""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from kiosk.engine.journal import Journal
from kiosk.fleet.outbox import OutboxSink
from tests.waiting import DEADLINE_S
from tests.waiting import wait_until as wait_until  # the fleet tests import it from here

_ids = itertools.count(1)
T = TypeVar("T")


def next_item(q: queue.Queue[T], what: str, timeout_s: float = DEADLINE_S) -> T:
    """The next item a callback put in `q`; fails naming `what` when none comes in time."""
    try:
        return q.get(timeout=timeout_s)
    except queue.Empty:
        raise AssertionError(f"{what}: nothing within {timeout_s} s") from None


def acknowledged(info: mqtt.MQTTMessageInfo, what: str, timeout_s: float = DEADLINE_S) -> None:
    """Wait for the broker's PUBACK of a QoS 1 publish (`wait_for_publish` alone returns
    silently at its deadline); fails naming `what`."""
    try:
        info.wait_for_publish(timeout_s)
    except (RuntimeError, ValueError) as exc:
        raise AssertionError(f"{what}: {exc}") from exc
    if not info.is_published():
        raise AssertionError(f"{what}: the broker did not acknowledge it within {timeout_s} s")


def counter_keys(prefix: str) -> Callable[[], str]:
    numbers = itertools.count(1)
    return lambda: f"{prefix}-{next(numbers)}"


def fleet_journal(path: Path, prefix: str = "k") -> Journal:
    return Journal(path, facts=OutboxSink(counter_keys(prefix)))


class Listener:
    """Subscribes to `topic` before returning; keeps every message (topic, payload)."""

    def __init__(self, port: int, topic: str) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        ready: queue.Queue[int] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"listener-{next(_ids)}")
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda c, u, mid, rc, p: ready.put(mid)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.client.subscribe(topic, qos=1)
        next_item(ready, f"the broker's SUBACK for {topic}")

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, msg.payload, bool(msg.retain)))

    def snapshot(self) -> list[tuple[str, bytes, bool]]:
        with self._lock:
            return list(self.messages)

    def wait_for(
        self, check: Callable[[list[tuple[str, bytes, bool]]], bool], timeout_s: float = 30
    ) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if check(self.snapshot()):
                return
            time.sleep(0.02)
        raise AssertionError(f"not seen within {timeout_s} s; got {len(self.snapshot())} messages")

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
