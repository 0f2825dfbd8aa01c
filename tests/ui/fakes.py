"""A small scripted backend, a settable clock and a scripted event source for loop tests.

The scripted backend stands in for the sale engine until tests run against the real runner; it
keeps the same contract (ValueError when busy, refunds checked against what is refundable) and
records every call so tests can assert on them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace

import pygame

from kiosk.domain import Order, Phase, SaleView, ServiceIssue, Totals
from kiosk.ops.pin import hash_pin

PIN = "2468"
PIN_HASH = hash_pin(PIN, b"fixed-test-salt", iterations=1000)


@dataclass(frozen=True)
class Record:
    merchant_payment_id: str
    amount_yen: int
    status: str
    created_at: object
    refundable_yen: int
    refunded_yen: int = 0


@dataclass(frozen=True)
class Held:
    merchant_payment_id: str
    amount_yen: int
    description: str
    created_at: object
    end_reason: str | None = None
    give_back: str = "refund"


@dataclass(frozen=True)
class Summary:
    lines: list[str]


@dataclass
class ScriptedBackend:
    sale: SaleView | None = None
    issue: ServiceIssue | None = None
    records: list[Record] = field(default_factory=list)
    held: list[Held] = field(default_factory=list)
    calls: list[tuple[object, ...]] = field(default_factory=list)
    changed: bool = False
    reconciled: int = 0
    next_id: int = 1

    def begin_sale(self, order: Order) -> None:
        if self.sale is not None or self.issue is not None:
            raise ValueError("busy or out of service")
        self.calls.append(("begin_sale", order))
        self.sale = SaleView(
            f"sale-{self.next_id}", Phase.CREATING, order.amount_yen, order.description
        )
        self.next_id += 1
        self.changed = True

    def cancel_sale(self) -> None:
        self.calls.append(("cancel_sale",))

    def pump(self) -> bool:
        changed, self.changed = self.changed, False
        return changed

    def current_sale(self) -> SaleView | None:
        return self.sale

    def acknowledge(self) -> None:
        self.calls.append(("acknowledge",))
        self.sale = None

    def service_issue(self) -> ServiceIssue | None:
        return self.issue

    def set_out_of_service(self, on: bool) -> None:
        self.calls.append(("set_out_of_service", on))
        self.issue = ServiceIssue.ATTENDANT if on else None

    def recent_sales(self, limit: int = 20) -> list[Record]:
        return self.records[:limit]

    def totals_today(self) -> Totals:
        paid = [r for r in self.records if r.status == "SUCCEEDED"]
        return Totals(len(paid), sum(r.amount_yen for r in paid), 0)

    def refund(self, merchant_payment_id: str, amount_yen: int | None = None) -> None:
        record = next(r for r in self.records if r.merchant_payment_id == merchant_payment_id)
        amount = record.refundable_yen if amount_yen is None else amount_yen
        if amount > record.refundable_yen:
            raise ValueError(f"only {record.refundable_yen} yen is refundable")
        self.calls.append(("refund", merchant_payment_id, amount_yen))
        index = self.records.index(record)
        self.records[index] = replace(record, refundable_yen=record.refundable_yen - amount)

    def held_sales(self) -> list[Held]:
        return list(self.held)

    def hand_out_held(self, merchant_payment_id: str) -> None:
        self.calls.append(("hand_out_held", merchant_payment_id))
        self.held = [h for h in self.held if h.merchant_payment_id != merchant_payment_id]

    def give_back_held(self, merchant_payment_id: str) -> None:
        held = next((h for h in self.held if h.merchant_payment_id == merchant_payment_id), None)
        if held is None:
            raise ValueError(f"{merchant_payment_id} is not held")
        if held.give_back == "refund":
            self.refund(merchant_payment_id)
        else:
            self.calls.append(("give_back_held", merchant_payment_id, held.give_back))
        self.held = [h for h in self.held if h.merchant_payment_id != merchant_payment_id]

    def reconcile_now(self) -> None:
        self.reconciled += 1

    def last_reconcile_summary(self) -> Summary | None:
        return Summary([f"reconciled {self.reconciled} time(s)"]) if self.reconciled else None

    # scripting helpers
    def show(self, phase: Phase, **changes: object) -> None:
        assert self.sale is not None
        self.sale = replace(self.sale, phase=phase, **changes)  # type: ignore[arg-type]
        self.changed = True


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class ScriptedEvents:
    """Each call returns the next queued batch; with nothing queued, time passes by the timeout."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.batches: deque[list[pygame.event.Event]] = deque()
        self.timeouts: list[float] = []

    def push(self, *events: pygame.event.Event) -> None:
        self.batches.append(list(events))

    def __call__(self, timeout_s: float) -> list[pygame.event.Event]:
        self.timeouts.append(timeout_s)
        if self.batches:
            return self.batches.popleft()
        self.clock.now += timeout_s
        return []
