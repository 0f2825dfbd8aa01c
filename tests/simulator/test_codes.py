"""Dynamic QR codes: create, details, delete, the customer's actions, expiry, cancel."""

from __future__ import annotations

import re
from urllib.parse import quote

from kiosk.simulator import Simulator, SimulatorControl
from tests.simulator.conftest import START, FakeWall
from tests.simulator.signed import Signed
from tests.waiting import wait_until


def result(response: object) -> str:
    return str(response.json()["resultInfo"]["code"])  # type: ignore[attr-defined]


def test_create_answers_201_with_code_url_deeplink_and_expiry(api: Signed, sim: Simulator) -> None:
    items = [{"name": "Latte", "quantity": 2, "unitPrice": {"amount": 250, "currency": "JPY"}}]
    response = api.create("K-1", 500, orderItems=items, storeId="S1")
    assert response.status_code == 201
    body = response.json()
    assert body["resultInfo"] == {"code": "SUCCESS", "message": "Success", "codeId": "08100001"}
    data = body["data"]
    assert re.fullmatch(r"04-[A-Za-z0-9]{16}", data["codeId"])
    assert data["url"] == f"{sim.base_url}/qr/{data['codeId']}"
    assert data["deeplink"] == "paypay://payment?link_key=" + quote(data["url"], safe="")
    assert data["expiryDate"] == int(START) + 300
    assert data["merchantPaymentId"] == "K-1"
    assert data["amount"] == {"amount": 500, "currency": "JPY"}
    assert data["orderItems"][0]["unit_price"] == {"amount": 250, "currency": "JPY"}
    assert "unitPrice" not in data["orderItems"][0]
    assert data["storeId"] == "S1" and "terminalId" not in data and "metadata" not in data


def test_duplicate_merchant_payment_id_is_rejected_and_counted(
    api: Signed, ctl: SimulatorControl
) -> None:
    assert api.create("K-2").status_code == 201
    again = api.create("K-2")
    assert again.status_code == 400 and result(again) == "DUPLICATE_DYNAMIC_QR_REQUEST"
    assert again.json()["resultInfo"]["codeId"] == "01652073"
    ledger = ctl.ledger()
    assert ledger["creates_applied"] == {"K-2": 1}
    assert ledger["create_attempts"] == {"K-2": 2}
    assert len(ledger["codes"]) == 1


def test_details_unknown_created_and_paid(api: Signed, ctl: SimulatorControl) -> None:
    unknown = api.details("nope")
    assert unknown.status_code == 400 and result(unknown) == "DYNAMIC_QR_PAYMENT_NOT_FOUND"
    code_id = api.create("K-3", 700).json()["data"]["codeId"]
    created = api.details("K-3")
    assert created.status_code == 200 and created.json()["data"]["status"] == "CREATED"
    assert created.json()["data"]["acceptedAt"] == 0
    paid = ctl.pay(code_id)
    data = api.details("K-3").json()["data"]
    assert data["status"] == "COMPLETED" and data["paymentId"] == paid["paymentId"]
    assert re.fullmatch(r"\d{20}", data["paymentId"])
    assert data["acceptedAt"] == int(START) and data["amount"]["amount"] == 700
    assert data["refunds"] == {"data": []}


def test_payment_details_endpoint_is_404_until_paid(api: Signed, ctl: SimulatorControl) -> None:
    code_id = api.create("K-4").json()["data"]["codeId"]
    unpaid = api.request("GET", "/v2/payments/K-4")
    assert unpaid.status_code == 404 and result(unpaid) == "RESOURCE_NOT_FOUND"
    assert unpaid.json()["resultInfo"]["codeId"] == "00200001"
    ctl.pay(code_id)
    paid = api.request("GET", "/v2/payments/K-4")
    assert paid.status_code == 200 and paid.json()["data"]["status"] == "COMPLETED"


def test_order_items_read_back_as_unit_price(api: Signed) -> None:
    items = [{"name": "Tea", "quantity": 1, "unitPrice": {"amount": 300, "currency": "JPY"}}]
    api.create("K-5", 300, orderItems=items)
    item = api.details("K-5").json()["data"]["orderItems"][0]
    assert item == {"name": "Tea", "quantity": 1, "unitPrice": {"amount": 300, "currency": "JPY"}}


def test_delete_unpaid_then_not_payable(api: Signed, ctl: SimulatorControl) -> None:
    code_id = api.create("K-6").json()["data"]["codeId"]
    deleted = api.request("DELETE", f"/v2/codes/{code_id}")
    assert deleted.status_code == 200 and result(deleted) == "SUCCESS"
    code = ctl.ledger()["codes"][0]
    assert code["status"] == "DELETED" and code["payable"] is False
    assert api.request("DELETE", f"/v2/codes/{code_id}").status_code == 200  # idempotent
    assert api.details("K-6").json()["data"]["status"] == "CREATED"


def test_delete_paid_and_unknown(api: Signed, ctl: SimulatorControl) -> None:
    code_id = api.create("K-7").json()["data"]["codeId"]
    ctl.pay(code_id)
    paid = api.request("DELETE", f"/v2/codes/{code_id}")
    assert paid.status_code == 400 and result(paid) == "DYNAMIC_QR_ALREADY_PAID"
    unknown = api.request("DELETE", "/v2/codes/04-AAAAAAAAAAAAAAAA")
    assert unknown.status_code == 404 and result(unknown) == "DYNAMIC_QR_NOT_FOUND"


def test_python_sdk_style_delete_with_empty_json_body(api: Signed) -> None:
    code_id = api.create("K-8").json()["data"]["codeId"]
    response = api.request("DELETE", f"/v2/codes/{code_id}", raw="{}")
    assert response.status_code == 200


def test_code_expires_after_expiry_s_and_stays_created(
    api: Signed, ctl: SimulatorControl, wall: FakeWall
) -> None:
    code_id = api.create("K-9").json()["data"]["codeId"]
    wall.at += 299
    assert ctl.ledger()["codes"][0]["payable"] is True
    wall.at += 1
    code = ctl.ledger()["codes"][0]
    assert code["status"] == "EXPIRED" and code["payable"] is False
    assert api.details("K-9").json()["data"]["status"] == "CREATED"
    try:
        ctl.pay(code_id)
        raise AssertionError("an expired code was paid")
    except RuntimeError as error:
        assert "ORDER_EXPIRED" in str(error)


def test_expire_control_and_clock_advance(api: Signed, ctl: SimulatorControl) -> None:
    first = api.create("K-10").json()["data"]["codeId"]
    api.create("K-11")
    ctl.expire(first)
    codes = {c["merchant_payment_id"]: c for c in ctl.ledger()["codes"]}
    assert codes["K-10"]["status"] == "EXPIRED" and codes["K-11"]["status"] == "ACTIVE"
    ctl.advance_clock(300)
    assert all(not c["payable"] for c in ctl.ledger()["codes"])


def test_decline_ends_failed_and_code_is_spent(api: Signed, ctl: SimulatorControl) -> None:
    code_id = api.create("K-12").json()["data"]["codeId"]
    assert ctl.decline(code_id)["status"] == "FAILED"
    assert api.details("K-12").json()["data"]["status"] == "FAILED"
    assert ctl.ledger()["codes"][0]["payable"] is False
    # Deleting a code whose payment failed is harmless, so it succeeds (not ALREADY_PAID).
    assert api.request("DELETE", f"/v2/codes/{code_id}").status_code == 200


def test_cancel_before_payment_makes_the_payment_fail(api: Signed, ctl: SimulatorControl) -> None:
    code_id = api.create("K-13").json()["data"]["codeId"]
    cancel = api.request("DELETE", "/v2/payments/K-13")
    assert cancel.status_code == 202 and result(cancel) == "REQUEST_ACCEPTED"
    assert cancel.json()["resultInfo"]["codeId"] == "08100001"
    assert ctl.ledger()["codes"][0]["payable"] is False
    assert ctl.pay(code_id)["status"] == "FAILED"
    assert api.details("K-13").json()["data"]["status"] == "FAILED"


def test_cancel_before_create_applies_to_the_late_create(
    api: Signed, ctl: SimulatorControl
) -> None:
    assert api.request("DELETE", "/v2/payments/K-14").status_code == 202
    code_id = api.create("K-14").json()["data"]["codeId"]
    assert ctl.pay(code_id)["status"] == "FAILED"


def test_pay_after_delay(api: Signed, ctl: SimulatorControl, sim: Simulator) -> None:
    code_id = api.create("K-15").json()["data"]["codeId"]
    ctl.pay(code_id, after_s=0.05)
    wait_until(
        lambda: api.details("K-15").json()["data"]["status"] == "COMPLETED",
        what="K-15 COMPLETED after the delayed payment",
    )


def test_pay_by_merchant_payment_id(api: Signed, ctl: SimulatorControl) -> None:
    api.create("K-16")
    payment = ctl.pay_by_merchant_payment_id("K-16")
    assert api.details("K-16").json()["data"]["paymentId"] == payment["paymentId"]


def test_requested_at_defaults_to_now_and_sets_expiry(api: Signed, wall: FakeWall) -> None:
    body = {
        "merchantPaymentId": "K-17",
        "amount": {"amount": 1, "currency": "JPY"},
        "codeType": "ORDER_QR",
    }
    wall.at += 10
    data = api.request("POST", "/v2/codes", body).json()["data"]
    assert data["requestedAt"] == int(START) + 10
    assert data["expiryDate"] == int(START) + 310
