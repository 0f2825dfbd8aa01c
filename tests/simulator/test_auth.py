"""Authentication exactly as the reference's section 1.7: what passes, what is 401."""

from __future__ import annotations

import json

import pytest

from kiosk.opa.signing import auth_header
from kiosk.simulator import Simulator, SimulatorConfig, start_simulator
from tests.simulator.conftest import KEY, MERCHANT, SECRET, START, FakeWall
from tests.simulator.signed import Signed

BODY = {
    "merchantPaymentId": "AU-1",
    "amount": {"amount": 500, "currency": "JPY"},
    "codeType": "ORDER_QR",
    "requestedAt": int(START),
}


def is_unauthorized(response: object) -> bool:
    info = response.json()["resultInfo"]  # type: ignore[attr-defined]
    return bool(
        response.status_code == 401  # type: ignore[attr-defined]
        and info
        == {"code": "UNAUTHORIZED", "message": "Unauthorized request", "codeId": "08100016"}
    )


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json;charset=UTF-8", "application/json;charset=UTF-8;"],
)
def test_every_sdk_content_type_is_accepted(
    sim: Simulator, wall: FakeWall, content_type: str
) -> None:
    client = Signed(sim.base_url, KEY, SECRET, MERCHANT, epoch=wall, content_type=content_type)
    assert client.create("AU-" + content_type[-4:]).status_code == 201


def test_compact_and_spaced_json_and_long_nonces(sim: Simulator, wall: FakeWall) -> None:
    client = Signed(sim.base_url, KEY, SECRET, MERCHANT, epoch=wall)
    compact = json.dumps(BODY, separators=(",", ":"))
    assert client.request("POST", "/v2/codes", raw=compact).status_code == 201
    header = auth_header(
        api_key=KEY,
        api_secret=SECRET,
        method="GET",
        path="/v2/codes/payments/AU-1",
        nonce="0f8fad5b-d9cb-469f-a165-70867728950e",
        epoch=int(START),
    )
    response = client.session.get(
        sim.base_url + "/v2/codes/payments/AU-1", headers={"Authorization": header}
    )
    assert response.status_code == 200


def test_get_with_content_type_header_empty_as_php_sends(api: Signed) -> None:
    api.create("AU-2")
    response = api.request("GET", "/v2/codes/payments/AU-2", headers={"Content-Type": "empty"})
    assert response.status_code == 200


def test_bad_mac_wrong_key_stale_epoch_tampered_body(sim: Simulator, wall: FakeWall) -> None:
    wrong_secret = Signed(sim.base_url, KEY, "not-the-secret", MERCHANT, epoch=wall)
    assert is_unauthorized(wrong_secret.create("AU-3"))
    wrong_key = Signed(sim.base_url, "other_key", SECRET, MERCHANT, epoch=wall)
    assert is_unauthorized(wrong_key.create("AU-3"))
    stale = Signed(sim.base_url, KEY, SECRET, MERCHANT, epoch=lambda: wall() - 121)
    assert is_unauthorized(stale.create("AU-3"))
    future = Signed(sim.base_url, KEY, SECRET, MERCHANT, epoch=lambda: wall() + 121)
    assert is_unauthorized(future.create("AU-3"))
    edge = Signed(sim.base_url, KEY, SECRET, MERCHANT, epoch=lambda: wall() - 120)
    good = Signed(sim.base_url, KEY, SECRET, MERCHANT, epoch=wall)
    signed_text = json.dumps(BODY)
    tampered = signed_text.replace("500", "5")
    assert is_unauthorized(good.request("POST", "/v2/codes", raw=tampered, sign_body=signed_text))
    assert edge.create("AU-3").status_code == 201


def test_missing_or_malformed_header(api: Signed, sim: Simulator) -> None:
    assert is_unauthorized(api.session.get(sim.base_url + "/v2/codes/payments/x"))
    for header in ["Bearer abc", "hmac OPA-Auth:a:b:c", "hmac OPA-Auth:k:m:n:notanumber:empty"]:
        response = api.session.get(
            sim.base_url + "/v2/codes/payments/x", headers={"Authorization": header}
        )
        assert is_unauthorized(response)


def test_content_type_is_hashed_verbatim(api: Signed) -> None:
    # Signed as application/json;charset=UTF-8 but sent with another header: hash mismatch.
    response = api.request("POST", "/v2/codes", BODY, headers={"Content-Type": "application/json"})
    assert is_unauthorized(response)


def test_merchant_header_and_query(sim: Simulator, wall: FakeWall) -> None:
    empty = Signed(sim.base_url, KEY, SECRET, "", epoch=wall)
    assert empty.create("AU-4").status_code == 201
    wrong = Signed(sim.base_url, KEY, SECRET, "someone_else", epoch=wall)
    assert is_unauthorized(wrong.create("AU-5"))
    by_query = empty.request("GET", f"/v2/codes/payments/AU-4?assumeMerchant={MERCHANT}")
    assert by_query.status_code == 200
    query_wins = wrong.request("GET", f"/v2/codes/payments/AU-4?assumeMerchant={MERCHANT}")
    assert query_wins.status_code == 200
    bad_query = empty.request("GET", "/v2/codes/payments/AU-4?assumeMerchant=nope")
    assert is_unauthorized(bad_query)


def test_required_merchant(wall: FakeWall) -> None:
    config = SimulatorConfig(
        api_key=KEY, api_secret=SECRET, merchant_id=MERCHANT, wall=wall, require_merchant=True
    )
    sim = start_simulator(config)
    try:
        assert is_unauthorized(Signed(sim.base_url, KEY, SECRET, "", epoch=wall).create("AU-6"))
        ok = Signed(sim.base_url, KEY, SECRET, MERCHANT, epoch=wall).create("AU-6")
        assert ok.status_code == 201
    finally:
        sim.stop()


def test_unauthorized_request_changes_nothing(sim: Simulator, wall: FakeWall) -> None:
    Signed(sim.base_url, KEY, "wrong", MERCHANT, epoch=wall).create("AU-7")
    assert sim.snapshot()["codes"] == []
