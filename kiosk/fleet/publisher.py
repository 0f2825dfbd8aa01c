"""The kiosk's fleet publisher: drains the outbox to the broker with QoS 1.

Why / invariants:
- a row is marked sent only when the broker's PUBACK for it arrived; until then it stays in the
  journal, so a broker outage, a lost connection or a kiosk restart loses nothing (a row sent
  but not yet acknowledged when the kiosk died is sent again: the hub's ledger ignores the
  duplicate by its key);
- at most `max_rate_per_s` messages a second and `inflight` unacknowledged ones, so a backlog
  after an outage drains steadily instead of in one burst a broker may throttle or drop;
- its own thread and its own SQLite connection: the engine and the screen never wait for the
  network; a failure here is logged and retried, never raised into the sale;
- the retained status topic says online on every connect, and the last will says offline.
"""

from __future__ import annotations

import json
import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from kiosk.fleet.outbox import OutboxReader
from kiosk.fleet.schema import (
    KIND_HEALTH,
    KIND_REPLY,
    SCHEMA,
    Command,
    PayloadError,
    Topics,
    parse_command,
)

log = logging.getLogger(__name__)
Record = Callable[[str, dict[str, Any], float], None]  # Journal.record_fact
Health = Callable[[], dict[str, Any]]
OnCommand = Callable[[bytes], None]


@dataclass(frozen=True)
class BrokerSettings:
    url: str  # mqtt://host:port or mqtts://host:port
    kiosk: str
    prefix: str = "kiosk"
    username: str = ""
    password: str = field(default="", repr=False)
    ca_file: str = ""  # mqtts: the CA that signed the broker's certificate (empty: system CAs)
    max_rate_per_s: float = 20.0
    inflight: int = 20
    health_s: float = 30.0
    keep_s: float = 7 * 86400.0
    keepalive_s: int = 30


def broker_address(url: str) -> tuple[str, int, bool]:
    """(host, port, tls) of an mqtt:// or mqtts:// URL; ValueError naming what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError(f"broker URL {url!r} is not mqtt://host[:port] or mqtts://host[:port]")
    if parts.username or parts.password:
        raise ValueError("broker URL must not carry a user or password (use the credentials)")
    tls = parts.scheme == "mqtts"
    return parts.hostname, parts.port or (8883 if tls else 1883), tls


def status_payload(kiosk: str, online: bool, at: float) -> bytes:
    body = {"schema": SCHEMA, "kiosk": kiosk, "online": online, "at": at}
    return json.dumps(body, sort_keys=True).encode()


class TokenBucket:
    """At most `rate` a second on average, bursts of at most `rate` (one second's worth)."""

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self.tokens = min(rate, 1.0)
        self.at = now

    def take(self, now: float, want: int) -> int:
        self.tokens = min(max(self.rate, 1.0), self.tokens + (now - self.at) * self.rate)
        self.at = now
        granted = min(want, int(self.tokens))
        self.tokens -= granted
        return granted


class Publisher:
    def __init__(
        self,
        settings: BrokerSettings,
        reader: OutboxReader,
        *,
        record: Record,
        health: Health,
        on_command: OnCommand | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        tick_s: float = 0.05,
    ) -> None:
        self.settings = settings
        self.reader = reader
        self.record = record
        self.health = health
        self.on_command = on_command
        self.clock = clock
        self.monotonic = monotonic
        self.tick_s = tick_s
        self.topics = Topics(settings.prefix)
        self.connected = threading.Event()
        self.sent = 0  # rows acknowledged by the broker since start (tests and bench read it)
        self._acks: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._replays: queue.SimpleQueue[tuple[int, int]] = queue.SimpleQueue()
        self._inflight: dict[int, int] = {}  # mid -> seq, publisher thread only
        self._cursor = 0  # highest seq handed to the client
        self._stop = threading.Event()
        self._wake = threading.Event()  # an acknowledgement arrived
        self._closing = threading.Event()  # no more snapshots: stopping
        self._drained = threading.Event()  # closing, and nothing left unsent
        self._bucket = TokenBucket(settings.max_rate_per_s, monotonic())
        self._next_health = 0.0
        self._next_prune = 0.0
        self._client = self._make_client()
        self._thread = threading.Thread(target=self._run, name="fleet-publisher", daemon=True)

    # ---- life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        host, port, _ = broker_address(self.settings.url)
        self._client.connect_async(host, port, keepalive=self.settings.keepalive_s)
        self._client.loop_start()
        self._thread.start()

    def stop(self, timeout_s: float = 5.0, drain_s: float = 0.0) -> None:
        """Stop taking snapshots, send what is unsent for up to `drain_s` (while connected),
        say offline (retained) and disconnect; rows still unsent wait for the next start."""
        self._closing.set()
        if drain_s > 0 and self.connected.is_set():
            self._drained.wait(drain_s)
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout_s)
        if self.connected.is_set():
            status = self.topics.of(self.settings.kiosk, "status")
            info = self._client.publish(
                status, status_payload(self.settings.kiosk, False, self.clock()), 1, True
            )
            try:
                info.wait_for_publish(min(timeout_s, 2.0))
            except (RuntimeError, ValueError) as exc:
                log.warning("fleet offline status not sent error=%s", exc)
        self._client.disconnect()
        self._client.loop_stop()
        self.reader.close()

    def kill(self) -> None:
        """Stop without a goodbye (tests: the broker sends the last will)."""
        self._stop.set()
        self._wake.set()
        self._thread.join(5)
        self._client.loop_stop()
        sock = self._client.socket()
        if sock is not None:
            sock.close()
        self.reader.close()

    # ---- paho ---------------------------------------------------------------------------------

    def _make_client(self) -> mqtt.Client:
        s = self.settings
        _, _, tls = broker_address(s.url)
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"kiosk-{s.kiosk}", clean_session=True
        )
        if s.username:
            client.username_pw_set(s.username, s.password or None)
        if tls:
            client.tls_set(ca_certs=s.ca_file or None)
        status = self.topics.of(s.kiosk, "status")
        client.will_set(status, status_payload(s.kiosk, False, 0.0), qos=1, retain=True)
        client.max_inflight_messages_set(max(1, s.inflight))
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(1, 30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        return client

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            log.warning("fleet broker refused the connection reason=%s", reason)
            return
        kiosk = self.settings.kiosk
        client.publish(
            self.topics.of(kiosk, "status"), status_payload(kiosk, True, self.clock()), 1, True
        )
        client.subscribe(self.topics.of(kiosk, "commands"), qos=1)
        self.connected.set()
        log.info("fleet broker connected url=%s kiosk=%s", self.settings.url, kiosk)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if self.connected.is_set() and not self._closing.is_set():
            log.warning("fleet broker disconnected reason=%s", reason)
        self.connected.clear()

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._acks.put(mid)
        self._wake.set()  # the row is marked sent now, not at the next pass

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        payload = bytes(message.payload)
        try:
            command = parse_command(payload)
        except PayloadError:
            command = None  # the kiosk's handler rejects it with the reason
        try:
            if command is not None and command.kind == "replay":
                self._replay_command(command)
            elif self.on_command is not None:
                self.on_command(payload)
        except Exception:
            log.exception("fleet command handler failed")

    def _replay_command(self, command: Command) -> None:
        """The hub misses rows: send them again (touches no sale, fine at any time)."""
        log.info("fleet command received id=%s kind=replay", command.command_id)
        self.replay(command.from_seq, command.to_seq)
        data = {"command_id": command.command_id, "result": "applied", "reason": ""}
        self.record(KIND_REPLY, data, self.clock())

    # ---- the publisher thread ---------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._once()
            except Exception:  # never stop publishing for good; the rows are still there
                log.exception("fleet publisher pass failed")
                self._stop.wait(1.0)
            self._wake.wait(self.tick_s)
            self._wake.clear()

    def replay(self, from_seq: int, to_seq: int) -> None:
        """Send rows [from_seq, to_seq] again, acknowledged or not (asked by the hub)."""
        self._replays.put((from_seq, to_seq))

    def _once(self) -> None:
        self._settle_acks()
        while True:
            try:
                first, last = self._replays.get_nowait()
            except queue.Empty:
                break
            found = self.reader.unmark(first, last)
            self._cursor = min(self._cursor, first - 1)
            log.info("fleet replay from_seq=%d to_seq=%d rows=%d", first, last, found)
        mono = self.monotonic()
        if self._closing.is_set():
            if not self._inflight and self.reader.backlog() == 0:
                self._drained.set()
        elif mono >= self._next_health:
            self._next_health = mono + self.settings.health_s
            self._snapshot()
        if self.connected.is_set():
            self._send(mono)
        if mono >= self._next_prune:
            self._next_prune = mono + 3600
            self.reader.prune(self.clock() - self.settings.keep_s)

    def _settle_acks(self) -> None:
        seqs: list[int] = []
        while True:
            try:
                mid = self._acks.get_nowait()
            except queue.Empty:
                break
            seq = self._inflight.pop(mid, None)
            if seq is not None:
                seqs.append(seq)
        if seqs:
            self.reader.mark_sent(seqs, self.clock())
            self.sent += len(seqs)

    def _send(self, mono: float) -> None:
        # at most one second's worth unacknowledged: after a reconnect paho resends all of
        # them at once, and that burst must stay within the rate cap too
        cap = min(self.settings.inflight, max(1, math.ceil(self.settings.max_rate_per_s)))
        room = cap - len(self._inflight)
        if room <= 0:
            return
        granted = self._bucket.take(mono, room)
        if granted <= 0:
            return
        topic = self.topics.of(self.settings.kiosk, "events")
        for row in self.reader.unsent(self._cursor, granted):
            info = self._client.publish(topic, row.event(self.settings.kiosk).encode(), qos=1)
            if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
                log.warning("fleet publish refused seq=%d rc=%s", row.seq, info.rc)
                return  # not handed over: read again next pass
            self._inflight[info.mid] = row.seq  # paho resends it after a reconnect
            self._cursor = row.seq

    def _snapshot(self) -> None:
        data = {**self.health(), "backlog": self.reader.backlog()}
        self.record(KIND_HEALTH, data, self.clock())
