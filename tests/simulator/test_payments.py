"""Paid orders: the cancel window, refunds, preauthorization capture and revert."""

from __future__ import annotations

from datetime import datetime

from kiosk.simulator import SimulatorControl
from kiosk.simulator.model import JST, cancel_deadline
from tests.simulator.conftest import START, FakeWall
from tests.simulator.signed import Signed


def code(response: object) -> str:
    return str(response.json()["resultInfo"]["code"])  # type: ignore[attr-defined]


def paid(api: Signed, ctl: SimulatorControl, mpid: str, amount: int = 1000, **extra: object) -> str:
    code_id = api.create(mpid, amount, **extra).json()["data"]["codeId"]
    return str(ctl.pay(code_id)["paymentId"])


def refund(api: Signed, payment_id: str, mrid: str, amount: int) -> object:
    body = {
        "merchantRefundId": mrid,
        "paymentId": payment_id,
        "amount": {"amount": amount, "currency": "JPY"},
        "requestedAt": int(START),
        "reason": "vend failed",
    }
    return api.request("POST", "/v2/refunds", body)


def test_cancel_deadline_is_0014_59_jst_the_next_day() -> None:
    accepted = int(datetime(2024, 3, 1, 23, 50, tzinfo=JST).timestamp())
    assert cancel_deadline(accepted) == int(datetime(2024, 3, 2, 0, 14, 59, tzinfo=JST).timestamp())
    early = int(datetime(2024, 3, 1, 0, 1, tzinfo=JST).timestamp())
    assert cancel_deadline(early) == int(datetime(2024, 3, 2, 0, 14, 59, tzinfo=JST).timestamp())


def test_cancel_paid_within_window(api: Signed, ctl: SimulatorControl) -> None:
    paid(api, ctl, "P-1")
    response = api.request("DELETE", "/v2/payments/P-1")
    assert response.status_code == 202 and code(response) == "REQUEST_ACCEPTED"
    data = api.details("P-1").json()["data"]
    assert data["status"] == "CANCELED" and data["canceledAt"] == int(START)
    assert api.request("DELETE", "/v2/payments/P-1").status_code == 202  # idempotent


def test_cancel_after_the_cutoff_is_not_reversible(
    api: Signed, ctl: SimulatorControl, wall: FakeWall
) -> None:
    paid(api, ctl, "P-2")
    deadline = cancel_deadline(int(START))
    ctl.advance_clock(deadline - int(START))
    assert api.request("DELETE", "/v2/payments/P-2").status_code == 202
    paid(api, ctl, "P-3")  # paid at the deadline second: its own window runs to the next day
    ctl.advance_clock(86_400 + 1)
    late = api.request("DELETE", "/v2/payments/P-3")
    assert late.status_code == 400 and code(late) == "ORDER_NOT_REVERSIBLE"
    assert late.json()["resultInfo"]["codeId"] == "00200044"


def test_signature_epoch_uses_wall_not_the_control_clock(
    api: Signed, ctl: SimulatorControl
) -> None:
    ctl.advance_clock(7 * 86_400)
    assert api.create("P-4").status_code == 201  # still signed with the real wall time


def test_partial_refunds_then_refunded(api: Signed, ctl: SimulatorControl) -> None:
    payment_id = paid(api, ctl, "P-5", 1000)
    first = refund(api, payment_id, "R-1", 600)
    assert first.status_code == 201
    data = first.json()["data"]  # type: ignore[attr-defined]
    assert data["status"] == "CREATED" and data["amount"]["amount"] == 600
    assert data["merchantRefundId"] == "R-1" and data["paymentId"] == payment_id
    assert api.details("P-5").json()["data"]["status"] == "COMPLETED"
    too_much = refund(api, payment_id, "R-2", 401)
    assert too_much.status_code == 400 and code(too_much) == "INVALID_PARAMS"
    assert too_much.json()["resultInfo"]["codeId"] == "00200015"  # type: ignore[attr-defined]
    assert refund(api, payment_id, "R-3", 400).status_code == 201
    details = api.details("P-5").json()["data"]
    assert details["status"] == "REFUNDED"
    assert [r["merchantRefundId"] for r in details["refunds"]["data"]] == ["R-1", "R-3"]
    assert ctl.ledger()["payments"][0]["refunded"] == 1000


def test_refund_retry_with_same_id_does_not_refund_twice(
    api: Signed, ctl: SimulatorControl
) -> None:
    payment_id = paid(api, ctl, "P-6", 1000)
    assert refund(api, payment_id, "R-4", 700).status_code == 201
    assert refund(api, payment_id, "R-4", 700).status_code == 201
    assert ctl.ledger()["payments"][0]["refunded"] == 700
    clash = refund(api, payment_id, "R-4", 100)
    assert clash.status_code == 400


def test_at_most_twenty_refunds(api: Signed, ctl: SimulatorControl) -> None:
    payment_id = paid(api, ctl, "P-7", 100)
    for index in range(20):
        assert refund(api, payment_id, f"R-{index}", 1).status_code == 201
    limit = refund(api, payment_id, "R-20", 1)
    assert limit.status_code == 400 and code(limit) == "REFUND_LIMIT_EXCEEDED"


def test_refund_unknown_payment_and_unpaid_states(api: Signed, ctl: SimulatorControl) -> None:
    unknown = refund(api, "P-8", "R-9", 1)  # a merchantPaymentId is not a paymentId
    assert unknown.status_code == 404 and code(unknown) == "RESOURCE_NOT_FOUND"
    code_id = api.create("P-9").json()["data"]["codeId"]
    failed_id = ctl.decline(code_id)["paymentId"]
    refused = refund(api, failed_id, "R-10", 1)
    assert refused.status_code == 400 and code(refused) == "UNACCEPTABLE_OP"


def test_refund_details_with_and_without_payment_id(api: Signed, ctl: SimulatorControl) -> None:
    payment_id = paid(api, ctl, "P-10")
    refund(api, payment_id, "R-11", 10)
    plain = api.request("GET", "/v2/refunds/R-11")
    assert plain.status_code == 200 and plain.json()["data"]["status"] == "REFUNDED"
    query = api.request("GET", f"/v2/refunds/R-11?paymentId={payment_id}")
    assert query.status_code == 200 and query.json()["data"]["paymentId"] == payment_id
    wrong = api.request("GET", "/v2/refunds/R-11?paymentId=00000000000000000000")
    assert wrong.status_code == 404 and code(wrong) == "NO_SUCH_REFUND_ORDER"
    missing = api.request("GET", "/v2/refunds/R-nope")
    assert missing.status_code == 404 and code(missing) == "NO_SUCH_REFUND_ORDER"


def test_refund_with_trailing_slash_as_the_python_sdk_sends(
    api: Signed, ctl: SimulatorControl
) -> None:
    payment_id = paid(api, ctl, "P-11")
    body = {
        "merchantRefundId": "R-12",
        "paymentId": payment_id,
        "amount": {"amount": 5, "currency": "JPY"},
    }
    assert api.request("POST", "/v2/refunds/", body).status_code == 201


def capture(api: Signed, mpid: str, mcid: str, amount: int) -> object:
    body = {
        "merchantPaymentId": mpid,
        "merchantCaptureId": mcid,
        "amount": {"amount": amount, "currency": "JPY"},
        "orderDescription": "vended",
        "requestedAt": int(START),
    }
    return api.request("POST", "/v2/payments/capture", body)


def test_preauth_authorized_then_captured(api: Signed, ctl: SimulatorControl) -> None:
    code_id = api.create("A-1", 500, isAuthorization=True).json()["data"]["codeId"]
    assert ctl.pay(code_id)["status"] == "AUTHORIZED"
    data = api.details("A-1").json()["data"]
    assert data["status"] == "AUTHORIZED" and data["authorizedAt"] == int(START)
    captured = capture(api, "A-1", "C-1", 300)
    assert captured.status_code == 200
    after = captured.json()["data"]  # type: ignore[attr-defined]
    assert after["status"] == "COMPLETED" and after["amount"]["amount"] == 300
    assert after["captures"]["data"][0]["status"] == "COMPLETED"
    again = capture(api, "A-1", "C-2", 100)
    assert again.status_code == 400 and code(again) == "ALREADY_CAPTURED"


def test_capture_above_authorized_needs_user_confirmation(
    api: Signed, ctl: SimulatorControl
) -> None:
    code_id = api.create("A-2", 500, isAuthorization=True).json()["data"]["codeId"]
    ctl.pay(code_id)
    response = capture(api, "A-2", "C-3", 600)
    assert response.status_code == 202
    assert response.json()["resultInfo"]["code"] == "USER_CONFIRMATION_REQUIRED"  # type: ignore[attr-defined]
    assert api.details("A-2").json()["data"]["captures"]["data"][0]["status"] == "USER_REQUESTED"


def test_capture_of_a_completed_plain_payment_is_refused(
    api: Signed, ctl: SimulatorControl
) -> None:
    paid(api, ctl, "A-3")
    response = capture(api, "A-3", "C-4", 100)
    assert response.status_code == 400 and code(response) == "ORDER_NOT_CAPTURABLE"


def test_revert_authorization(api: Signed, ctl: SimulatorControl) -> None:
    code_id = api.create("A-4", 500, isAuthorization=True).json()["data"]["codeId"]
    payment_id = ctl.pay(code_id)["paymentId"]
    body = {"merchantRevertId": "V-1", "paymentId": payment_id, "reason": "vend failed"}
    response = api.request("POST", "/v2/payments/preauthorize/revert", body)
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["status"] == "CANCELED" and data["paymentId"] == payment_id
    assert data["merchantRevertId"] == "V-1"
    details = api.details("A-4").json()["data"]
    assert details["status"] == "CANCELED" and details["revert"]["merchantRevertId"] == "V-1"
    assert api.request("POST", "/v2/payments/preauthorize/revert", body).status_code == 200
    other = api.request(
        "POST", "/v2/payments/preauthorize/revert", body | {"merchantRevertId": "V-2"}
    )
    assert other.status_code == 400 and code(other) == "ORDER_NOT_CANCELABLE"


def test_authorization_expires(api: Signed, ctl: SimulatorControl) -> None:
    expiry = int(START) + 3600
    created = api.create("A-5", 500, isAuthorization=True, authorizationExpiry=expiry)
    assert created.json()["data"]["authorizationExpiry"] == expiry
    ctl.pay(created.json()["data"]["codeId"])
    ctl.advance_clock(3600)
    assert api.details("A-5").json()["data"]["status"] == "EXPIRED"
    late = capture(api, "A-5", "C-5", 500)
    assert late.status_code == 400 and code(late) == "ORDER_EXPIRED"
    bad = api.create("A-6", 500, isAuthorization=True, authorizationExpiry=int(START) - 1)
    assert code(bad) == "PRE_AUTH_CAPTURE_INVALID_EXPIRY_DATE"


def test_customer_confirms_a_higher_capture(api: Signed, ctl: SimulatorControl) -> None:
    code_id = api.create("A-7", 500, isAuthorization=True).json()["data"]["codeId"]
    ctl.pay(code_id)
    assert capture(api, "A-7", "C-7", 800).status_code == 202  # type: ignore[attr-defined]
    data = ctl.confirm_capture("A-7")
    assert data["status"] == "COMPLETED" and data["amount"]["amount"] == 800
    assert ctl.ledger()["payments"][0]["captures"][0]["status"] == "COMPLETED"
    try:
        ctl.confirm_capture("A-7")
        raise AssertionError("confirmed twice")
    except RuntimeError as error:
        assert "ORDER_NOT_CAPTURABLE" in str(error)


def test_configured_expiry_and_refund_settling(wall: FakeWall) -> None:
    from kiosk.simulator import SimulatorConfig, start_simulator
    from tests.simulator.conftest import KEY, MERCHANT, SECRET

    config = SimulatorConfig(
        api_key=KEY,
        api_secret=SECRET,
        merchant_id=MERCHANT,
        control=True,
        wall=wall,
        expiry_s=60,
        refund_settle_s=5,
    )
    sim = start_simulator(config)
    ctl = SimulatorControl(sim.base_url)
    try:
        api = Signed(sim.base_url, KEY, SECRET, MERCHANT, epoch=wall)
        created = api.create("E-1").json()["data"]
        assert created["expiryDate"] == int(START) + 60
        payment_id = ctl.pay(created["codeId"])["paymentId"]
        refund(api, payment_id, "ER-1", 10)
        assert api.request("GET", "/v2/refunds/ER-1").json()["data"]["status"] == "CREATED"
        assert ctl.ledger()["payments"][0]["refunds"][0]["status"] == "CREATED"
        wall.at += 5
        assert api.request("GET", "/v2/refunds/ER-1").json()["data"]["status"] == "REFUNDED"
        api.create("E-2")
        wall.at += 60
        assert ctl.ledger()["codes"][1]["status"] == "EXPIRED"
    finally:
        ctl.close()
        sim.stop()
