"""The official SDK README's examples, run against the simulator with our client.

Each snippet below is copied from ``/work/shared/seed/paypayopa-sdk-readme.txt`` as printed,
with ``import paypayopa`` replaced by ``from kiosk import opa as paypayopa``. Only three kinds
of text are substituted, because no example can run without them:
- the client gets ``base_url=`` pointing at the simulator (the README targets PayPay itself);
- ``<placeholders>`` become the ids of the order made earlier in the flow;
- PayPay-generated ids (``paymentId``) that the README invents become real ones: no merchant
  can choose them.
Snippets run in order in one namespace, as a reader would paste them into one session.
"""

from __future__ import annotations

import ast
import contextlib
import io
from collections.abc import Iterator
from typing import Any

import pytest
import requests

sim_app = pytest.importorskip("kiosk.simulator")

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
            exec(compile(ast.Module(statements, []), "<readme>", "exec"), self.namespace)
            if last is None:
                return None
            return eval(compile(ast.Expression(last.value), "<readme>", "eval"), self.namespace)

    def pay(self, code_id: str) -> None:
        answer = requests.post(f"{self.sim.base_url}/_sim/codes/{code_id}/pay", timeout=5)
        assert answer.status_code == 200, answer.text


@pytest.fixture
def flow() -> Iterator[Flow]:
    config = sim_app.SimulatorConfig(control=True, seed=3, merchant_id="MERCHANT_ID")
    with sim_app.start_simulator(config) as sim:
        yield Flow(sim)


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
