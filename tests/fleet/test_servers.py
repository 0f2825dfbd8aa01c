"""The test servers are the real thing: a QoS 1 message round trip through Mosquitto, SQL in
PostgreSQL (run by an unprivileged user when the suite runs as root)."""

from __future__ import annotations

import queue

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from tools.fleetservers import Mosquitto, Postgres


def _client(broker: Mosquitto, name: str) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    return client


def test_mosquitto_round_trip(broker: Mosquitto) -> None:
    got: queue.Queue[bytes] = queue.Queue()
    sub = _client(broker, "sub")
    sub.on_message = lambda c, u, m: got.put(m.payload)
    sub.subscribe("roundtrip/#", qos=1)
    pub = _client(broker, "pub")
    try:
        # the subscription is in place once a message comes back
        for _ in range(50):
            pub.publish("roundtrip/x", b"hello", qos=1).wait_for_publish(5)
            try:
                assert got.get(timeout=0.2) == b"hello"
                break
            except queue.Empty:
                continue
        else:
            raise AssertionError("no message came back through the broker")
    finally:
        for c in (sub, pub):
            c.loop_stop()
            c.disconnect()


def test_postgres_is_real_and_not_root(postgres: Postgres, ledger_dsn: str) -> None:
    with psycopg.connect(ledger_dsn) as db:
        version = db.execute("SHOW server_version").fetchone()
        assert version is not None and int(str(version[0]).split(".")[0]) >= 13
        owner = db.execute("SELECT current_setting('data_directory')").fetchone()
        assert owner is not None and str(owner[0]).startswith(str(postgres.directory))
        db.execute("CREATE TABLE t (k text PRIMARY KEY)")
        db.execute("INSERT INTO t VALUES ('a') ON CONFLICT DO NOTHING")
        db.execute("INSERT INTO t VALUES ('a') ON CONFLICT DO NOTHING")
        count = db.execute("SELECT count(*) FROM t").fetchone()
        assert count == (1,)
