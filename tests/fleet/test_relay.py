"""The PayPay relay through a real `kiosk hub run` process in front of the real simulator:
kiosks hold only their own key; scope violations are refused (PayPay-style) and logged."""

from __future__ import annotations

import base64
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from kiosk.domain import Phase
from kiosk.opa import Client, errors
from kiosk.opa.signing import auth_header
from kiosk.simulator import DEMO_API_SECRET, Simulator, SimulatorControl
from tests.fleet.relayhub import (
    KIOSK,
    MASTER_KEY,
    HubProcess,
    mpid,
    relay_client,
    relay_kiosk,
    running_hub,
)
from tools.fleetservers import Mosquitto, Postgres, free_port


@pytest.fixture(scope="module")
def sim_and_hub(
    broker: Mosquitto, postgres: Postgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Simulator, HubProcess]]:
    with running_hub(broker, postgres, tmp_path_factory.mktemp("relay")) as both:
        yield both


def create_body(merchant_payment_id: str, amount: int = 300) -> dict[str, Any]:
    return {
        "merchantPaymentId": merchant_payment_id,
        "amount": {"amount": amount, "currency": "JPY"},
        "codeType": "ORDER_QR",
        "orderDescription": "Tea",
        "requestedAt": int(time.time()),
    }


def refund_body(refund_id: str, payment_id: str, amount: int) -> dict[str, Any]:
    return {
        "merchantRefundId": refund_id,
        "paymentId": payment_id,
        "amount": {"amount": amount, "currency": "JPY"},
        "requestedAt": int(time.time()),
    }


def paid_sale(client: Client, sim: Simulator, kiosk: str, amount: int = 300) -> tuple[str, str]:
    """Create, pay (the simulator's customer) and read a sale through the relay."""
    ident = mpid(kiosk)
    code = client.Code.create_qr_code(create_body(ident, amount))["data"]
    with SimulatorControl(sim.base_url) as ctl:
        ctl.pay(code["codeId"])
    data = client.Code.get_payment_details(ident)["data"]
    assert data["status"] == "COMPLETED"
    return ident, str(data["paymentId"])


def test_a_kiosk_sells_through_the_relay_with_only_its_own_key(
    sim_and_hub: tuple[Simulator, HubProcess], tmp_path: Path
) -> None:
    sim, hub = sim_and_hub
    key, secret = hub.issue("RA")
    client = relay_client(hub.relay_url, key, secret)
    with relay_kiosk(tmp_path, sim, client, "RA") as (k, _):
        k.sell(400)
        view = k.drive(pay=True)
        assert view.phase is Phase.SUCCEEDED
        assert len(k.vendor.requests) == 1
        report = k.audit()
        assert report.clean, report.problems
    # the simulator knows only the merchant's key: it accepted the relay's re-signed calls
    direct = relay_client(sim.base_url, key, secret)
    with pytest.raises(errors.AuthError):
        direct.Code.get_payment_details(view.merchant_payment_id)
    direct.close()
    assert key in hub.cli("keys", "list").stdout
    assert secret not in hub.log() and secret not in hub.cli("keys", "list").stdout
    assert DEMO_API_SECRET not in hub.log()  # the merchant's secret (the simulator's)
    assert MASTER_KEY not in hub.log()


def test_another_kiosks_ids_are_refused_and_logged(
    sim_and_hub: tuple[Simulator, HubProcess],
) -> None:
    sim, hub = sim_and_hub
    mine = relay_client(hub.relay_url, *hub.issue("RB"))
    other = relay_client(hub.relay_url, *hub.issue("RC"))
    ident, payment_id = paid_sale(mine, sim, "RB")
    with pytest.raises(errors.AuthError) as read:
        other.Code.get_payment_details(ident)
    assert read.value.code == "OP_OUT_OF_SCOPE"
    with pytest.raises(errors.AuthError):
        other.Payment.cancel_payment(ident)
    with pytest.raises(errors.AuthError):  # a code for someone else's id
        other.Code.create_qr_code(create_body(mpid("RB")))
    with pytest.raises(errors.AuthError):  # "RB-1..." is not RB's: not a terminal stamp
        mine.Code.create_qr_code(create_body("RB-1-20261130120000-x"))
    code = mine.Code.create_qr_code(create_body(mpid("RB")))["data"]
    with pytest.raises(errors.AuthError):
        other.Code.delete_qr_code(code["codeId"])
    mine.Code.delete_qr_code(code["codeId"])  # its own: forwarded, PayPay's answer
    with pytest.raises(errors.AuthError):
        other.Payment.refund_payment(refund_body(f"{mpid('RC')}-R0", payment_id, 10))
    with pytest.raises(errors.AuthError):  # an id that is no kiosk's
        other.Payment.get_payment_details("anything")
    with pytest.raises(errors.AuthError):  # an endpoint kiosks have no use for
        other.User.get_authorization_status("someone")
    refused = [r for r in hub.refusals() if r[0] == "RC"]
    assert len(refused) >= 5
    assert {c for _, c, _ in refused} == {"OP_OUT_OF_SCOPE"}
    assert "relay refused kiosk=RC" in hub.log()
    mine.close()
    other.close()


def test_refunds_only_within_what_is_left_and_the_daily_limit(
    sim_and_hub: tuple[Simulator, HubProcess],
) -> None:
    sim, hub = sim_and_hub
    client = relay_client(hub.relay_url, *hub.issue("RD", "--refund-limit-yen", "700"))
    ident, payment_id = paid_sale(client, sim, "RD", amount=500)
    client.Payment.refund_payment(refund_body(f"{ident}-R0", payment_id, 300))
    # the same refund again (a kiosk's retry): not counted twice, PayPay answers it as before
    again = client.Payment.refund_payment(refund_body(f"{ident}-R0", payment_id, 300))
    assert again["resultInfo"]["code"] == "SUCCESS"
    with pytest.raises(errors.OperationNotAllowed):
        client.Payment.refund_payment(refund_body(f"{ident}-R1", payment_id, 201))
    assert "refund 201 yen is more than the 200 yen left" in hub.refusals()[-1][2]
    client.Payment.refund_payment(refund_body(f"{ident}-R1", payment_id, 200))
    second, payment2 = paid_sale(client, sim, "RD", amount=500)
    with pytest.raises(errors.OperationNotAllowed):  # 500 today + 201 > 700
        client.Payment.refund_payment(refund_body(f"{second}-R0", payment2, 201))
    assert "daily limit of 700 yen (500 yen refunded today)" in hub.refusals()[-1][2]
    client.Payment.refund_payment(refund_body(f"{second}-R0", payment2, 200))
    codes = [c for k, c, _ in hub.refusals() if k == "RD"]
    assert codes == ["REFUND_LIMIT_EXCEEDED", "REFUND_LIMIT_EXCEEDED"]
    client.close()


def raw_call(
    hub: HubProcess, key: str, secret: str, nonce: str, epoch: int, kiosk: str = "RE"
) -> requests.Response:
    path = f"/v2/codes/payments/{mpid(kiosk)}"
    header = auth_header(
        api_key=key, api_secret=secret, method="GET", path=path, nonce=nonce, epoch=epoch
    )
    return requests.get(hub.relay_url + path, headers={"Authorization": header}, timeout=5)


def test_bad_signature_replayed_nonce_skew_and_revoked_key_are_refused(
    sim_and_hub: tuple[Simulator, HubProcess],
) -> None:
    _sim, hub = sim_and_hub
    key, secret = hub.issue("RE")
    now = int(time.time())
    first = raw_call(hub, key, secret, "nonce-1", now)
    assert first.json()["resultInfo"]["code"] == "DYNAMIC_QR_PAYMENT_NOT_FOUND"  # PayPay's
    replay = raw_call(hub, key, secret, "nonce-1", now)
    assert replay.status_code == 401 and replay.json()["resultInfo"]["code"] == "UNAUTHORIZED"
    assert raw_call(hub, key, "wrong-secret", "nonce-2", now).status_code == 401
    assert raw_call(hub, key, secret, "nonce-3", now - 1000).status_code == 401
    assert raw_call(hub, "rk_nobody", secret, "nonce-4", now).status_code == 401
    client = relay_client(hub.relay_url, key, secret)
    with pytest.raises(errors.NotFound):
        client.Code.get_payment_details(mpid("RE"))
    assert hub.cli("keys", "revoke", key).returncode == 0
    with pytest.raises(errors.AuthError):  # at once: the next call
        client.Code.get_payment_details(mpid("RE"))
    reasons = [r for k, _, r in hub.refusals() if k in ("RE", "None")]
    assert any("nonce was used before" in r for r in reasons)
    assert any("signature does not match" in r for r in reasons)
    assert any("epoch is more than" in r for r in reasons)
    assert any("revoked" in r for r in reasons)
    assert "unknown API key" in hub.log()
    client.close()


def test_rotate_replaces_the_key_and_a_rate_limit_refuses_the_excess(
    sim_and_hub: tuple[Simulator, HubProcess],
) -> None:
    _sim, hub = sim_and_hub
    key, secret = hub.issue("RF", "--rate-per-min", "3")
    out = hub.cli("keys", "rotate", key)
    assert out.returncode == 0, out.stderr
    new_key = out.stdout.split("PAYPAY_API_KEY=")[1].split()[0]
    new_secret = out.stdout.split("PAYPAY_API_SECRET=")[1].split()[0]
    with pytest.raises(errors.AuthError):
        relay_client(hub.relay_url, key, secret).Code.get_payment_details(mpid("RF"))
    client = relay_client(hub.relay_url, new_key, new_secret)
    window = int(time.time() // 60)
    seen: list[type[errors.OpaError]] = []
    for _ in range(4):
        with pytest.raises(errors.OpaError) as answer:
            client.Code.get_payment_details(mpid("RF"))
        seen.append(type(answer.value))
    if int(time.time() // 60) == window:  # all four in one minute window
        assert seen == [errors.NotFound] * 3 + [errors.RateLimited]
    assert "rate_per_min=3" in hub.cli("keys", "list").stdout
    client.close()


def test_a_refund_of_a_sale_the_relay_never_saw_paid_is_checked_with_paypay(
    sim_and_hub: tuple[Simulator, HubProcess],
) -> None:
    sim, hub = sim_and_hub
    client = relay_client(hub.relay_url, *hub.issue("RG"))
    other = relay_client(hub.relay_url, *hub.issue("RH"))
    ident = mpid("RG")
    code = client.Code.create_qr_code(create_body(ident, 400))["data"]
    with SimulatorControl(sim.base_url) as ctl:  # paid, and never polled through the relay
        ctl.pay(code["codeId"])
        payment = next(p for p in ctl.ledger()["payments"] if p["merchant_payment_id"] == ident)
    with pytest.raises(errors.AuthError):  # another kiosk naming RG's refund id: not its own
        other.Payment.refund_payment(refund_body(f"{ident}-R0", payment["payment_id"], 100))
    with pytest.raises(errors.AuthError):  # its own id form, someone else's payment
        other.Payment.refund_payment(refund_body(f"{mpid('RH')}-R0", payment["payment_id"], 1))
    refunded = client.Payment.refund_payment(refund_body(f"{ident}-R0", payment["payment_id"], 400))
    assert refunded["resultInfo"]["code"] == "SUCCESS"
    client.close()
    other.close()


def test_paypay_lost_answer_is_an_unknown_outcome_and_the_retry_reaches_paypay_as_is(
    sim_and_hub: tuple[Simulator, HubProcess],
) -> None:
    sim, hub = sim_and_hub
    client = relay_client(hub.relay_url, *hub.issue("RI"))
    ident = mpid("RI")
    with SimulatorControl(sim.base_url) as ctl:
        ctl.add_fault("create_code", drop_response=True)  # applied, then the answer is lost
        with pytest.raises(errors.OutcomeUnknown):  # never a refusal
            client.Code.create_qr_code(create_body(ident))
        with pytest.raises(errors.Duplicate):  # the kiosk's retry: the same id reached PayPay
            client.Code.create_qr_code(create_body(ident))
        assert ctl.ledger()["creates_applied"][ident] == 1
    assert "relay: no answer from PayPay" in hub.log()
    client.close()


def test_keys_and_relay_usage_errors_are_named(
    sim_and_hub: tuple[Simulator, HubProcess],
) -> None:
    _sim, hub = sim_and_hub
    bad_id = hub.cli("keys", "issue", "kiosk/../x")
    assert bad_id.returncode != 0 and "kiosk id 'kiosk/../x' is not" in bad_id.stderr
    assert "no active key or kiosk rk_none" in hub.cli("keys", "revoke", "rk_none").stderr
    limits = hub.cli("keys", "limits", "RA", "--rate-per-min", "0")
    assert "--rate-per-min 0 is not 1 to 100000" in limits.stderr
    no_master = {k: v for k, v in hub.env.items() if k != "HUB_RELAY_MASTER_KEY"}
    for action in (["keys", "issue", "RZ"], ["run"]):
        out = subprocess.run(
            [*KIOSK, "hub", *action, "--config", str(hub.config)],
            capture_output=True, text=True, env=no_master, timeout=60, check=False,
        )  # fmt: skip
        assert out.returncode == 3
        assert "no relay master key" in out.stderr


def test_a_refund_paypay_refused_gives_its_amount_back_an_unknown_one_keeps_it(
    sim_and_hub: tuple[Simulator, HubProcess],
) -> None:
    sim, hub = sim_and_hub
    client = relay_client(hub.relay_url, *hub.issue("RJ"))
    ident, payment_id = paid_sale(client, sim, "RJ", amount=300)
    with SimulatorControl(sim.base_url) as ctl:
        ctl.add_fault("refund", status=400, code="INVALID_PARAMS")  # a definite "no"
        with pytest.raises(errors.InvalidParams):
            client.Payment.refund_payment(refund_body(f"{ident}-R0", payment_id, 300))
        ctl.add_fault("refund", drop_response=True)  # applied, answer lost: unknown
        with pytest.raises(errors.OutcomeUnknown):
            client.Payment.refund_payment(refund_body(f"{ident}-R1", payment_id, 300))
    with pytest.raises(errors.OperationNotAllowed):  # R1 may have moved the 300 yen
        client.Payment.refund_payment(refund_body(f"{ident}-R2", payment_id, 1))
    again = client.Payment.refund_payment(refund_body(f"{ident}-R1", payment_id, 300))
    assert again["resultInfo"]["code"] == "SUCCESS"  # the retry of R1: PayPay's answer
    client.close()


def test_two_relays_share_keys_nonces_and_limits(
    sim_and_hub: tuple[Simulator, HubProcess], tmp_path: Path
) -> None:
    """A second hub on the same database (behind a load balancer): a nonce used at one relay
    is refused at the other, and a key revoked through one stops at both."""
    _sim, hub = sim_and_hub
    port = free_port()
    config = tmp_path / "hub2.toml"
    text = hub.config.read_text().replace('client_id = "relay-hub"', 'client_id = "relay-hub-2"')
    config.write_text(re.sub(r"relay_port = \d+", f"relay_port = {port}", text))
    second = HubProcess(config, hub.dsn, f"http://127.0.0.1:{port}", tmp_path / "h2.log", hub.env)
    second.start()
    try:
        key, secret = hub.issue("RK")
        now = int(time.time())
        first = raw_call(hub, key, secret, "shared-1", now, "RK")
        assert first.json()["resultInfo"]["code"] == "DYNAMIC_QR_PAYMENT_NOT_FOUND"  # PayPay's
        replay = raw_call(second, key, secret, "shared-1", now, "RK")
        assert replay.status_code == 401 and "relay refused kiosk=RK" in second.log()
        other = raw_call(second, key, secret, "shared-2", now, "RK")
        assert other.json()["resultInfo"]["code"] == "DYNAMIC_QR_PAYMENT_NOT_FOUND"
        assert second.cli("keys", "revoke", "RK").returncode == 0
        assert raw_call(hub, key, secret, "shared-3", now, "RK").status_code == 401
        assert raw_call(second, key, secret, "shared-4", now, "RK").status_code == 401
    finally:
        second.stop()


def test_a_relay_with_the_wrong_master_key_answers_unknown_never_no(
    sim_and_hub: tuple[Simulator, HubProcess], tmp_path: Path
) -> None:
    """The hub's own fault (a master key that does not open the kiosk secrets) must not look
    like PayPay refusing: a 5xx without an envelope, which the kiosk asks again about."""
    _sim, hub = sim_and_hub
    port = free_port()
    config = tmp_path / "hub3.toml"
    text = hub.config.read_text().replace('client_id = "relay-hub"', 'client_id = "relay-hub-3"')
    config.write_text(re.sub(r"relay_port = \d+", f"relay_port = {port}", text))
    env = {**hub.env, "HUB_RELAY_MASTER_KEY": base64.b64encode(bytes(32)).decode()}
    wrong = HubProcess(config, hub.dsn, f"http://127.0.0.1:{port}", tmp_path / "h3.log", env)
    wrong.start()
    try:
        client = relay_client(wrong.relay_url, *hub.issue("RL"))
        with pytest.raises(errors.OutcomeUnknown):
            client.Code.get_payment_details(mpid("RL"))
        assert "does not open with this master key" in wrong.log()
        assert not [r for r in hub.refusals() if r[0] == "RL"]
        client.close()
    finally:
        wrong.stop()
