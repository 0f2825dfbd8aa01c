"""PayPay's answers to the kiosk's calls as typed values, parsed once, in the client.

Why: the engine must never read a raw envelope (a missing key there was a KeyError in the money
path, and every reader re-decided what "absent" means). Each model's ``parse`` takes a success
envelope (already judged by ``answers``: PayPay's JSON, a success code) and checks the fields
the kiosk relies on; a field that is missing or of the wrong type makes the answer unreadable
(``UnreadableResponse``, an unknown outcome: ask again), never a default that looks like data.

Values are kept as PayPay sent them where PayPay may add new ones: a payment's ``status`` is
the string PayPay gave (``payment_status`` is the known enum member, or None for a status this
client does not know), so the engine decides what an unknown status means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kiosk.domain import PaymentStatus
from kiosk.opa import errors


class _Fields:
    """Typed reads of one envelope's ``data``; a wrong field raises UnreadableResponse."""

    def __init__(self, envelope: Mapping[str, Any], api_name: str, *, optional: bool = False):
        data = envelope.get("data")
        if data is None and optional:
            data = {}
        if not isinstance(data, Mapping):
            raise self._bad(api_name, "data is not an object")
        self.data, self.api_name = data, api_name
        self.code = str(envelope["resultInfo"]["code"])

    def _bad(self, api_name: str, why: str) -> errors.UnreadableResponse:
        return errors.UnreadableResponse(
            f"PayPay's answer is not readable: {why}", api_name=api_name
        )

    def text(self, key: str) -> str:
        value = self.data.get(key)
        if not isinstance(value, str) or not value:
            raise self._bad(self.api_name, f"data.{key} is not a non-empty string")
        return value

    def text_or_none(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise self._bad(self.api_name, f"data.{key} is not a string")
        return value

    def epoch(self, key: str) -> float:
        value = self.data.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise self._bad(self.api_name, f"data.{key} is not epoch seconds")
        return float(value)

    def epoch_or_none(self, key: str) -> float | None:
        """Epoch seconds; absent, null and PayPay's 0 ("not yet") are None."""
        if self.data.get(key) in (None, 0):
            return None
        return self.epoch(key)

    def yen_or_none(self) -> tuple[int | None, str | None]:
        """(amount, currency) of ``data.amount``, when present."""
        money = self.data.get("amount")
        if money is None:
            return None, None
        amount = money.get("amount") if isinstance(money, Mapping) else None
        currency = money.get("currency") if isinstance(money, Mapping) else None
        if isinstance(amount, bool) or not isinstance(amount, int) or not isinstance(currency, str):
            raise self._bad(self.api_name, "data.amount is not {amount: int, currency: str}")
        return amount, currency


@dataclass(frozen=True)
class QrCode:
    """``POST /v2/codes``: the code to show."""

    code_id: str
    url: str
    expiry_epoch: float
    merchant_payment_id: str | None = None
    deeplink: str | None = None

    @classmethod
    def parse(cls, envelope: Mapping[str, Any], api_name: str) -> QrCode:
        f = _Fields(envelope, api_name)
        return cls(
            code_id=f.text("codeId"),
            url=f.text("url"),
            expiry_epoch=f.epoch("expiryDate"),
            merchant_payment_id=f.text_or_none("merchantPaymentId"),
            deeplink=f.text_or_none("deeplink"),
        )


@dataclass(frozen=True)
class PaymentDetails:
    """``GET /v2/codes/payments/{id}``: where the customer's payment stands."""

    status: str
    payment_id: str | None = None
    accepted_at: float | None = None
    merchant_payment_id: str | None = None
    amount_yen: int | None = None
    currency: str | None = None

    @property
    def payment_status(self) -> PaymentStatus | None:
        """The status as the enum, or None for one PayPay added after this client was written."""
        try:
            return PaymentStatus(self.status)
        except ValueError:
            return None

    @classmethod
    def parse(cls, envelope: Mapping[str, Any], api_name: str) -> PaymentDetails:
        f = _Fields(envelope, api_name)
        amount, currency = f.yen_or_none()
        return cls(
            status=f.text("status"),
            payment_id=f.text_or_none("paymentId"),
            accepted_at=f.epoch_or_none("acceptedAt"),
            merchant_payment_id=f.text_or_none("merchantPaymentId"),
            amount_yen=amount,
            currency=currency,
        )


@dataclass(frozen=True)
class Accepted:
    """A call whose success carries no data the kiosk needs (delete a code, cancel a payment):
    PayPay's success code, SUCCESS or REQUEST_ACCEPTED."""

    code: str

    @classmethod
    def parse(cls, envelope: Mapping[str, Any], api_name: str) -> Accepted:
        return cls(_Fields(envelope, api_name, optional=True).code)


@dataclass(frozen=True)
class RefundDetails:
    """``POST /v2/refunds`` and ``GET /v2/refunds/{id}``: ``status`` CREATED, REFUNDED, ... or
    None when PayPay's success answer did not say."""

    status: str | None
    merchant_refund_id: str | None = None
    payment_id: str | None = None
    amount_yen: int | None = None

    @classmethod
    def parse(cls, envelope: Mapping[str, Any], api_name: str) -> RefundDetails:
        f = _Fields(envelope, api_name, optional=True)
        amount, _ = f.yen_or_none()
        return cls(
            status=f.text_or_none("status"),
            merchant_refund_id=f.text_or_none("merchantRefundId"),
            payment_id=f.text_or_none("paymentId"),
            amount_yen=amount,
        )


@dataclass(frozen=True)
class CaptureResult:
    """``POST /v2/payments/capture``: captured, or (202 USER_CONFIRMATION_REQUIRED) waiting for
    the customer to accept a higher amount in the app."""

    confirmation_required: bool
    status: str | None = None

    @classmethod
    def parse(cls, envelope: Mapping[str, Any], api_name: str) -> CaptureResult:
        f = _Fields(envelope, api_name, optional=True)
        return cls(f.code == "USER_CONFIRMATION_REQUIRED", f.text_or_none("status"))


@dataclass(frozen=True)
class RevertResult:
    """``POST /v2/payments/preauthorize/revert``: ``status`` is CANCELED when PayPay says so."""

    status: str | None = None

    @classmethod
    def parse(cls, envelope: Mapping[str, Any], api_name: str) -> RevertResult:
        return cls(_Fields(envelope, api_name, optional=True).text_or_none("status"))
