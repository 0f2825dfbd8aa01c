"""The relay's pure parts: sealing, the scope table, refusals as the kiosk reads them, webhook
sources and payloads, the hub's relay settings, and the kiosk's handling of a nudge."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from kiosk.domain import Phase
from kiosk.fleet.hub.config import HubConfigError, load_hub_config
from kiosk.fleet.relay.scope import Refusal, check_owned, classify, owns, refund_limit
from kiosk.fleet.relay.sealing import Sealer, SealError, parse_master_key
from kiosk.fleet.relay.webhooks import allowed, merchant_order_id, parse_sources
from kiosk.fleet.schema import PayloadError, parse_command
from kiosk.opa import errors
from tests.engine.harness import kiosk

KEY = bytes(range(32))


def test_a_sealed_secret_opens_only_with_its_key_id_and_master_key() -> None:
    sealer = Sealer(KEY)
    sealed = sealer.seal("rk_1", "s3cret-value")
    assert b"s3cret-value" not in sealed
    assert sealer.open("rk_1", sealed) == "s3cret-value"
    with pytest.raises(SealError, match="rk_2"):  # moved to another key's row
        sealer.open("rk_2", sealed)
    with pytest.raises(SealError):
        Sealer(bytes(32)).open("rk_1", sealed)
    assert "s3cret" not in repr(sealer)
    assert sealer.seal("rk_1", "x") != sealer.seal("rk_1", "x")  # a fresh nonce each time


def test_the_master_key_must_be_32_bytes_of_base64() -> None:
    assert parse_master_key(base64.b64encode(KEY).decode()) == KEY
    with pytest.raises(SealError, match="not base64"):
        parse_master_key("not base64!")
    with pytest.raises(SealError, match="16 bytes, expected 32"):
        parse_master_key(base64.b64encode(bytes(16)).decode())


@pytest.mark.parametrize(
    ("method", "path", "action", "owned"),
    [
        ("GET", "/v2/codes/payments/K1-20261130120000-ab", "read_code", "K1-20261130120000-ab"),
        ("GET", "/v2/payments/K1-20261130120000-ab", "read_payment", "K1-20261130120000-ab"),
        ("DELETE", "/v2/payments/K1-20261130120000-ab", "cancel", "K1-20261130120000-ab"),
        ("GET", "/v2/refunds/K1-20261130120000-ab-R0?paymentId=9", "read_refund",
         "K1-20261130120000-ab-R0"),
        ("DELETE", "/v2/codes/04-abc", "delete_code", ""),
    ],
)  # fmt: skip
def test_each_kiosk_path_names_what_it_touches(
    method: str, path: str, action: str, owned: str
) -> None:
    call = classify(method, path, b"")
    assert (call.action, call.owned_id) == (action, owned)


def test_bodies_name_the_ids_and_amounts() -> None:
    body = {"merchantRefundId": "K1-20261130120000-ab-R0", "paymentId": "p1",
            "amount": {"amount": 120, "currency": "JPY"}}  # fmt: skip
    call = classify("POST", "/v2/refunds", json.dumps(body).encode())
    assert (call.action, call.payment_id, call.amount) == ("refund", "p1", 120)
    with pytest.raises(Refusal, match=r"amount\.amount"):
        classify("POST", "/v2/refunds", json.dumps({**body, "amount": {"amount": -1}}).encode())
    with pytest.raises(Refusal, match="not JSON"):
        classify("POST", "/v2/codes", b"{")
    with pytest.raises(Refusal, match="merchantPaymentId is missing"):
        classify("POST", "/v2/codes", b"{}")
    with pytest.raises(Refusal, match="not open to kiosks"):
        classify("POST", "/v2/payments", b"{}")
    with pytest.raises(Refusal, match="not open to kiosks"):
        classify("GET", "/v2/codes", b"")


def test_ownership_is_the_terminal_prefix_and_a_stamp() -> None:
    assert owns("A", "A-20261130120000-ff")
    assert owns("A", "A-20261130120000-ff-R3")
    assert not owns("A", "A-1-20261130120000-ff")  # kiosk "A-1"'s id
    assert not owns("A", "AB-20261130120000-ff")
    assert not owns("A.", "AB-20261130120000-ff")  # a regex character in an id is literal
    with pytest.raises(Refusal) as refused:
        check_owned(classify("GET", "/v2/codes/payments/B-20261130120000-ff", b""), "A")
    assert refused.value.status == 403


@pytest.mark.parametrize(
    ("refusal", "kind"),
    [
        (Refusal(401, "UNAUTHORIZED", "x"), errors.AuthError),
        (Refusal(403, "OP_OUT_OF_SCOPE", "x"), errors.AuthError),
        (refund_limit("x"), errors.OperationNotAllowed),
        (Refusal(429, "RATE_LIMIT", "x"), errors.RateLimited),
    ],
)
def test_refusals_read_as_the_kiosk_reads_paypay(refusal: Refusal, kind: type[Any]) -> None:
    envelope = json.loads(refusal.envelope())
    assert envelope["data"] is None
    assert errors.classify(refusal.status, envelope["resultInfo"]["code"]) is kind
    assert not issubclass(kind, errors.OutcomeUnknown)  # a refusal is a definite "no"


def test_webhook_sources_and_payloads() -> None:
    sources = parse_sources(["203.0.113.0/24", "127.0.0.1", "::1"])
    assert allowed("203.0.113.9", sources) and allowed("127.0.0.1", sources)
    assert not allowed("127.0.0.2", sources) and not allowed("garbage", sources)
    with pytest.raises(ValueError, match="'nope' is not an IP"):
        parse_sources(["nope"])
    event = {"notification_type": "Transaction", "merchant_order_id": "K1-x"}
    assert merchant_order_id(json.dumps(event).encode()) == "K1-x"
    for bad in (b"[", b"[]", json.dumps({**event, "notification_type": "File"}).encode(),
                json.dumps({"notification_type": "Transaction"}).encode()):  # fmt: skip
        with pytest.raises(ValueError):
            merchant_order_id(bad)


def test_hub_relay_settings_are_checked(tmp_path: Path) -> None:
    config = tmp_path / "hub.toml"
    config.write_text("[hub]\nrelay_port = 8443\n")
    with pytest.raises(HubConfigError, match="paypay_mode is empty"):
        load_hub_config(config, {})
    config.write_text('[hub]\npaypay_mode = "sandbox"\nwebhook_sources = "1.2.3.x"\n')
    with pytest.raises(HubConfigError, match=r"webhook_sources: webhook source .1\.2\.3\.x."):
        load_hub_config(config, {})
    config.write_text("[hub]\nrelay_max_skew_s = 601\n")  # nonces are kept 2 x 600 s
    with pytest.raises(HubConfigError, match="relay_max_skew_s = 601 is not 1 to 600"):
        load_hub_config(config, {})
    config.write_text("[hub]\nrelay_rate_per_min = 0\n")
    with pytest.raises(HubConfigError, match="relay_rate_per_min = 0 is not 1 to 100000"):
        load_hub_config(config, {})
    config.write_text('[hub]\npaypay_mode = "sandbox"\nrelay_port = 8443\n')
    loaded = load_hub_config(config, {"HUB_RELAY_MASTER_KEY": "c2VjcmV0"})
    assert loaded.relay.port == 8443 and loaded.relay.master_key == "c2VjcmV0"
    assert "c2VjcmV0" not in repr(loaded)


def test_a_poll_command_needs_its_sale() -> None:
    body = {"schema": 1, "command_id": "c1", "kind": "poll", "issued_at": 1.0,
            "merchant_payment_id": "K-1"}  # fmt: skip
    assert parse_command(json.dumps(body).encode()).merchant_payment_id == "K-1"
    with pytest.raises(PayloadError, match="poll needs merchant_payment_id"):
        parse_command(json.dumps({**body, "merchant_payment_id": ""}).encode())


def test_poll_now_polls_only_the_sale_on_screen(tmp_path: Path) -> None:
    """The engine hook: a nudge brings the showing sale's poll forward (the kiosk's clock does
    not move here, so without it no poll would run); any other id changes nothing."""
    with kiosk(tmp_path) as k:
        view = k.sell(300)
        k.ctl.pay(k.code_of(view.merchant_payment_id)["code_id"])
        k.runner.poll_now("K1-20261130120000-other")
        k.settle()
        k.settle()
        assert k.runner.current_sale().phase is Phase.AWAITING_PAYMENT  # type: ignore[union-attr]
        k.runner.poll_now(view.merchant_payment_id)
        assert k.wait_phase(Phase.SUCCEEDED).merchant_payment_id == view.merchant_payment_id


def test_a_kiosk_reaches_the_relay_by_its_url_and_its_own_key(tmp_path: Path) -> None:
    """Sandbox and production: `paypay_url` and the kiosk's key are all that change."""
    from kiosk.commands.paypay import make_client
    from kiosk.config.load import ConfigError, load_config
    from kiosk.ops.secrets import Credentials

    path = tmp_path / "kiosk.toml"
    path.write_text(
        'mode = "sandbox"\nmerchant_id = "m1"\npaypay_url = "https://hub.example:8443"\n'
        f'state_dir = "{tmp_path}"\n'
    )
    config = load_config(path, {})
    client, target = make_client(config, Credentials("rk_1", "kiosk-secret", "test"), None)
    assert client is not None
    assert client.base_url == "https://hub.example:8443"
    assert "hub.example:8443" in target and "kiosk-secret" not in repr(client)
    client.close()
    path.write_text('paypay_url = "ftp://hub"\n')
    with pytest.raises(ConfigError, match="paypay_url"):
        load_config(path, {})
