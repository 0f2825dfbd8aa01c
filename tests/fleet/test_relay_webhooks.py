"""Webhooks through a real hub: confirmed with PayPay, then a poll nudge over MQTT; forged,
early, duplicated or dropped webhooks and a hub killed mid-call only ever cost speed.

The kiosks run on a fake clock: their own 4 s polls happen only when a test moves time, so
a sale that ends without the clock moving was ended by the nudge."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.domain import Order, Phase
from kiosk.simulator import Simulator
from tests.fleet.helpers import wait_until
from tests.fleet.relayhub import HubProcess, mpid, relay_client, relay_kiosk, running_hub
from tools.fleetservers import Mosquitto, Postgres


@pytest.fixture(scope="module")
def sim_and_hub(
    broker: Mosquitto, postgres: Postgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Simulator, HubProcess]]:
    with running_hub(broker, postgres, tmp_path_factory.mktemp("relay-hooks")) as both:
        yield both


def post_webhook(hub: HubProcess, event: dict[str, Any], source: str = "127.0.0.1") -> int:
    host, port = hub.relay_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5, source_address=(source, 0))
    try:
        conn.request(
            "POST", "/webhooks/paypay", json.dumps(event), {"Content-Type": "application/json"}
        )
        return conn.getresponse().status
    finally:
        conn.close()


def transaction(merchant_payment_id: str, state: str = "COMPLETED") -> dict[str, Any]:
    return {
        "notification_type": "Transaction",
        "merchant_order_id": merchant_payment_id,
        "state": state,
        "order_amount": 300,
    }


def count(hub: HubProcess, text: str) -> int:
    return hub.log().count(text)


def test_a_confirmed_webhook_ends_the_sale_without_waiting_for_the_poll(
    sim_and_hub: tuple[Simulator, HubProcess], broker: Mosquitto, tmp_path: Path
) -> None:
    sim, hub = sim_and_hub
    client = relay_client(hub.relay_url, *hub.issue("WA"))
    with relay_kiosk(tmp_path, sim, client, "WA", broker) as (k, _link):
        view = k.sell(300)
        assert view.phase is Phase.AWAITING_PAYMENT
        k.ctl.pay(k.code_of(view.merchant_payment_id)["code_id"])  # the simulator's webhook
        done = k.wait_phase(Phase.SUCCEEDED)  # the clock never moved: the nudge polled
        assert done.merchant_payment_id == view.merchant_payment_id
        assert len(k.vendor.requests) == 1
        confirmed = f"relay webhook confirmed mpid={view.merchant_payment_id}"
        wait_until(lambda: confirmed in hub.log(), what="confirmation logged")
        # the same webhook again (PayPay retries): confirmed again, nothing sold twice
        assert post_webhook(hub, transaction(view.merchant_payment_id)) == 200
        wait_until(lambda: count(hub, confirmed) == 2, what="duplicate confirmed")
        k.runner.acknowledge()
        k.advance(10)
        assert len(k.vendor.requests) == 1
        assert k.audit().clean


def test_forged_and_early_webhooks_move_nothing(
    sim_and_hub: tuple[Simulator, HubProcess], broker: Mosquitto, tmp_path: Path
) -> None:
    sim, hub = sim_and_hub
    client = relay_client(hub.relay_url, *hub.issue("WB"))
    early = mpid("WB")  # no code yet: PayPay knows nothing of it
    assert post_webhook(hub, transaction(early)) == 200
    wait_until(lambda: f"relay webhook not confirmed mpid={early}" in hub.log(), what="early")
    with relay_kiosk(tmp_path, sim, client, "WB", broker) as (k, _link):
        view = k.sell(300)
        ident = view.merchant_payment_id
        # a forged "paid" from an address not configured: refused before anything is asked
        assert post_webhook(hub, transaction(ident), source="127.0.0.2") == 403
        assert "source 127.0.0.2 is not configured" in hub.log()
        # from the right address but unpaid in truth: PayPay says CREATED, no nudge
        assert post_webhook(hub, transaction(ident)) == 200
        wait_until(lambda: f"relay webhook not confirmed mpid={ident}" in hub.log(), what="no")
        assert f"hub nudge sent kiosk=WB mpid={ident}" not in hub.log()
        assert k.runner.current_sale() is not None
        assert k.runner.current_sale().phase is Phase.AWAITING_PAYMENT  # type: ignore[union-attr]
        assert post_webhook(hub, {"notification_type": "Nope"}) == 400
        k.ctl.pay(k.code_of(ident)["code_id"])
        assert k.wait_phase(Phase.SUCCEEDED).merchant_payment_id == ident
        assert k.audit().clean


def test_a_dropped_webhook_and_a_hub_killed_mid_call_only_cost_speed(
    sim_and_hub: tuple[Simulator, HubProcess],
    broker: Mosquitto,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim, hub = sim_and_hub
    client = relay_client(hub.relay_url, *hub.issue("WC"), timeout_s=3.0)
    with relay_kiosk(tmp_path, sim, client, "WC", broker) as (k, _link):
        k.ready()
        k.ctl.add_fault("create_code", latency_s=1.5)  # PayPay slow: the call is in the relay
        fired = k.ctl.faults_fired()
        k.runner.begin_sale(Order.of_amount(300, "Tea"))
        wait_until(lambda: k.ctl.faults_fired() > fired, what="the create reaching PayPay")
        hub.kill()  # mid-call: the kiosk's create ends without an answer (unknown outcome)
        k.wait(
            lambda: (v := k.runner.current_sale()) is not None and v.phase is not Phase.CREATING,
            "the create's outcome handled",
        )
        hub.start()
        first = k.drive(pay=False)  # the kiosk asks again through the relay until it knows
        assert first.phase in (Phase.FAILED, Phase.CANCELLED)
        k.idle()
        assert k.audit().clean, k.audit().problems
        assert not k.vendor.requests
        # a sale while the hub is down at payment time: its webhook is lost for good
        view = k.sell(300)
        assert view.phase is Phase.AWAITING_PAYMENT
        hub.kill()
        k.ctl.pay(k.code_of(view.merchant_payment_id)["code_id"])
        dropped = f"webhook dropped merchant_order_id={view.merchant_payment_id}"
        wait_until(lambda: dropped in caplog.text, what="the simulator giving the webhook up")
        hub.start()
        assert k.runner.current_sale().phase is Phase.AWAITING_PAYMENT  # type: ignore[union-attr]
        done = k.drive(pay=False)  # the kiosk's own polls: the truth, a poll interval later
        assert done.phase is Phase.SUCCEEDED
        assert done.merchant_payment_id == view.merchant_payment_id
        k.idle()
        assert k.audit().clean
        assert len(k.vendor.requests) == 1
