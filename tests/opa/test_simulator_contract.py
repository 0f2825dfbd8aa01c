"""The client against the project's PayPay simulator: every kiosk flow, faults, auth.

Real sockets both ways; the simulator verifies signatures as PayPay does, and its ``/_sim/``
control API plays the customer, injects faults and shows the ledger.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
import requests

import kiosk.simulator as sim_app
from kiosk import opa

_ids = itertools.count(1)


class Control:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def post(self, path: str, body: object = None) -> dict[str, Any]:
        answer = requests.post(self.base_url + path, json=body, timeout=5)
        assert answer.status_code < 300, answer.text
        result: dict[str, Any] = answer.json()
        return result

    def pay(self, code_id: str) -> dict[str, Any]:
        return self.post(f"/_sim/codes/{code_id}/pay")["data"]

    def fault(self, **fault: object) -> None:
        self.post("/_sim/faults", fault)

    def advance(self, seconds: float) -> None:
        self.post("/_sim/clock", {"advance_s": seconds})

    def ledger(self) -> dict[str, Any]:
        answer = requests.get(self.base_url + "/_sim/ledger", timeout=5)
        data: dict[str, Any] = answer.json()["data"]
        return data

    def requests(self, endpoint: str) -> int:
        count: int = self.ledger()["requests"].get(endpoint, 0)
        return count


def _start() -> Any:
    return sim_app.start_simulator(sim_app.SimulatorConfig(control=True, seed=7))


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    with _start() as running:  # shared: every test uses fresh ids
        yield running


@pytest.fixture
def control(sim: Any) -> Iterator[Control]:
    made = Control(sim.base_url)
    yield made
    requests.delete(sim.base_url + "/_sim/faults", timeout=5)


@pytest.fixture
def client(sim: Any) -> Iterator[opa.Client]:
    config = sim.config
    with opa.Client(
        auth=(config.api_key, config.api_secret),
        base_url=sim.base_url,
        sleep=lambda _s: None,  # retries are counted, not waited for
    ) as made:
        made.set_assume_merchant(config.merchant_id)
        yield made


def new_id(prefix: str = "KIOSK") -> str:
    return f"{prefix}-{next(_ids):06d}"


def order(mpid: str, amount_yen: int = 500, **extra: object) -> dict[str, Any]:
    return {
        "merchantPaymentId": mpid,
        "amount": {"amount": amount_yen, "currency": "JPY"},
        "codeType": "ORDER_QR",
        "orderDescription": "Coffee",
        **extra,
    }


def test_create_poll_pay_is_the_happy_path(client: opa.Client, control: Control) -> None:
    mpid = new_id()
    created = client.Code.create_qr_code(order(mpid))
    assert created["resultInfo"]["code"] == "SUCCESS"
    data = created["data"]
    assert data["codeId"].startswith("04-") and len(data["codeId"]) == 19
    assert data["url"] and data["deeplink"].startswith("paypay://payment?link_key=")
    assert data["expiryDate"] - data["requestedAt"] == 300
    assert client.Code.get_payment_details(mpid)["data"]["status"] == "CREATED"
    control.pay(data["codeId"])
    paid = client.Code.get_payment_details(mpid)["data"]
    assert paid["status"] == "COMPLETED" and len(paid["paymentId"]) == 20
    assert paid["amount"] == {"amount": 500, "currency": "JPY"}
    assert client.Payment.get_payment_details(mpid)["data"]["status"] == "COMPLETED"


def test_duplicate_unknown_and_wrong_status_api_errors(client: opa.Client) -> None:
    mpid = new_id()
    client.Code.create_qr_code(order(mpid))
    with pytest.raises(opa.Duplicate) as duplicate:
        client.Code.create_qr_code(order(mpid))
    assert duplicate.value.code == "DUPLICATE_DYNAMIC_QR_REQUEST"
    with pytest.raises(opa.NotFound) as unknown:
        client.Code.get_payment_details(new_id())
    assert unknown.value.code == "DYNAMIC_QR_PAYMENT_NOT_FOUND"
    with pytest.raises(opa.NotFound) as unpaid:
        client.Payment.get_payment_details(mpid)  # PayPay's pitfall: 404 for an unpaid QR
    assert (unpaid.value.status, unpaid.value.code) == (404, "RESOURCE_NOT_FOUND")


def test_delete_unpaid_then_paid_then_unknown(client: opa.Client, control: Control) -> None:
    unpaid = client.Code.create_qr_code(order(new_id()))["data"]["codeId"]
    assert client.Code.delete_qr_code(unpaid)["resultInfo"]["code"] == "SUCCESS"
    paid_mpid = new_id()
    paid = client.Code.create_qr_code(order(paid_mpid))["data"]["codeId"]
    control.pay(paid)
    with pytest.raises(opa.AlreadyPaid):
        client.Code.delete_qr_code(paid)
    with pytest.raises(opa.NotFound) as unknown:
        client.Code.delete_qr_code("04-0000000000000000")
    assert unknown.value.code == "DYNAMIC_QR_NOT_FOUND"


def test_cancel_before_payment_makes_a_later_payment_fail(
    client: opa.Client, control: Control
) -> None:
    mpid = new_id()
    code_id = client.Code.create_qr_code(order(mpid))["data"]["codeId"]
    cancelled = client.Payment.cancel_payment(mpid)
    assert cancelled["resultInfo"]["code"] == "REQUEST_ACCEPTED"
    control.pay(code_id)
    assert client.Code.get_payment_details(mpid)["data"]["status"] == "FAILED"


def test_cancel_after_the_window_is_not_reversible() -> None:
    with _start() as own:  # its clock moves on: a simulator of its own
        control = Control(own.base_url)
        auth = (own.config.api_key, own.config.api_secret)
        with opa.Client(auth=auth, base_url=own.base_url) as client:
            mpid = new_id()
            control.pay(client.Code.create_qr_code(order(mpid))["data"]["codeId"])
            control.advance(2 * 86_400)
            with pytest.raises(opa.NotReversible):
                client.Payment.cancel_payment(mpid)


def test_refunds_partial_capped_and_looked_up(client: opa.Client, control: Control) -> None:
    mpid = new_id()
    control.pay(client.Code.create_qr_code(order(mpid, 1000))["data"]["codeId"])
    payment_id = client.Code.get_payment_details(mpid)["data"]["paymentId"]
    refund_id = new_id("R")
    refund = {"merchantRefundId": refund_id, "paymentId": payment_id, "amount": 600}
    created = client.Payment.refund_payment(refund)["data"]
    assert created["status"] in ("CREATED", "REFUNDED")
    assert created["merchantRefundId"] == refund_id
    with pytest.raises(opa.InvalidParams):
        client.Payment.refund_payment({**refund, "merchantRefundId": new_id("R")})  # 600 + 600
    details = client.Payment.refund_details(refund_id, payment_id=payment_id)["data"]
    assert details["amount"] == {"amount": 600, "currency": "JPY"}
    assert client.Pending.refund_details(refund_id)["data"]["merchantRefundId"] == refund_id
    with pytest.raises(opa.NotFound) as unknown:
        client.Payment.refund_details(new_id("R"))
    assert unknown.value.code == "NO_SUCH_REFUND_ORDER"
    with pytest.raises(opa.NotFound):
        client.Payment.refund_payment({**refund, "merchantRefundId": new_id("R"), "paymentId": "1"})


def test_preauth_capture_and_revert(client: opa.Client, control: Control) -> None:
    captured = new_id()
    control.pay(client.Code.create_qr_code(order(captured, isAuthorization=True))["data"]["codeId"])
    assert client.Code.get_payment_details(captured)["data"]["status"] == "AUTHORIZED"
    capture = {
        "merchantPaymentId": captured,
        "merchantCaptureId": new_id("C"),
        "amount": {"amount": 300, "currency": "JPY"},
        "orderDescription": "vended",
    }
    assert client.Payment.capture_payment(capture)["resultInfo"]["code"] == "SUCCESS"
    assert client.Code.get_payment_details(captured)["data"]["status"] == "COMPLETED"

    above = new_id()
    control.pay(client.Code.create_qr_code(order(above, isAuthorization=True))["data"]["codeId"])
    more = {**capture, "merchantPaymentId": above, "merchantCaptureId": new_id("C")}
    more["amount"] = {"amount": 900, "currency": "JPY"}
    confirm = client.Payment.capture_payment(more)  # a 202 is an answer, not an error
    assert confirm["resultInfo"]["code"] == "USER_CONFIRMATION_REQUIRED"

    reverted = new_id()
    control.pay(client.Code.create_qr_code(order(reverted, isAuthorization=True))["data"]["codeId"])
    payment_id = client.Code.get_payment_details(reverted)["data"]["paymentId"]
    revert = {"merchantRevertId": new_id("V"), "paymentId": payment_id, "reason": "vend failed"}
    assert client.Payment.revert_payment(revert)["data"]["status"] == "CANCELED"
    assert client.Code.get_payment_details(reverted)["data"]["status"] == "CANCELED"


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (500, "INTERNAL_SERVER_ERROR", opa.ServerError),
        (503, "MAINTENANCE_MODE", opa.Maintenance),
        (429, "RATE_LIMIT", opa.RateLimited),
        (500, "TRANSACTION_FAILED", opa.TransactionFailed),
        (502, None, opa.OutcomeUnknown),
    ],
)
def test_injected_faults_on_create_raise_without_resending(
    client: opa.Client, control: Control, status: int, code: str | None, kind: type
) -> None:
    before = control.requests("create_code")
    control.fault(endpoint="create_code", status=status, code=code)
    with pytest.raises(kind):
        client.Code.create_qr_code(order(new_id()))
    assert control.requests("create_code") == before + 1


def test_applied_but_answer_lost_is_unknown_and_the_query_finds_it(
    client: opa.Client, control: Control
) -> None:
    mpid = new_id()
    control.fault(endpoint="create_code", drop_response=True)
    with pytest.raises(opa.ConnectionLost):
        client.Code.create_qr_code(order(mpid))
    assert client.Code.get_payment_details(mpid)["data"]["status"] == "CREATED"


def test_slow_answer_past_the_timeout_is_unknown(sim: Any, control: Control) -> None:
    config = sim.config
    control.fault(endpoint="create_code", latency_s=2)
    with opa.Client(
        auth=(config.api_key, config.api_secret), base_url=sim.base_url, timeout=0.5
    ) as client:
        mpid = new_id()
        with pytest.raises(opa.RequestTimeout):
            client.Code.create_qr_code(order(mpid))


@pytest.mark.parametrize(("status", "code"), [(503, "MAINTENANCE_MODE"), (429, "RATE_LIMIT")])
def test_polling_rides_out_a_transient_refusal(
    client: opa.Client, control: Control, status: int, code: str
) -> None:
    mpid = new_id()
    client.Code.create_qr_code(order(mpid))
    before = control.requests("get_code_payment")
    control.fault(endpoint="get_code_payment", status=status, code=code, times=2)
    assert client.Code.get_payment_details(mpid)["data"]["status"] == "CREATED"
    assert control.requests("get_code_payment") == before + 3


def test_the_simulator_refuses_a_bad_signature_and_a_stale_clock(sim: Any) -> None:
    config = sim.config
    with (
        opa.Client(auth=(config.api_key, "not-the-secret"), base_url=sim.base_url) as wrong,
        pytest.raises(opa.AuthError) as refused,
    ):
        wrong.Code.get_payment_details("X")
    assert (refused.value.status, refused.value.code_id) == (401, "08100016")
    stale = opa.Client(
        auth=(config.api_key, config.api_secret),
        base_url=sim.base_url,
        clock=lambda: sim.config.wall() - 600,
    )
    with stale, pytest.raises(opa.AuthError):
        stale.Code.get_payment_details("X")


def test_the_date_header_reaches_the_clock_guard(sim: Any) -> None:
    config = sim.config
    seen: list[opa.ResponseInfo] = []
    with (
        opa.Client(
            auth=(config.api_key, config.api_secret), base_url=sim.base_url, on_response=seen.append
        ) as client,
        pytest.raises(opa.NotFound),
    ):
        client.Code.get_payment_details(new_id())
    (info,) = seen
    assert info.status in (400, 404) and info.server_date_epoch is not None
    assert abs(info.server_date_epoch - info.local_epoch) < 5
