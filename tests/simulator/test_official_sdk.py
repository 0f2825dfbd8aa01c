"""PayPay's own Python SDK (``paypayopa``) works unchanged against the simulator.

Skipped with the reason when the package cannot import (it needs ``pkg_resources`` at import
time, absent from default Python 3.12+ venvs and from setuptools >= 82).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from kiosk.simulator import Simulator, SimulatorConfig, SimulatorControl, start_simulator

try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import paypayopa
except Exception as error:  # ImportError, or pkg_resources' own failures
    pytest.skip(f"paypayopa cannot be imported: {error!r}", allow_module_level=True)

KEY, SECRET, MERCHANT = "sdk_key", "sdk_secret", "sdk_merchant"


@pytest.fixture
def running() -> Iterator[Simulator]:
    # The SDK signs with the real clock, so this simulator uses the real wall clock too.
    config = SimulatorConfig(api_key=KEY, api_secret=SECRET, merchant_id=MERCHANT, control=True)
    sim = start_simulator(config)
    yield sim
    sim.stop()


@pytest.fixture
def sdk(running: Simulator) -> Iterator[Any]:
    client = paypayopa.Client(auth=(KEY, SECRET), production_mode=False, base_url=running.base_url)
    client.set_assume_merchant(MERCHANT)
    yield client
    client.session.close()


@pytest.fixture
def ctl(running: Simulator) -> Iterator[SimulatorControl]:
    with SimulatorControl(running.base_url) as control:
        yield control


def order(mpid: str, amount: int = 1000, **extra: Any) -> dict[str, Any]:
    return {
        "merchantPaymentId": mpid,
        "codeType": "ORDER_QR",
        "orderDescription": "Coffee",
        "isAuthorization": False,
        "amount": {"amount": amount, "currency": "JPY"},
        "orderItems": [
            {"name": "Coffee", "quantity": 1, "unitPrice": {"amount": amount, "currency": "JPY"}}
        ],
    } | extra


def test_sdk_dynamic_qr_flow(sdk: Any, ctl: SimulatorControl) -> None:
    created = sdk.Code.create_qr_code(order("SDK-1"))
    assert created["resultInfo"]["code"] == "SUCCESS"
    code_id = created["data"]["codeId"]
    assert sdk.Code.get_payment_details("SDK-1")["data"]["status"] == "CREATED"
    unpaid = sdk.Payment.get_payment_details("SDK-1")  # the SDK's pitfall, faithfully
    assert unpaid["resultInfo"]["code"] == "RESOURCE_NOT_FOUND"
    ctl.pay(code_id)
    details = sdk.Code.get_payment_details("SDK-1")["data"]
    assert details["status"] == "COMPLETED"
    refund = sdk.Payment.refund_payment(
        {
            "merchantRefundId": "SDK-R1",
            "paymentId": details["paymentId"],
            "amount": {"amount": 400, "currency": "JPY"},
            "reason": "test",
        }
    )
    assert refund["resultInfo"]["code"] == "SUCCESS"  # POST /v2/refunds/ (trailing slash)
    assert sdk.Payment.refund_details("SDK-R1")["data"]["status"] == "REFUNDED"
    assert sdk.Payment.get_payment_details("SDK-1")["data"]["status"] == "COMPLETED"
    cancel = sdk.Payment.cancel_payment("SDK-1")
    assert cancel["resultInfo"]["code"] == "ORDER_NOT_REVERSIBLE"  # refunds exist already


def test_sdk_delete_and_cancel(sdk: Any, ctl: SimulatorControl) -> None:
    code_id = sdk.Code.create_qr_code(order("SDK-2"))["data"]["codeId"]
    assert sdk.Code.delete_qr_code(code_id)["resultInfo"]["code"] == "SUCCESS"  # body "{}"
    sdk.Code.create_qr_code(order("SDK-3"))
    assert sdk.Payment.cancel_payment("SDK-3")["resultInfo"]["code"] == "REQUEST_ACCEPTED"
    ledger = ctl.ledger()
    assert all(not c["payable"] for c in ledger["codes"])


def test_sdk_preauth_capture_and_revert(sdk: Any, ctl: SimulatorControl) -> None:
    ctl.pay(sdk.Code.create_qr_code(order("SDK-4", isAuthorization=True))["data"]["codeId"])
    captured = sdk.Payment.capture_payment(
        {
            "merchantPaymentId": "SDK-4",
            "merchantCaptureId": "SDK-C1",
            "amount": {"amount": 800, "currency": "JPY"},
            "orderDescription": "vended",
        }
    )
    assert captured["data"]["status"] == "COMPLETED"
    ctl.pay(sdk.Code.create_qr_code(order("SDK-5", isAuthorization=True))["data"]["codeId"])
    payment_id = sdk.Code.get_payment_details("SDK-5")["data"]["paymentId"]
    reverted = sdk.Payment.revert_payment(
        {"merchantRevertId": "SDK-V1", "paymentId": payment_id, "reason": "vend failed"}
    )
    assert reverted["data"]["status"] == "CANCELED"
