# ruff: noqa: E501 (the README's lines are kept as printed)
"""The official SDK README's examples, run against the simulator with our client.

Each snippet below is copied from ``/work/shared/seed/paypayopa-sdk-readme.txt`` as printed,
with ``import paypayopa`` replaced by ``from kiosk import opa as paypayopa``. Only three kinds
of text are substituted, because no example can run without them:
- the client gets ``base_url=`` pointing at the simulator (the README targets PayPay itself);
- ``<placeholders>`` become the ids of the order made earlier in the flow;
- PayPay-generated ids (``paymentId``) that the README invents become real ones: no merchant
  can choose them.
Where a snippet has a slip of its own (a typo, a stale timestamp, a reused id), the test says so
next to the one substitution it makes.
Snippets run in order in one namespace, as a reader would paste them into one session.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import io
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import requests

import kiosk.simulator as sim_app

CLIENT = """
from kiosk import opa as paypayopa
client = paypayopa.Client(auth=(API_KEY, API_SECRET),
production_mode=False)
"""

CLIENT_PRODUCTION = """
from kiosk import opa as paypayopa
client = paypayopa.Client(auth=(API_KEY, API_SECRET),
production_mode=True)
client.set_assume_merchant("MERCHANT_ID")
"""

VERSION = """
print(client.get_version())
"""

CREATE_QR = """
request = {
"merchantPaymentId": "cb31bcc0-3b6c-46e0-9002-e5c4bb1e3d5f",
"codeType": "ORDER_QR",
"redirectUrl": "http://foobar.com",
"redirectType":"WEB_LINK",
"orderDescription":"Example - Mune Cake shop",
"orderItems": [{
"name": "Moon cake",
"category": "pasteries",
"quantity": 1,
"productId": "67678",
"unitPrice": {
"amount": 1,
"currency": "JPY",
},
}],
"amount": {
"amount": 1,
"currency": "JPY",
},
}
client.Code.create_qr_code(request)
"""

GET_DETAILS = """
client.Payment.get_payment_details("<merchantPaymentId>")
"""

DELETE_QR = """
client.Code.delete_qr_code("<CodeID>")
"""

CANCEL = """
client.Payment.cancel_payment("<merchantPaymentId>")
"""

REFUND = """
refund_payment_details = {
"assumeMerchant": "cb31bcc0-3b6c-46e0-9002-e5c4bb1e3d5f",
"merchantRefundId": "3b6c-46e0-9002-e5c4bb1e3d5f",
"paymentId": "456787656",
"amount": {
"amount": 1,
"currency": "JPY"
},
"reason": "reason for refund"
}
client.Payment.refund_payment(refund_payment_details)
"""

CAPTURE = """
request_payload = {
"merchantPaymentId": "merchant_payment_id",
"amount": {
"amount": 1,
"currency": "JPY"
},
"merchantCaptureId": "31bcc0-3b6c-46e0-9002",
"orderDescription": "Example - Mune Cake shop",
}
client.Payment.capture_payment(request_payload)
"""

REVERT = """
request_payload = {
"merchantRevertId": "cb31bcc0-3b6c-46e0-9002-e5c4bb1e3d5f",
"paymentId": "1585537300",
"reason": "reason for refund",
}
client.Payment.revert_payment(request_payload)
"""

REFUND_STATUS = """
client.Payment.refund_status("<merchantRefundId>")
"""

REFUND_DETAILS = """
# Calling the method to get Refund Details
response = client.Payment.refund_details("<merchantRefundId>")
# Printing if the method call was SUCCESS
print(response["resultInfo"]["code"])
"""

ENCODE_JWT = """
# Helper function to create a JWT Token for requesting user Authorization
client.encode_jwt(API_SECRET,
redirectUrl = "https://example.com",
deviceId = "qwertyuiopoiuytre54567",
phoneNumber = 90999999999 )
"""


UNLINK = """
# Calling the method to unlink a Payment
response = client.User.unlink_user_athorization('userAuthorizationId')
# Printing if the method call was SUCCESS
print(response["resultInfo"]["code"])
"""

CREATE_PAYMENT = """
# Creating the payload to create a Payment, additional parameters can be added basis the API Documentation
request = {
"merchantPaymentId": "my_payment_id",
"userAuthorizationId": "my_user_authorization_id",
"amount": {"amount": 1, "currency": "JPY"},
"orderDescription": "Mune's Favourite Cake",
}
# Calling the method to create a payment
response = client.Payment.create(request)
# Printing if the method call was SUCCESS, this does not mean the payment was a success
print(response["resultInfo"]["code"])
"""

GET_PAYMENT = """
# Calling the method to get payment details
response = client.Payment.get_payment_details("<merchantPaymentId>")
# Printing if the method call was SUCCESS, this does not mean the payment was a success
print(response["resultInfo"]["code"])
# Printing if the transaction status for the code has COMPLETED/ AUTHORIZED
print(response["data"]["status"])
"""

CANCEL_PAYMENT = """
# Calling the method to cancel a Payment
response = client.Payment.cancel_payment("<merchantPaymentId>")
# Printing if the method call was SUCCESS
print(response["resultInfo"]["code"])
"""

REFUND_NATIVE = """
# Creating the payload to refund a Payment, additional parameters can be added based on the API Documentation
request = {
"merchantRefundId": "merchant_refund_id",
"paymentId": "paypay_payment_id",
"amount": 1,
"reason": "reason for refund",
}
# Calling the method to refund a Payment
response = client.Payment.refund_payment(request)
# Printing if the method call was SUCCESS
print(response["resultInfo"]["code"])
"""

QR_SESSION = """
payload = {
"scopes": [
"direct_debit"
],
"nonce": "rtyuhghj7989",
"redirectType": "WEB_LINK",
"redirectUrl": "www.example.com",
"referenceId": "uioiugf789",
"phoneNumber": "90999999999",
"deviceId": "qwertyuiopoiuytre54567",
"userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/51.0.2704.103 Safari/537.36"
}
client.Account.create_qr_session(payload)
"""

DECODE_JWT = """
# Retrieving userAuthorizationId from response JWT
client.decode_jwt(API_SECRET, token)
"""

PREAUTHORIZE = """
# Creating the payload for a payment authorization request, additional parameters can be added basis the API Documentation
request_payload = {
"merchantPaymentId": "merchant_payment_id",
"userAuthorizationId": "user_authorization_id",
"amount": {
"amount": 26.00,
"currency": "JPY"
},
"requestedAt": 5353454354,
"orderReceiptNumber": "435435435",
"orderDescription": "Mune's Favourite Cake",
}
# Calling the method to create a payment authorization
client.Preauth.pre_authorize_create(request_payload)
"""

CONTINUOUS = """
# Creating the payload for a payment authorization request, additional parameters can be added basis the API Documentation
request_payload = {
"merchantPaymentId": "merchant_payment_id",
"userAuthorizationId": "my_user_authorization_id",
"orderDescription": "Mune's Favourite Cake",
"amount": {
"amount": 1,
"currency": "JPY"
}
}
# Calling the method to create a continuous payment authorization
client.Payment.create_continuous_payment(request_payload)
# Printing if the method call was SUCCESS, this does not mean the payment was a success
print(response["resultInfo"]["code"])
"""

CREATE_PENDING = """
# Creating the payload for a payment authorization request, additional parameters can be added basis the API Documentation
request_payload = {
"merchantPaymentId": "merchant_payment_id",
"userAuthorizationId": "my_user_authorization_id",
"amount": {
"amount": 1,
"currency": "JPY"
},
"requestedAt": 1632123456,
"expiryDate": None,
"storeId": "001",
"terminalId": "0042",
"orderReceiptNumber": "0878",
"orderDescription": "Example - Mune Cake shop",
"orderItems": [{
"name": "Moon cake",
"category": "pasteries",
"quantity": 1,
"productId": "67678",
"unitPrice": {
"amount": 1,
"currency": "JPY"
}
}],
"metadata": {}
}
# Calling the method to create a continuous payment authorization
client.Pending.create_pending_payment(request_payload)
# Printing if the method call was SUCCESS, this does not mean the payment was a success
print(response["resultInfo"]["code"])
"""

GET_PENDING = """
# Calling the method to get payment details
response = client.Pending.get_payment_details("<merchantPaymentId>")
# Printing if the method call was SUCCESS, this does not mean the payment was a success
print(response["resultInfo"]["code"])
# Printing if the transaction status for the code has COMPLETED/ AUTHORIZED
print(response["data"]["status"])
"""

CANCEL_PENDING = """
# Calling the method to cancel pending payment
response = client.Pending.cancel_payment("<merchantPaymentId>")
# Printing if the method call was SUCCESS, this does not mean the payment was a success
print(response["resultInfo"]["code"])
# Printing if the transaction status for the code has COMPLETED/ AUTHORIZED
print(response["data"]["status"])
"""

REFUND_PENDING = """
payload = {
"assumeMerchant": "cb31bcc0-3b6c-46e0-9002-e5c4bb1e3d5f",
"merchantRefundId": "3b6c-46e0-9002-e5c4bb1e3d5f",
"paymentId": "456787656",
"amount": {
"amount": 1,
"currency": "JPY"
},
"reason": "reason for refund"
}
client.Pending.refund_payment(refund_payment_details)
"""

GIVE_CASHBACK = """
payload = {
"merchantCashbackId": "ab31bcc0-3b6c-46e0-9002-e5c4bb1e3d5f",
"userAuthorizationId": "3b6c-a7c9-9002-e5c4bb1e3d5f",
"amount": {
"amount": 100,
"currency": "JPY"
},
"requestedAt": 1609749559,
"orderDescription": "order description",
"walletType": "PREPAID",
"expiryDate": None,
"metadata": ""
}
client.Cashback.give_cashback(payload)
"""

CHECK_CASHBACK = """
merchant_cashback_id = "ab31bcc0-3b6c-46e0-9002-e5c4bb1e3d5f"
client.Cashback.check_give_cashback(merchant_cashback_id)
"""

REVERSE_CASHBACK = """
payload = {
"merchantCashbackReversalId": "e031bcc0-3b6c-9a7d-9002-e5c4cc1e3d5f",
"merchantCashbackId": "ab31bcc0-3b6c-46e0-9002-e5c4bb1e3d5f",
"amount": {
"amount": 100,
"currency": "JPY"
},
"requestedAt": 1609749559,
"reason": "reversal reason",
"metadata": {}
}
client.Cashback.reverse_cashback(payload)
"""

CHECK_REVERSAL = """
merchant_cashback_reversal_id = "e031bcc0-3b6c-9a7d-9002-e5c4cc1e3d5f"
merchant_cashback_id = "ab31bcc0-3b6c-46e0-9002-e5c4bb1e3d5f"
client.Cashback.check_reversal_cashback(merchant_cashback_reversal_id, merchant_cashback_id)
"""

PENDING_REFUND_DETAILS = """
# Calling the method to cancel pending payment
response = client.Pending.refund_details("<merchantPaymentId>")
# Printing if the method call was SUCCESS, this does not mean the payment was a success
print(response["resultInfo"]["code"])
# Printing if the transaction status for the code has COMPLETED/ AUTHORIZED
print(response["data"]["status"])
"""


class Flow:
    """Runs snippets in one namespace against the simulator, with the documented substitutions."""

    def __init__(self, sim: Any) -> None:
        self.sim = sim
        self.namespace: dict[str, Any] = {
            "API_KEY": sim.config.api_key,
            "API_SECRET": sim.config.api_secret,
        }
        self.substitutions: dict[str, str] = {}
        self.printed = io.StringIO()
        self.clients: list[Any] = []  # every client a snippet made, even one since replaced

    def close(self) -> None:
        for client in self.clients:
            client.close()

    def run(self, snippet: str) -> Any:
        text = snippet.replace(
            "paypayopa.Client(auth=(API_KEY, API_SECRET),",
            f"paypayopa.Client(auth=(API_KEY, API_SECRET), base_url={self.sim.base_url!r},",
        )
        for old, new in self.substitutions.items():
            text = text.replace(old, new)
        tree = ast.parse(text)
        last = tree.body[-1] if isinstance(tree.body[-1], ast.Expr) else None
        statements = tree.body[:-1] if last is not None else tree.body
        with contextlib.redirect_stdout(self.printed):
            try:
                exec(compile(ast.Module(statements, []), "<readme>", "exec"), self.namespace)
                if last is None:
                    return None
                return eval(compile(ast.Expression(last.value), "<readme>", "eval"), self.namespace)
            finally:
                made = self.namespace.get("client")
                if made is not None and all(made is not c for c in self.clients):
                    self.clients.append(made)

    def pay(self, code_id: str) -> None:
        answer = requests.post(f"{self.sim.base_url}/_sim/codes/{code_id}/pay", timeout=5)
        assert answer.status_code == 200, answer.text


@pytest.fixture
def flow() -> Iterator[Flow]:
    config = sim_app.SimulatorConfig(control=True, seed=3, merchant_id="MERCHANT_ID")
    with sim_app.start_simulator(config) as sim:
        flow = Flow(sim)
        try:
            yield flow
        finally:
            flow.close()


def test_the_dynamic_qr_examples(flow: Flow) -> None:
    flow.run(CLIENT_PRODUCTION)
    assert flow.namespace["client"].assume_merchant == "MERCHANT_ID"
    flow.run(CLIENT)
    flow.run(VERSION)
    assert flow.printed.getvalue().strip()[0].isdigit()
    created = flow.run(CREATE_QR)
    assert created["resultInfo"]["code"] == "SUCCESS"
    mpid = created["data"]["merchantPaymentId"]
    flow.pay(created["data"]["codeId"])
    flow.substitutions["<merchantPaymentId>"] = mpid
    details = flow.run(GET_DETAILS)
    assert details["data"]["status"] == "COMPLETED"
    payment_id = details["data"]["paymentId"]

    unpaid = flow.namespace["client"].Code.create_qr_code(
        {**flow.namespace["request"], "merchantPaymentId": "example-unpaid"}
    )
    flow.substitutions["<CodeID>"] = unpaid["data"]["codeId"]
    assert flow.run(DELETE_QR)["resultInfo"]["code"] == "SUCCESS"

    flow.substitutions["456787656"] = payment_id
    refund = flow.run(REFUND)
    assert refund["data"]["merchantRefundId"] == "3b6c-46e0-9002-e5c4bb1e3d5f"
    flow.substitutions["<merchantRefundId>"] = "3b6c-46e0-9002-e5c4bb1e3d5f"
    assert flow.run(REFUND_STATUS)["resultInfo"]["code"] == "SUCCESS"
    flow.run(REFUND_DETAILS)
    assert flow.printed.getvalue().strip().endswith("SUCCESS")

    # the README's cancel, on a second paid order (the first one is partly refunded)
    second = flow.namespace["client"].Code.create_qr_code(
        {**flow.namespace["request"], "merchantPaymentId": "example-cancel"}
    )
    flow.pay(second["data"]["codeId"])
    flow.substitutions["<merchantPaymentId>"] = "example-cancel"
    accepted = flow.run(CANCEL)
    assert accepted["resultInfo"]["code"] == "REQUEST_ACCEPTED"


def test_the_preauth_examples(flow: Flow) -> None:
    flow.run(CLIENT)
    client = flow.namespace["client"]
    authorized = client.Code.create_qr_code(
        {
            "merchantPaymentId": "merchant_payment_id",
            "amount": {"amount": 1, "currency": "JPY"},
            "codeType": "ORDER_QR",
            "isAuthorization": True,
        }
    )
    flow.pay(authorized["data"]["codeId"])
    assert flow.run(CAPTURE)["resultInfo"]["code"] == "SUCCESS"

    to_revert = client.Code.create_qr_code(
        {
            "merchantPaymentId": "revert-example",
            "amount": {"amount": 1, "currency": "JPY"},
            "codeType": "ORDER_QR",
            "isAuthorization": True,
        }
    )
    flow.pay(to_revert["data"]["codeId"])
    payment_id = client.Code.get_payment_details("revert-example")["data"]["paymentId"]
    flow.substitutions["1585537300"] = payment_id
    assert flow.run(REVERT)["data"]["status"] == "CANCELED"


def test_the_jwt_example_encodes_with_the_base64_secret(flow: Flow) -> None:
    # PayPay's JWT key is the base64-decoded API secret: use a base64 one (no API call here)
    flow.namespace["API_SECRET"] = "c2VjcmV0LWZvci1qd3QtZXhhbXBsZXMtMzItYnl0ZXMh"
    flow.run(CLIENT)
    token = flow.run(ENCODE_JWT)
    assert isinstance(token, str) and token.count(".") == 2


def _lines(flow: Flow) -> list[str]:
    return flow.printed.getvalue().split()


def test_the_native_payment_examples(flow: Flow) -> None:
    flow.run(CLIENT)
    flow.run(UNLINK)
    flow.run(CREATE_PAYMENT)
    assert _lines(flow) == ["SUCCESS", "SUCCESS"]
    flow.substitutions["<merchantPaymentId>"] = "my_payment_id"
    flow.run(GET_PAYMENT)
    assert _lines(flow)[-2:] == ["SUCCESS", "COMPLETED"]
    flow.substitutions["paypay_payment_id"] = flow.namespace["response"]["data"]["paymentId"]
    flow.run(REFUND_NATIVE)  # "amount": 1 (a bare int) is read as 1 yen
    flow.substitutions["<merchantRefundId>"] = "merchant_refund_id"
    flow.run(REFUND_DETAILS)
    assert _lines(flow)[-2:] == ["SUCCESS", "SUCCESS"]
    # the README cancels the same order it then refunds; cancel a second one instead
    client = flow.namespace["client"]
    client.Payment.create(
        {
            "merchantPaymentId": "my_payment_id_2",
            "userAuthorizationId": "my_user_authorization_id",
            "amount": {"amount": 1, "currency": "JPY"},
        }
    )
    flow.substitutions["<merchantPaymentId>"] = "my_payment_id_2"
    flow.substitutions["merchant_refund_id"] = "unused"
    flow.run(CANCEL_PAYMENT)
    assert _lines(flow)[-1] == "REQUEST_ACCEPTED"


def test_the_account_link_and_jwt_examples(flow: Flow) -> None:
    flow.run(CLIENT)
    assert flow.run(QR_SESSION)["data"]["linkQRCode"]
    # PayPay's JWT key is the base64-decoded API secret: use a base64 one (no API call here)
    flow.namespace["API_SECRET"] = "c2VjcmV0LWZvci1qd3QtZXhhbXBsZXMtMzItYnl0ZXMh"
    key = base64.b64decode(flow.namespace["API_SECRET"])
    claims = {"userAuthorizationId": "UA-1", "referenceId": "uioiugf789"}
    flow.namespace["token"] = jwt.encode(claims, key, algorithm="HS256")  # the README's `token`
    assert flow.run(DECODE_JWT) == ("UA-1", "uioiugf789")


def test_the_preauthorize_example(flow: Flow) -> None:
    flow.run(CLIENT)
    authorized = flow.run(PREAUTHORIZE)  # "amount": 26.00 is read as 26 yen
    assert authorized["data"]["status"] == "AUTHORIZED"
    assert authorized["data"]["amount"] == {"amount": 26, "currency": "JPY"}


def test_the_continuous_payment_example(flow: Flow) -> None:
    flow.run(CLIENT)
    flow.run(CREATE_PAYMENT)  # the README's snippet prints a `response` from an earlier one
    flow.run(CONTINUOUS)
    details = flow.namespace["client"].Payment.get_payment_details("merchant_payment_id")
    assert details["data"]["status"] == "COMPLETED"


def test_the_pending_payment_examples(flow: Flow) -> None:
    flow.run(CLIENT)
    flow.run(CREATE_PAYMENT)  # the README's snippet prints a `response` from an earlier one
    # the README's requestedAt (2021) has long passed: the order would be born expired
    flow.substitutions["1632123456"] = str(int(time.time()))
    flow.run(CREATE_PENDING)
    flow.substitutions["<merchantPaymentId>"] = "merchant_payment_id"
    flow.run(GET_PENDING)
    assert _lines(flow)[-2:] == ["SUCCESS", "CREATED"]
    paid = requests.post(f"{flow.sim.base_url}/_sim/payments/merchant_payment_id/pay", timeout=5)
    assert paid.status_code == 200, paid.text
    flow.substitutions["456787656"] = paid.json()["data"]["paymentId"]
    # README typo: the snippet builds `payload` but passes `refund_payment_details`
    flow.substitutions["refund_payment(refund_payment_details)"] = "refund_payment(payload)"
    assert flow.run(REFUND_PENDING)["resultInfo"]["code"] == "SUCCESS"
    # README slip: refund details take the merchantRefundId, not the merchantPaymentId
    flow.substitutions["<merchantPaymentId>"] = "3b6c-46e0-9002-e5c4bb1e3d5f"
    flow.run(PENDING_REFUND_DETAILS)
    assert _lines(flow)[-2][-7:] == "SUCCESS" and _lines(flow)[-1] in ("CREATED", "REFUNDED")

    client = flow.namespace["client"]
    second = {**flow.namespace["request_payload"], "merchantPaymentId": "pending-2"}
    client.Pending.create_pending_payment(second)
    flow.substitutions["<merchantPaymentId>"] = "pending-2"
    # README slip: a cancel answers without `data` (reference 4.5), so its last line fails
    with pytest.raises(TypeError, match="NoneType"):
        flow.run(CANCEL_PENDING)
    assert _lines(flow)[-1] == "SUCCESS"


def test_the_cashback_examples(flow: Flow) -> None:
    flow.run(CLIENT)
    assert flow.run(GIVE_CASHBACK)["resultInfo"]["code"] == "REQUEST_ACCEPTED"
    assert flow.run(CHECK_CASHBACK)["data"]["amount"]["amount"] == 100
    assert flow.run(REVERSE_CASHBACK)["resultInfo"]["code"] == "REQUEST_ACCEPTED"
    assert flow.run(CHECK_REVERSAL)["data"]["reason"] == "reversal reason"
