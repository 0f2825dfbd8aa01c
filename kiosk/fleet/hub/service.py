"""The hub: subscribes to the fleet, writes the ledger, watches for silent kiosks.

Why / invariants:
- a persistent MQTT session (`clean_session=False`, QoS 1): while the hub is down the broker
  keeps the fleet's events for it;
- manual acknowledgement: a message is acknowledged only after its fact is committed to
  PostgreSQL, so a hub killed at any moment loses nothing (the broker redelivers; the ledger's
  idempotency key turns the redelivery into a no-op);
- a database failure is retried (the message stays unacknowledged) instead of dropping a fact;
- a payload that cannot be read is kept in `rejected` and acknowledged (it will never read);
- the silent-kiosk check runs on its own thread and connection every `check_s`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from psycopg.types.json import Jsonb

from kiosk.fleet.hub import alerts
from kiosk.fleet.hub.gaps import find_gaps
from kiosk.fleet.hub.ledger import Ingested, Ledger, ts
from kiosk.fleet.hub.migrate import migrate
from kiosk.fleet.publisher import broker_address
from kiosk.fleet.schema import SCHEMA, PayloadError, Topics, decode_event, load_json

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HubSettings:
    broker_url: str
    database: str  # a libpq connection string (its password from PGPASSWORD or ~/.pgpass)
    prefix: str = "kiosk"
    client_id: str = "hub"
    username: str = ""
    password: str = field(default="", repr=False)
    ca_file: str = ""
    silent_s: float = 90.0
    check_s: float = 1.0
    gap_check_s: float = 30.0  # how often missing facts are looked for (and asked again)
    gap_grace_s: float = 30.0
    gap_tries: int = 5  # replays asked for one gap before an alert asks a person
    alert_urls: tuple[str, ...] = field(default=(), repr=False)  # may carry tokens


class Hub:
    def __init__(
        self,
        settings: HubSettings,
        *,
        clock: Callable[[], float] = time.time,
        send: alerts.Send | None = None,
        listen: bool = True,
    ) -> None:
        self.settings = settings
        self.listen = listen  # False: only send commands (`kiosk hub command`)
        self.clock = clock
        self.topics = Topics(settings.prefix)
        self.announcer = alerts.Announcer(send or alerts.apprise_sender(settings.alert_urls))
        self.connected = threading.Event()
        self.ingested = 0  # new facts written (tests and bench read it)
        self.duplicates = 0
        self._stop = threading.Event()
        self._ledger: Ledger | None = None
        self._ledger_lock = threading.Lock()
        self._gap_tries: dict[
            tuple[str, int], int
        ] = {}  # paho's thread ingests; commands come from others
        self._client = self._make_client()
        self._watch = threading.Thread(target=self._watch_loop, name="hub-watch", daemon=True)

    def start(self) -> None:
        migrate(self.settings.database)
        self._ledger = Ledger(self.settings.database)
        host, port, _ = broker_address(self.settings.broker_url)
        self._client.connect_async(host, port, keepalive=30)
        self._client.loop_start()
        if self.listen:
            self._watch.start()

    def stop(self) -> None:
        self._stop.set()
        self._client.disconnect()
        self._client.loop_stop()
        if self._watch.is_alive():
            self._watch.join(10)
        self.announcer.close()
        if self._ledger is not None:
            self._ledger.close()

    # ---- MQTT ---------------------------------------------------------------------------------

    def _make_client(self) -> mqtt.Client:
        s = self.settings
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=s.client_id,
            clean_session=not self.listen,
            manual_ack=True,
        )
        if s.username:
            client.username_pw_set(s.username, s.password or None)
        if broker_address(s.broker_url)[2]:
            client.tls_set(ca_certs=s.ca_file or None)
        client.max_inflight_messages_set(100)
        client.reconnect_delay_set(1, 30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
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
            log.warning("hub: broker refused the connection reason=%s", reason)
            return
        if self.listen:  # connected once the broker confirmed the subscriptions
            client.subscribe([(self.topics.all("events"), 1), (self.topics.all("status"), 1)])
        else:
            self.connected.set()
        log.info(
            "hub connected url=%s session_present=%s",
            self.settings.broker_url,
            flags.session_present,
        )

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        if any(c.is_failure for c in codes):
            log.error("hub: the broker refused a subscription (check its ACL) codes=%s", codes)
            return
        if not self.connected.is_set():
            log.info("hub subscribed prefix=%s", self.settings.prefix)
        self.connected.set()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self.connected.clear()
        if not self._stop.is_set():
            log.warning("hub disconnected from the broker reason=%s", reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        payload = bytes(message.payload)
        while not self._stop.is_set():
            try:
                with self._ledger_lock:
                    self._handle(message.topic, payload, bool(message.retain))
                break
            except psycopg.Error as exc:  # not acknowledged: retried, then redelivered
                log.error("hub: ledger write failed, retrying error=%s", type(exc).__name__)
                self._stop.wait(1.0)
                self._reconnect_ledger()
        else:
            return  # stopping: the broker redelivers it to the next hub
        client.ack(message.mid, message.qos)

    def _handle(self, topic: str, payload: bytes, retained: bool) -> None:
        ledger = self._ledger
        assert ledger is not None
        now = self.clock()
        try:
            kiosk, leaf = self.topics.parse(topic)
            if leaf == "status":
                online = load_json(payload).get("online")
                if not isinstance(online, bool):
                    raise PayloadError("status payload field 'online' is missing or not bool")
                if online and not retained:
                    ledger.heard(kiosk, now, online=True)
                else:  # a will, or a retained status from the past: not a sign of life
                    ledger.set_online(kiosk, online)
                return
            event = decode_event(kiosk, payload)
        except PayloadError as exc:
            log.warning("hub: payload refused topic=%s error=%s", topic, exc)
            ledger.reject(topic, str(exc), payload)
            return
        result = ledger.ingest(event, now)
        if not result.new:
            self.duplicates += 1
            return
        self.ingested += 1
        self._held_alerts(kiosk, result, now)

    def _held_alerts(self, kiosk: str, result: Ingested, now: float) -> None:
        ledger = self._ledger
        assert ledger is not None
        with ledger.db.transaction():
            if result.held:
                alert = alerts.raise_alert(
                    ledger.db, kiosk, alerts.HELD, result.held, "a paid sale is held", now
                )
            elif result.settled:
                alert = alerts.clear_alert(
                    ledger.db, kiosk, alerts.HELD, result.settled, "settled", now
                )
            else:
                alert = None
        if alert:
            self.announcer.announce(alert)

    def _reconnect_ledger(self) -> None:
        try:
            if self._ledger is not None:
                self._ledger.close()
            self._ledger = Ledger(self.settings.database)
        except psycopg.Error as exc:
            log.error("hub: ledger reconnect failed error=%s", type(exc).__name__)

    # ---- commands ---------------------------------------------------------------------------

    def send_command(
        self,
        kiosk: str,
        kind: str,
        reason: str = "",
        command_id: str = "",
        wait_s: float = 0,
        extra: dict[str, Any] | None = None,
    ) -> str:
        """Record the command, then publish it (QoS 1) to the kiosk; its reply lands in the
        ledger's `commands` row. Returns the command id."""
        ledger = self._ledger
        assert ledger is not None
        command_id = command_id or uuid.uuid4().hex
        now = self.clock()
        body = {
            "schema": SCHEMA,
            "command_id": command_id,
            "kind": kind,
            "issued_at": now,
            "reason": reason,
            **(extra or {}),
        }
        with self._ledger_lock, ledger.db.transaction():
            ledger.db.execute(
                "INSERT INTO commands (command_id, kiosk, kind, body, sent_at)"
                " VALUES (%s,%s,%s,%s,%s)",
                (command_id, kiosk, kind, Jsonb(body), ts(now)),
            )
        info = self._client.publish(self.topics.of(kiosk, "commands"), json.dumps(body), qos=1)
        if wait_s:
            info.wait_for_publish(wait_s)
        log.info("hub command sent id=%s kiosk=%s kind=%s", command_id, kiosk, kind)
        return command_id

    def nudge(self, kiosk: str, merchant_payment_id: str) -> None:
        """Tell a kiosk to poll this sale now (the relay confirmed a webhook). A hint only:
        not recorded, never waited for; a lost nudge costs the kiosk one poll interval."""
        body = {
            "schema": SCHEMA,
            "command_id": uuid.uuid4().hex,
            "kind": "poll",
            "issued_at": self.clock(),
            "merchant_payment_id": merchant_payment_id,
        }
        self._client.publish(self.topics.of(kiosk, "commands"), json.dumps(body), qos=1)
        log.info("hub nudge sent kiosk=%s mpid=%s", kiosk, merchant_payment_id)

    # ---- missing facts ----------------------------------------------------------------------

    def _repair(self, db: psycopg.Connection[Any], now: float) -> None:
        for gap in find_gaps(db, now, self.settings.gap_grace_s):
            key = (gap.kiosk, gap.from_seq)
            tries = self._gap_tries.get(key, 0)
            if tries >= self.settings.gap_tries:
                subject = f"seq {gap.from_seq}-{gap.to_seq}"
                with db.transaction():
                    alert = alerts.raise_alert(
                        db, gap.kiosk, alerts.GAP, subject, "facts missing after replays", now
                    )
                if alert:
                    self.announcer.announce(alert)
                continue
            self._gap_tries[key] = tries + 1
            log.warning(
                "hub: facts missing, asking again kiosk=%s from_seq=%d to_seq=%d",
                gap.kiosk,
                gap.from_seq,
                gap.to_seq,
            )
            extra = {"from_seq": gap.from_seq, "to_seq": gap.to_seq}
            self.send_command(gap.kiosk, "replay", "gap", extra=extra)

    # ---- silent kiosks ----------------------------------------------------------------------

    def _watch_loop(self) -> None:
        db: psycopg.Connection[Any] | None = None
        next_gaps = 0.0
        while not self._stop.wait(self.settings.check_s):
            try:
                if db is None or db.closed:
                    db = psycopg.connect(self.settings.database)
                now = self.clock()
                for alert in alerts.check_silent(db, now, self.settings.silent_s):
                    self.announcer.announce(alert)
                if now >= next_gaps and self.connected.is_set():
                    next_gaps = now + self.settings.gap_check_s
                    self._repair(db, now)
            except psycopg.Error as exc:
                log.error("hub: silent-kiosk check failed error=%s", type(exc).__name__)
                if db is not None:
                    db.close()
                db = None
        if db is not None:
            db.close()
