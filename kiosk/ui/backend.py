"""The one thing the UI talks to: the sale engine (`kiosk.engine.runner.Runner`), a Protocol.

Why a Protocol: the UI never imports the runner, so screens and the loop are tested against a
small scripted backend, and the real runner is swapped in by the composition root. Every method
returns at once: the network runs on the runner's worker thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from kiosk.domain import Order, SaleView, ServiceIssue, Totals


class SaleRecordLike(Protocol):
    @property
    def merchant_payment_id(self) -> str: ...
    @property
    def amount_yen(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def created_at(self) -> object: ...  # a datetime, an epoch float or an ISO string
    @property
    def refundable_yen(self) -> int: ...
    @property
    def refunded_yen(self) -> int: ...


class HeldSaleLike(Protocol):
    """A sale the kiosk could not settle alone, held for the attendant (paid and not vended,
    a refused revert, an answer it could not trust or never got)."""

    @property
    def merchant_payment_id(self) -> str: ...
    @property
    def amount_yen(self) -> int: ...
    @property
    def description(self) -> str: ...
    @property
    def created_at(self) -> object: ...  # a datetime, an epoch float or an ISO string
    @property
    def end_reason(self) -> str | None: ...  # why it was held (the journal's reason)
    @property
    def give_back(self) -> str: ...  # "refund" | "release" (an authorisation) | "check" (unpaid)


class ReconcileSummaryLike(Protocol):
    @property
    def lines(self) -> Sequence[str]: ...


class KioskBackend(Protocol):
    def begin_sale(self, order: Order) -> None: ...  # ValueError if busy or out of service
    def cancel_sale(self) -> None: ...
    def pump(self) -> bool: ...  # never blocks; True when something visible changed
    def current_sale(self) -> SaleView | None: ...
    def acknowledge(self) -> None: ...  # the final phase was shown: forget the sale
    def service_issue(self) -> ServiceIssue | None: ...
    def set_out_of_service(self, on: bool) -> None: ...
    def recent_sales(self, limit: int = 20) -> Sequence[SaleRecordLike]: ...
    def totals_today(self) -> Totals: ...
    def refund(self, merchant_payment_id: str, amount_yen: int | None = None) -> None: ...
    def held_sales(self) -> Sequence[HeldSaleLike]: ...
    def hand_out_held(self, merchant_payment_id: str) -> None: ...  # goods given by hand
    # refund, release or check again, as the held sale needs; ValueError when it cannot
    def give_back_held(self, merchant_payment_id: str) -> None: ...
    def reconcile_now(self) -> None: ...
    def last_reconcile_summary(self) -> ReconcileSummaryLike | None: ...
