"""The rest of the client's surface against the simulator: direct, preauthorized, continuous
and pending payments, account link, user authorizations, cashback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import kiosk.simulator as sim_pkg
from kiosk import opa
from tests.opa.test_simulator_contract import new_id

USER = "user-authorization-1"


@pytest.fixture(scope="module")
def client() -> Iterator[opa.Client]:
    config = sim_pkg.SimulatorConfig(control=True, seed=11)
    with (
        sim_pkg.start_simulator(config) as sim,
        opa.Client(auth=(config.api_key, config.api_secret), base_url=sim.base_url) as made,
    ):
        made.set_assume_merchant(config.merchant_id)
        yield made


def payment(mpid: str, amount_yen: int = 700, **extra: object) -> dict[str, Any]:
    return {
        "merchantPaymentId": mpid,
        "userAuthorizationId": USER,
        "amount": {"amount": amount_yen, "currency": "JPY"},
        "orderDescription": "direct",
        **extra,
    }


@pytest.mark.parametrize("kind", ["create", "create_continuous_payment", "pre_authorize_create"])
def test_direct_payments_are_created_and_read_back(client: opa.Client, kind: str) -> None:
    mpid = new_id("D")
    make = client.Preauth.pre_authorize_create if kind == "pre_authorize_create" else None
    make = make or getattr(client.Payment, kind)
    created = make(payment(mpid))
    assert created["resultInfo"]["code"] == "SUCCESS"
    expected = "AUTHORIZED" if kind == "pre_authorize_create" else "COMPLETED"
    assert created["data"]["status"] == expected
    details = client.Payment.get_payment_details(mpid)["data"]
    assert (details["status"], details["amount"]["amount"]) == (expected, 700)
    with pytest.raises(opa.Duplicate):
        make(payment(mpid))


def test_direct_payment_refund_and_cancel(client: opa.Client) -> None:
    refunded, cancelled = new_id("D"), new_id("D")
    payment_id = client.Payment.create(payment(refunded), agree_similar_transaction=True)["data"][
        "paymentId"
    ]
    refund_id = new_id("R")
    client.Payment.refund_payment(
        {"merchantRefundId": refund_id, "paymentId": payment_id, "amount": 200}
    )
    got = client.Payment.refund_details(refund_id, payment_id=payment_id)["data"]
    assert got["amount"]["amount"] == 200
    client.Payment.create(payment(cancelled))
    accepted = client.Payment.cancel_payment(cancelled)
    assert accepted["resultInfo"]["code"] == "REQUEST_ACCEPTED"


def test_pending_payment_lifecycle(client: opa.Client) -> None:
    mpid = new_id("P")
    created = client.Pending.create_pending_payment(payment(mpid))
    assert created["data"]["status"] == "CREATED"
    assert client.Pending.get_payment_details(mpid)["data"]["status"] == "CREATED"
    assert client.Pending.cancel_payment(mpid)["resultInfo"]["code"] == "SUCCESS"
    with pytest.raises(opa.NotFound) as unknown:
        client.Pending.get_payment_details(new_id("P"))
    assert unknown.value.code == "REQUEST_ORDER_NOT_FOUND"


def test_account_link_and_user_authorizations(client: opa.Client) -> None:
    session = client.Account.create_qr_session(
        {
            "scopes": ["direct_debit"],
            "nonce": "abc12345",
            "redirectUrl": "https://merchant.example/linked",
            "referenceId": "customer-1",
            "redirectType": "WEB_LINK",
        }
    )
    assert session["data"]["linkQRCode"]
    user = new_id("U")
    assert client.User.get_authorization_status(user)["data"]["status"] == "ACTIVE"
    assert client.User.unlink_user_athorization(user)["resultInfo"]["code"] == "SUCCESS"
    assert client.User.get_authorization_status(user)["data"]["status"] == "INACTIVE"
    with pytest.raises(opa.Rejected):
        client.Payment.create({**payment(new_id("D")), "userAuthorizationId": user})


def test_cashback_give_reverse_and_look_up(client: opa.Client) -> None:
    cashback_id, reversal_id = new_id("CB"), new_id("CR")
    given = client.Cashback.give_cashback(
        {
            "merchantCashbackId": cashback_id,
            "userAuthorizationId": USER,
            "amount": {"amount": 100, "currency": "JPY"},
            "walletType": "PREPAID",
        }
    )
    assert given["resultInfo"]["code"] == "REQUEST_ACCEPTED"
    detail = client.Cashback.check_cashback_detail(cashback_id)["data"]
    assert detail["amount"]["amount"] == 100
    assert client.Cashback.check_give_cashback(cashback_id)["data"] == detail
    client.Cashback.reverse_cashback(
        {
            "merchantCashbackReversalId": reversal_id,
            "merchantCashbackId": cashback_id,
            "amount": {"amount": 40, "currency": "JPY"},
            "reason": "returned",
        }
    )
    reversal = client.Cashback.check_cashback_reversal_detail(reversal_id, cashback_id)["data"]
    assert reversal["amount"]["amount"] == 40
    assert client.Cashback.check_reversal_cashback(reversal_id, cashback_id)["data"] == reversal
    with pytest.raises(opa.InvalidParams):
        client.Cashback.reverse_cashback(
            {
                "merchantCashbackReversalId": new_id("CR"),
                "merchantCashbackId": cashback_id,
                "amount": {"amount": 61, "currency": "JPY"},
            }
        )
    with pytest.raises(opa.NotFound):
        client.Cashback.check_cashback_detail(new_id("CB"))
