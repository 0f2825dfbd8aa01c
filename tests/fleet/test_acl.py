"""The shipped Mosquitto ACL (config/mosquitto/fleet.acl) on a real broker: a kiosk reaches
only its own subtree, the hub reads everyone's events, strangers get nothing."""

from __future__ import annotations

import queue
import subprocess
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

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


def client(broker: Mosquitto, user: str, password: str) -> tuple[mqtt.Client, queue.Queue[str]]:
    got: queue.Queue[str] = queue.Queue()
    connected: queue.Queue[bool] = queue.Queue()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"acl-{user}")
    c.username_pw_set(user, password)
    c.on_message = lambda cl, u, m: got.put(f"{m.topic} {m.payload.decode()}")
    c.on_connect = lambda cl, u, f, rc, p: connected.put(not rc.is_failure)
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    if not connected.get(timeout=10):
        c.loop_stop()
        raise PermissionError(user)
    return c, got


def subscribe(c: mqtt.Client, topic: str) -> bool:
    """Subscribe and wait for the broker's answer: True when granted."""
    answer: queue.Queue[bool] = queue.Queue()
    c.on_subscribe = lambda cl, u, mid, codes, p: answer.put(not codes[0].is_failure)
    c.subscribe(topic, qos=1)
    return answer.get(timeout=10)


def test_each_kiosk_is_confined_to_its_subtree(secured: Mosquitto) -> None:
    hub, hub_got = client(secured, "hub", USERS["hub"])
    k1, k1_got = client(secured, "k1", USERS["k1"])
    k2, k2_got = client(secured, "k2", USERS["k2"])
    try:
        assert subscribe(hub, "kiosk/v1/+/events")
        assert subscribe(k1, "kiosk/v1/k1/commands")
        subscribe(k1, "kiosk/v1/k2/commands")  # the ACL lets nothing through it
        assert subscribe(k2, "kiosk/v1/k2/commands")
        hub.publish("kiosk/v1/k1/commands", "x", qos=1).wait_for_publish(5)  # sync point
        assert k1_got.get(timeout=10) == "kiosk/v1/k1/commands x"
        k1.publish("kiosk/v1/k2/events", "forged", qos=1).wait_for_publish(5)
        k1.publish("kiosk/v1/k1/events", "own", qos=1).wait_for_publish(5)
        assert hub_got.get(timeout=10) == "kiosk/v1/k1/events own"  # the forged one never came
        hub.publish("kiosk/v1/k2/commands", "for-k2", qos=1).wait_for_publish(5)
        assert k2_got.get(timeout=10) == "kiosk/v1/k2/commands for-k2"
        k2.publish("kiosk/v1/k2/events", "mark", qos=1).wait_for_publish(5)
        assert hub_got.get(timeout=10) == "kiosk/v1/k2/events mark"
        assert k1_got.empty()  # k1 never saw k2's command
        assert hub_got.empty()
    finally:
        for c in (hub, k1, k2):
            c.loop_stop()
            c.disconnect()


def test_wrong_password_is_refused(secured: Mosquitto) -> None:
    with pytest.raises(PermissionError):
        client(secured, "k1", "wrong")
