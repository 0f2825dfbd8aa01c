"""The shipped Mosquitto ACL (config/mosquitto/fleet.acl) on a real broker: a kiosk reaches
only its own subtree, the hub reads everyone's events, strangers get nothing.

Every step waits on the broker's own answer (CONNACK, SUBACK, PUBACK, a delivered message).
A publish the ACL denies is acknowledged and dropped, and Mosquitto 2.0 with the shipped
`max_queued_messages 0` then closes the publisher's connection (MQTT 3.1.1 allows either,
[MQTT-3.3.5-2]); so the forgery is sent on a connection of its own, and what is judged is only
that it never arrives."""

from __future__ import annotations

import queue
import subprocess
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.fleet.helpers import acknowledged, next_item
from tools.fleetservers import Mosquitto, remove, scratch_dir

ROOT = Path(__file__).resolve().parents[2]
USERS = {"hub": "hub-pw", "k1": "k1-pw", "k2": "k2-pw"}


@pytest.fixture
def secured() -> Iterator[Mosquitto]:
    directory = scratch_dir("fleet-acl-")
    passwd = directory / "fleet.passwd"
    for n, (user, password) in enumerate(USERS.items()):
        create = ["-c"] if n == 0 else []
        subprocess.run(["mosquitto_passwd", *create, "-b", str(passwd), user, password], check=True)
    extra = f"password_file {passwd}\nacl_file {ROOT / 'config/mosquitto/fleet.acl'}\n"
    server = Mosquitto(directory, extra=extra, anonymous=False)
    server.start()
    yield server
    server.stop()
    remove(directory)


def client(
    broker: Mosquitto, user: str, password: str, name: str = ""
) -> tuple[mqtt.Client, queue.Queue[str]]:
    """A connected client (its CONNACK came); PermissionError when the broker refused it."""
    got: queue.Queue[str] = queue.Queue()
    connected: queue.Queue[bool] = queue.Queue()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"acl-{name or user}")
    c.username_pw_set(user, password)
    c.on_message = lambda cl, u, m: got.put(f"{m.topic} {m.payload.decode()}")
    c.on_connect = lambda cl, u, f, rc, p: connected.put(not rc.is_failure)
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    if not next_item(connected, f"the broker's CONNACK for {user}"):
        c.loop_stop()
        raise PermissionError(user)
    return c, got


def subscribe(c: mqtt.Client, topic: str) -> bool:
    """Subscribe and wait for the broker's answer: True when granted."""
    answer: queue.Queue[bool] = queue.Queue()
    c.on_subscribe = lambda cl, u, mid, codes, p: answer.put(not codes[0].is_failure)
    c.subscribe(topic, qos=1)
    return next_item(answer, f"the broker's SUBACK for {topic}")


def publish(c: mqtt.Client, topic: str, payload: str) -> None:
    acknowledged(c.publish(topic, payload, qos=1), f"PUBACK for {payload!r} on {topic}")


def test_each_kiosk_is_confined_to_its_subtree(secured: Mosquitto) -> None:
    hub, hub_got = client(secured, "hub", USERS["hub"])
    k1, k1_got = client(secured, "k1", USERS["k1"])
    k2, k2_got = client(secured, "k2", USERS["k2"])
    forger, _ = client(secured, "k1", USERS["k1"], name="k1-forger")
    try:
        assert subscribe(hub, "kiosk/v1/+/events")
        assert subscribe(k1, "kiosk/v1/k1/commands")
        subscribe(k1, "kiosk/v1/k2/commands")  # the ACL lets nothing through it
        assert subscribe(k2, "kiosk/v1/k2/commands")
        publish(hub, "kiosk/v1/k1/commands", "x")
        assert next_item(k1_got, "k1's own command") == "kiosk/v1/k1/commands x"
        # k1's credentials writing into k2's subtree: acknowledged (the broker had it in hand
        # before "own" below was sent) and dropped; the broker may close that connection
        publish(forger, "kiosk/v1/k2/events", "forged")
        publish(k1, "kiosk/v1/k1/events", "own")
        assert next_item(hub_got, "k1's own event") == "kiosk/v1/k1/events own"  # not "forged"
        publish(hub, "kiosk/v1/k2/commands", "for-k2")
        assert next_item(k2_got, "k2's command") == "kiosk/v1/k2/commands for-k2"
        publish(k2, "kiosk/v1/k2/events", "mark")
        assert next_item(hub_got, "k2's event") == "kiosk/v1/k2/events mark"
        publish(hub, "kiosk/v1/k1/commands", "after")  # queued to k1 behind "for-k2", if that was
        assert next_item(k1_got, "k1's next command") == "kiosk/v1/k1/commands after"
        assert k1_got.empty()
        assert hub_got.empty()
    finally:
        for c in (hub, k1, k2, forger):
            c.loop_stop()
            c.disconnect()


def test_wrong_password_is_refused(secured: Mosquitto) -> None:
    with pytest.raises(PermissionError):
        client(secured, "k1", "wrong")
