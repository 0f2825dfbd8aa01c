"""The journal's codec for a sale: a `Sale` to a JSON-ready dict and back.

Why in the engine: only the journal stores sales; the machine knows nothing of records.
Invariant: `from_record(to_record(sale)) == sale`, and a record written by an older release
(fields since removed) still loads: unknown keys are dropped.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from kiosk.domain import PaymentStatus
from kiosk.sale.model import Call, Sale, State, Timing


def to_record(sale: Sale) -> dict[str, Any]:
    """A JSON-ready dict; `from_record` gives the same sale back."""
    return dataclasses.asdict(sale)


def from_record(data: dict[str, Any]) -> Sale:
    fields = dict(data)
    fields["timing"] = Timing(**fields["timing"])
    fields["state"] = State(fields["state"])
    if fields.get("in_flight") is not None:
        fields["in_flight"] = Call(fields["in_flight"])
    if fields.get("paid_status") is not None:
        fields["paid_status"] = PaymentStatus(fields["paid_status"])
    known = {f.name for f in dataclasses.fields(Sale)}
    return Sale(**{k: v for k, v in fields.items() if k in known})
