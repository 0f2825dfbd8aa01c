"""Every public SDK method with valid arguments, as one table the hostile-server tests sweep."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kiosk import opa

AMOUNT = {"amount": 100, "currency": "JPY"}
USER_PAYMENT = {"merchantPaymentId": "M1", "userAuthorizationId": "U1", "amount": AMOUNT}
QR = {"merchantPaymentId": "M1", "amount": AMOUNT, "codeType": "ORDER_QR"}
REFUND = {"merchantRefundId": "R1", "paymentId": "P1", "amount": AMOUNT}

Call = Callable[[opa.Client], Any]

# (name, api_name, call): every method of every resource, each endpoint at least once.
CALLS: list[tuple[str, str, Call]] = [
    ("Code.create_qr_code", "v2_createDynamicQRCode", lambda c: c.Code.create_qr_code(QR)),
    (
        "Code.get_payment_details",
        "v2_getQRPaymentDetails",
        lambda c: c.Code.get_payment_details("M1"),
    ),
    ("Code.delete_qr_code", "v2_deleteDynamicQRCode", lambda c: c.Code.delete_qr_code("04-x")),
    (
        "Payment.get_payment_details",
        "v2_getPaymentDetail",
        lambda c: c.Payment.get_payment_details("M1"),
    ),
    ("Payment.cancel_payment", "v2_cancelPayment", lambda c: c.Payment.cancel_payment("M1")),
    (
        "Payment.refund_payment",
        "v2_createRefundPayment",
        lambda c: c.Payment.refund_payment(REFUND),
    ),
    (
        "Payment.refund_details",
        "v2_getRefundDetails",
        lambda c: c.Payment.refund_details("R1", "P1"),
    ),
    (
        "Payment.capture_payment",
        "v2_captureAuthorizedOrder",
        lambda c: c.Payment.capture_payment(
            {"merchantPaymentId": "M1", "merchantCaptureId": "K1", "amount": AMOUNT}
            | {"orderDescription": "d"}
        ),
    ),
    (
        "Payment.revert_payment",
        "v2_revertAuthorizedOrder",
        lambda c: c.Payment.revert_payment({"merchantRevertId": "V1", "paymentId": "P1"}),
    ),
    ("Payment.create", "v2_createPayment", lambda c: c.Payment.create(USER_PAYMENT)),
    (
        "Payment.create_continuous_payment",
        "v1_createSubscriptionPayment",
        lambda c: c.Payment.create_continuous_payment(USER_PAYMENT),
    ),
    (
        "Preauth.pre_authorize_create",
        "v2_createOrderAndAuthorize",
        lambda c: c.Preauth.pre_authorize_create(USER_PAYMENT),
    ),
    (
        "Pending.create_pending_payment",
        "v1_createRequestOrder",
        lambda c: c.Pending.create_pending_payment(USER_PAYMENT),
    ),
    (
        "Pending.get_payment_details",
        "v1_getRequestOrder",
        lambda c: c.Pending.get_payment_details("M1"),
    ),
    ("Pending.cancel_payment", "v1_cancelRequestOrder", lambda c: c.Pending.cancel_payment("M1")),
    (
        "Account.create_qr_session",
        "v1_qrSession",
        lambda c: c.Account.create_qr_session(
            {"scopes": ["direct_debit"], "nonce": "x", "redirectUrl": "https://e.example"}
            | {"referenceId": "r"}
        ),
    ),
    (
        "User.get_authorization_status",
        "v2_userAuthStatus",
        lambda c: c.User.get_authorization_status("U1"),
    ),
    (
        "User.unlink_user_authorization",
        "v2_unlinkUser",
        lambda c: c.User.unlink_user_authorization("U1"),
    ),
    (
        "Cashback.give_cashback",
        "v2_createCashBackRequest",
        lambda c: c.Cashback.give_cashback(
            {"merchantCashbackId": "C1", "userAuthorizationId": "U1", "amount": AMOUNT}
        ),
    ),
    (
        "Cashback.check_cashback_detail",
        "v2_getCashbackDetails",
        lambda c: c.Cashback.check_cashback_detail("C1"),
    ),
    (
        "Cashback.reverse_cashback",
        "v2_createReverseCashBackRequest",
        lambda c: c.Cashback.reverse_cashback(
            {"merchantCashbackReversalId": "V1", "merchantCashbackId": "C1", "amount": AMOUNT}
        ),
    ),
    (
        "Cashback.check_cashback_reversal_detail",
        "v2_getReversedCashBackDetails",
        lambda c: c.Cashback.check_cashback_reversal_detail("V1", "C1"),
    ),
]
IDS = [name for name, _, _ in CALLS]
