"""Every flow through the project's own client (``kiosk.opa.Client``) against the simulator.

The client signs, sends and classifies; the simulator verifies, applies and records. Retries
are counted, not waited for (``sleep`` is a no-op), and the ledger is the oracle.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from kiosk import opa
from kiosk.simulator import Simulator, SimulatorConfig, SimulatorControl, start_simulator
from tests.simulator.conftest import KEY, MERCHANT, SECRET, START, FakeWall

_nonces = (f"c{i:07d}" for i in itertools.count())


@pytest.fixture
def client(sim: Simulator, wall: FakeWall) -> Iterator[opa.Client]:
    with opa.Client(
        auth=(KEY, SECRET),
        base_url=sim.base_url,
        clock=wall,
        sleep=lambda _s: None,
        nonce_factory=lambda: next(_nonces),
        jitter=lambda: 0.0,
    ) as made:
        made.set_assume_merchant(MERCHANT)
        yield made


def order(mpid: str, amount: int = 1000, **extra: Any) -> dict[str, Any]:
    return {
        "merchantPaymentId": mpid,
        "amount": {"amount": amount, "currency": "JPY"},
        "codeType": "ORDER_QR",
        "orderDescription": "Coffee",
        "requestedAt": int(START),
    } | extra


def test_happy_path_create_poll_pay(client: opa.Client, ctl: SimulatorControl) -> None:
    created = client.Code.create_qr_code(order("C-1"))["data"]
    assert created["expiryDate"] == int(START) + 300
    assert client.Code.get_payment_details("C-1")["data"]["status"] == "CREATED"
    ctl.pay(created["codeId"])
    paid = client.Code.get_payment_details("C-1")["data"]
    assert paid["status"] == "COMPLETED"
    assert client.Payment.get_payment_details("C-1")["data"]["paymentId"] == paid["paymentId"]
    assert ctl.ledger()["codes"][0]["payable"] is False


def test_rejections_are_typed(client: opa.Client, ctl: SimulatorControl) -> None:
    code_id = client.Code.create_qr_code(order("C-2"))["data"]["codeId"]
    with pytest.raises(opa.Duplicate):
        client.Code.create_qr_code(order("C-2"))
    with pytest.raises(opa.NotFound):
        client.Code.get_payment_details("C-none")
    with pytest.raises(opa.NotFound):
        client.Payment.get_payment_details("C-2")  # unpaid QR: 404 as PayPay
    ctl.pay(code_id)
    with pytest.raises(opa.AlreadyPaid):
        client.Code.delete_qr_code(code_id)
    with pytest.raises(opa.NotFound):
        client.Code.delete_qr_code("04-0000000000000000")


def test_give_up_deletes_the_code(client: opa.Client, ctl: SimulatorControl) -> None:
    code_id = client.Code.create_qr_code(order("C-3"))["data"]["codeId"]
    client.Code.delete_qr_code(code_id)
    assert ctl.ledger()["codes"][0]["payable"] is False


def test_cancel_before_and_after_payment_and_the_cutoff(
    client: opa.Client, ctl: SimulatorControl
) -> None:
    early = client.Code.create_qr_code(order("C-4"))["data"]["codeId"]
    client.Payment.cancel_payment("C-4")
    ctl.pay(early)
    assert client.Code.get_payment_details("C-4")["data"]["status"] == "FAILED"
    paid = client.Code.create_qr_code(order("C-5"))["data"]["codeId"]
    ctl.pay(paid)
    assert client.Payment.cancel_payment("C-5")["resultInfo"]["code"] == "REQUEST_ACCEPTED"
    assert client.Code.get_payment_details("C-5")["data"]["status"] == "CANCELED"
    late = client.Code.create_qr_code(order("C-6"))["data"]["codeId"]
    ctl.pay(late)
    ctl.advance_clock(2 * 86_400)
    with pytest.raises(opa.NotReversible):
        client.Payment.cancel_payment("C-6")


def test_refunds_through_the_client(client: opa.Client, ctl: SimulatorControl) -> None:
    ctl.pay(client.Code.create_qr_code(order("C-7", 1000))["data"]["codeId"])
    payment_id = client.Code.get_payment_details("C-7")["data"]["paymentId"]
    refund = {"merchantRefundId": "CR-1", "paymentId": payment_id, "amount": 700}
    assert client.Payment.refund_payment(refund)["data"]["status"] == "CREATED"
    with pytest.raises(opa.InvalidParams):
        client.Payment.refund_payment(refund | {"merchantRefundId": "CR-2", "amount": 301})
    client.Payment.refund_payment(refund | {"merchantRefundId": "CR-3", "amount": 300})
    details = client.Payment.refund_details("CR-3", payment_id=payment_id)["data"]
    assert details["status"] == "REFUNDED"
    assert client.Code.get_payment_details("C-7")["data"]["status"] == "REFUNDED"
    with pytest.raises(opa.NotFound):
        client.Payment.refund_details("CR-3", payment_id="1" * 20)
    with pytest.raises(opa.NotFound):
        client.Payment.refund_payment(refund | {"merchantRefundId": "CR-4", "paymentId": "C-7"})


def test_preauth_capture_confirmation_and_revert(client: opa.Client, ctl: SimulatorControl) -> None:
    ctl.pay(client.Code.create_qr_code(order("C-8", isAuthorization=True))["data"]["codeId"])
    capture = {
        "merchantPaymentId": "C-8",
        "merchantCaptureId": "CC-1",
        "amount": {"amount": 600, "currency": "JPY"},
        "orderDescription": "vended",
    }
    assert client.Payment.capture_payment(capture)["data"]["status"] == "COMPLETED"
    with pytest.raises(opa.OperationNotAllowed):
        client.Payment.capture_payment(capture | {"merchantCaptureId": "CC-2"})
    ctl.pay(client.Code.create_qr_code(order("C-9", isAuthorization=True))["data"]["codeId"])
    above = capture | {"merchantPaymentId": "C-9", "merchantCaptureId": "CC-3"}
    above["amount"] = {"amount": 1500, "currency": "JPY"}
    confirm = client.Payment.capture_payment(above)
    assert confirm["resultInfo"]["code"] == "USER_CONFIRMATION_REQUIRED"
    payment_id = client.Code.get_payment_details("C-9")["data"]["paymentId"]
    revert = {"merchantRevertId": "CV-1", "paymentId": payment_id}
    assert client.Payment.revert_payment(revert)["data"]["status"] == "CANCELED"
    with pytest.raises(opa.NotReversible):
        client.Payment.revert_payment(revert | {"merchantRevertId": "CV-2"})


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ({"status": 500}, opa.ServerError),
        ({"status": 502}, opa.ServerError),
        ({"status": 504}, opa.ServerError),
        ({"status": 503, "code": "MAINTENANCE_MODE"}, opa.Maintenance),
        ({"status": 429, "code": "RATE_LIMIT"}, opa.RateLimited),
        ({"drop_response": True}, opa.ConnectionLost),
    ],
)
def test_create_faults_raise_and_the_ledger_tells_what_happened(
    client: opa.Client, ctl: SimulatorControl, fault: dict[str, Any], kind: type[Exception]
) -> None:
    ctl.add_fault(endpoint="create_code", **fault)
    with pytest.raises(kind):
        client.Code.create_qr_code(order("C-10"))
    ledger = ctl.ledger()
    applied = 1 if fault.get("drop_response") else 0
    assert ledger["creates_applied"].get("C-10", 0) == applied
    assert ledger["requests"]["create_code"] == 1  # a create is never re-sent


def test_applied_500_then_query_finds_the_code(client: opa.Client, ctl: SimulatorControl) -> None:
    ctl.add_fault(endpoint="create_code", status=500, applied=True)
    with pytest.raises(opa.OutcomeUnknown):
        client.Code.create_qr_code(order("C-11"))
    assert client.Code.get_payment_details("C-11")["data"]["status"] == "CREATED"
    client.Payment.cancel_payment("C-11")  # resolve the unknown: nobody can be charged now
    assert ctl.ledger()["codes"][0]["payable"] is False


def test_slow_answer_is_a_timeout(sim: Simulator, ctl: SimulatorControl, wall: FakeWall) -> None:
    ctl.add_fault(endpoint="get_code_payment", latency_s=0.5, times=None)
    with (
        opa.Client(
            auth=(KEY, SECRET),
            base_url=sim.base_url,
            clock=wall,
            timeout=0.1,
            sleep=lambda _s: None,
            retry=opa.RetryPolicy(max_attempts=1),
        ) as slow,
        pytest.raises(opa.RequestTimeout),
    ):
        slow.Code.get_payment_details("C-12")


def test_polls_ride_out_transient_errors(client: opa.Client, ctl: SimulatorControl) -> None:
    client.Code.create_qr_code(order("C-13"))
    ctl.add_fault(endpoint="get_code_payment", status=503, code="MAINTENANCE_MODE", times=2)
    assert client.Code.get_payment_details("C-13")["data"]["status"] == "CREATED"
    assert ctl.ledger()["requests"]["get_code_payment"] == 3


def test_auth_rejections_through_the_client(sim: Simulator, wall: FakeWall) -> None:
    cases = [
        ((KEY, "wrong-secret"), wall),
        (("wrong-key", SECRET), wall),
        ((KEY, SECRET), lambda: wall() - 3600),
    ]
    for auth, clock in cases:
        with (
            opa.Client(auth=auth, base_url=sim.base_url, clock=clock) as bad,
            pytest.raises(opa.AuthError) as refused,
        ):
            bad.Code.get_payment_details("C-14")
        assert refused.value.status == 401 and refused.value.code_id == "08100016"


def test_the_rest_of_the_surface(client: opa.Client, ctl: SimulatorControl) -> None:
    yen = {"amount": 500, "currency": "JPY"}
    direct = {"merchantPaymentId": "X-1", "userAuthorizationId": "U-1", "amount": yen}
    assert client.Payment.create(direct, agree_similar_transaction=True)["data"]["status"] == (
        "COMPLETED"
    )
    pre = direct | {"merchantPaymentId": "X-2"}
    assert client.Preauth.pre_authorize_create(pre)["data"]["status"] == "AUTHORIZED"
    sub = direct | {"merchantPaymentId": "X-3"}
    assert client.Payment.create_continuous_payment(sub)["data"]["status"] == "COMPLETED"
    pending = direct | {"merchantPaymentId": "X-4"}
    client.Pending.create_pending_payment(pending)
    ctl.pay_by_merchant_payment_id("X-4")
    assert client.Pending.get_payment_details("X-4")["data"]["status"] == "COMPLETED"
    client.Pending.create_pending_payment(direct | {"merchantPaymentId": "X-5"})
    client.Pending.cancel_payment("X-5")
    session = {
        "scopes": ["direct_debit"],
        "nonce": "n1",
        "redirectUrl": "https://example.com/cb",
        "referenceId": "ref",
        "redirectType": "WEB_LINK",
    }
    assert "linkQRCode" in client.Account.create_qr_session(session)["data"]
    assert client.User.get_authorization_status("U-2")["data"]["status"] == "ACTIVE"
    client.User.unlink_user_authorization("U-2")
    assert client.User.get_authorization_status("U-2")["data"]["status"] == "INACTIVE"
    cashback = {"merchantCashbackId": "CB-1", "userAuthorizationId": "U-1", "amount": yen}
    client.Cashback.give_cashback(cashback)
    assert client.Cashback.check_cashback_detail("CB-1")["data"]["amount"] == yen
    reversal = {"merchantCashbackReversalId": "RV-1", "merchantCashbackId": "CB-1", "amount": yen}
    client.Cashback.reverse_cashback(reversal)
    detail = client.Cashback.check_cashback_reversal_detail("RV-1", "CB-1")["data"]
    assert detail["merchantCashbackReversalId"] == "RV-1"


def test_state_file_survives_a_restart_under_the_client(tmp_path: Any, wall: FakeWall) -> None:
    path = tmp_path / "state.json"
    config = SimulatorConfig(
        api_key=KEY,
        api_secret=SECRET,
        merchant_id=MERCHANT,
        control=True,
        wall=wall,
        state_file=path,
    )
    first = start_simulator(config)
    with opa.Client(auth=(KEY, SECRET), base_url=first.base_url, clock=wall) as client:
        code_id = client.Code.create_qr_code(order("C-15"))["data"]["codeId"]
        with SimulatorControl(first.base_url) as ctl:
            ctl.pay(code_id)
    first.stop()
    second = start_simulator(config)
    try:
        with opa.Client(auth=(KEY, SECRET), base_url=second.base_url, clock=wall) as client:
            assert client.Code.get_payment_details("C-15")["data"]["status"] == "COMPLETED"
    finally:
        second.stop()


def test_a_proxy_404_proves_nothing(client: opa.Client, ctl: SimulatorControl) -> None:
    created = client.Code.create_qr_code(order("C-20"))
    ctl.add_fault(endpoint="delete_code", status=404, envelope=False)
    with pytest.raises(opa.UnreadableResponse):
        client.Code.delete_qr_code(created["data"]["codeId"])
    assert ctl.ledger()["codes"][0]["payable"] is True
