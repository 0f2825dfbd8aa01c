"""The test servers are the real thing: a QoS 1 message round trip through Mosquitto, SQL in
PostgreSQL (run by an unprivileged user when the suite runs as root)."""

from __future__ import annotations

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from tests.fleet.helpers import Listener, acknowledged
from tools.fleetservers import Mosquitto, Postgres


def test_mosquitto_round_trip(broker: Mosquitto) -> None:
    sub = Listener(broker.port, "roundtrip/#")  # back once the broker granted it (SUBACK)
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="pub")
    pub.connect("127.0.0.1", broker.port)
    pub.loop_start()
    try:
        acknowledged(pub.publish("roundtrip/x", b"hello", qos=1), "the publish to roundtrip/x")
        sub.wait_for(lambda got: got == [("roundtrip/x", b"hello", False)])
    finally:
        sub.close()
        pub.loop_stop()
        pub.disconnect()


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
