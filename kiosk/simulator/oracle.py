"""The ledger as data: the test oracle (``GET /_sim/ledger``) and the state file's content.

Why apart from the operations: these are read-only projections (and the one restore), so the
ledger module stays about money rules. The snapshot's shape is a public contract documented
in docs/simulator.md (section "The ledger"); extend it, never rename its keys.
"""

from __future__ import annotations

from typing import Any

from kiosk.simulator.ledger import Ledger
from kiosk.simulator.model import Code, Payment, to_json


def snapshot(ledger: Ledger, now: int) -> dict[str, Any]:
    """``GET /_sim/ledger``: the shape is documented in docs/simulator.md (section "The ledger")."""
    with ledger.lock:
        codes = [
            {
                "code_id": c.code_id,
                "merchant_payment_id": c.merchant_payment_id,
                "amount": c.amount,
                "status": c.state_at(now),
                "payable": c.payable_at(now),
                "payment_status": (
                    ledger.payments[c.payment_id].status_at(now) if c.payment_id else "CREATED"
                ),
                "payment_id": c.payment_id,
                "created_at": c.created_at,
                "expiry_at": c.expiry_at,
                "expiry_date": c.expiry_date,
                "deleted_at": c.deleted_at,
                "cancel_requested_at": c.cancel_requested_at,
                "is_authorization": c.is_authorization,
                "kind": c.kind,
                "url": c.url,
            }
            for c in ledger.codes.values()
        ]
        payments = [
            {
                "payment_id": p.payment_id,
                "merchant_payment_id": p.merchant_payment_id,
                "status": p.status_at(now),
                "amount": p.amount,
                "accepted_at": p.accepted_at,
                "canceled_at": p.canceled_at,
                "refunded": p.refunded_yen(),
                "refunds": [
                    to_json(r)
                    | {
                        "status": "REFUNDED"
                        if now >= r.accepted_at + ledger.refund_settle_s
                        else "CREATED"
                    }
                    for r in p.refunds
                ],
                "captures": [to_json(c) for c in p.captures],
                "revert": to_json(p.revert) if p.revert else None,
            }
            for p in ledger.payments.values()
        ]
        return {
            "now": now,
            "clock_offset_s": ledger.clock_offset_s,
            "codes": codes,
            "payments": payments,
            "creates_applied": dict(ledger.creates_applied),
            "create_attempts": dict(ledger.create_attempts),
            "pre_cancelled": sorted(ledger.pre_cancelled),
            "cashbacks": list(ledger.extras["cashbacks"].values()),
            "cashback_reversals": list(ledger.extras["reversals"].values()),
        }


def dump(ledger: Ledger) -> dict[str, Any]:
    with ledger.lock:
        return {
            "version": 1,
            "codes": [to_json(c) for c in ledger.codes.values()],
            "payments": [to_json(p) for p in ledger.payments.values()],
            "pre_cancelled": dict(ledger.pre_cancelled),
            "create_attempts": dict(ledger.create_attempts),
            "creates_applied": dict(ledger.creates_applied),
            "clock_offset_s": ledger.clock_offset_s,
            "extras": ledger.extras,
        }


def load(ledger: Ledger, raw: dict[str, Any]) -> None:
    with ledger.lock:
        ledger.codes = {c["merchant_payment_id"]: Code.from_json(c) for c in raw["codes"]}
        ledger.code_ids = {c.code_id: mpid for mpid, c in ledger.codes.items() if c.code_id}
        ledger.payments = {p["payment_id"]: Payment.from_json(p) for p in raw["payments"]}
        ledger.refunds = {
            r.merchant_refund_id: r for p in ledger.payments.values() for r in p.refunds
        }
        ledger.pre_cancelled = dict(raw.get("pre_cancelled", {}))
        ledger.create_attempts = dict(raw.get("create_attempts", {}))
        ledger.creates_applied = dict(raw.get("creates_applied", {}))
        ledger.clock_offset_s = float(raw.get("clock_offset_s", 0.0))
        for name, records in raw.get("extras", {}).items():
            ledger.extras[name] = dict(records)
