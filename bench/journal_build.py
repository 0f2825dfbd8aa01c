"""Build a big journal fast with direct SQL inserts (for bench_journal, never for tests).

The rows are what the engine writes: the schema comes from `Journal` itself, each sale's record
is `to_record` of a real `Sale`, and each sale has the step lines an engine-driven sale of its
kind has (7 for a paid sale). The mix follows issue 14's measurement: 76 % paid, 10 %
cancelled, 7 % expired, 2 % declined, 5 % paid and refunded by the attendant; sales spread
over about three years; the last few are unfinished or held, as after a power cut.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from kiosk.domain import PaymentStatus
from kiosk.engine.codec import to_record
from kiosk.engine.journal import Journal
from kiosk.sale.machine import new_sale
from kiosk.sale.model import State

START = 1_700_000_000.0
BATCH = 50_000
UNFINISHED = 2  # the newest sales: one QR on screen, one vending (a power cut mid-sale)
HELD = 1


def _kind(i: int) -> State:
    slot = i % 100
    for limit, state in ((76, State.SUCCEEDED), (86, State.CANCELLED), (93, State.EXPIRED)):
        if slot < limit:
            return state
    return State.FAILED if slot < 95 else State.REFUNDED  # REFUNDED: by the attendant


def _steps(mpid: str, at: float, state: State) -> list[tuple[Any, ...]]:
    lines = [
        ("state", None, "CREATING"),
        ("intent", "create", "CreateQr(amount_yen=300, description='Coffee', preauth=False)"),
        (
            "outcome",
            "create",
            f"QrCreated(code_id='04-{mpid[-16:]}', qr_url='https://qr-sandbox.paypay.ne.jp/"
            f"28180104{mpid[-16:]}', expiry_at={at + 300}) -> SHOWING",
        ),
    ]
    if state in (State.SUCCEEDED, State.REFUNDED):
        lines += [
            (
                "outcome",
                "poll",
                f"StatusPolled(status='COMPLETED', payment_id='0{at:.0f}0', paid_at={at + 20})"
                f" [4 quiet poll(s), last at {at + 17}] -> VENDING",
            ),
            ("intent", "vend", "Vend(amount_yen=300, description='Coffee')"),
            ("outcome", "vend", "VendFinished(ok=True, detail='vended') -> SUCCEEDED"),
            ("note", None, "succeeded: ok"),
        ]
    else:
        lines += [
            ("state", None, f"DELETING: 29 quiet poll(s), last at {at + 118}"),
            ("intent", "delete", f"DeleteQr(code_id='04-{mpid[-16:]}')"),
            ("outcome", "delete", "QrDeleted() -> GRACE"),
            ("outcome", "poll", f"StatusPolled(status='CREATED') -> {state.value}"),
            ("note", None, f"{state.value.lower()}: {state.value.lower()}"),
        ]
    return [(mpid, at, kind, call, detail) for kind, call, detail in lines]


def _sale_row(
    i: int, count: int, spacing_s: float
) -> tuple[tuple[Any, ...], list[tuple[Any, ...]], bool]:
    at = START + i * spacing_s
    mpid = f"kiosk-1-{i:012d}-{(i * 2654435761) % 16**10:010x}"
    state = _kind(i)
    if i >= count - UNFINISHED - HELD:
        state = (State.HELD, State.SHOWING, State.VENDING)[i - (count - UNFINISHED - HELD)]
    sale, _ = new_sale(mpid, 300, "Coffee", preauth=False, now=at)
    paid = state in (State.SUCCEEDED, State.REFUNDED, State.HELD, State.VENDING)
    sale = replace(
        sale,
        state=State.SUCCEEDED if state is State.REFUNDED else state,
        in_flight=None,
        code_id=f"04-{mpid[-16:]}",
        qr_url=f"https://qr-sandbox.paypay.ne.jp/28180104{mpid[-16:]}",
        shown_at=at + 1,
        give_up_at=at + 121,
        expiry_at=at + 300,
        payment_id=f"0{at:.0f}0" if paid else None,
        paid_at=at + 20 if paid else None,
        paid_status=PaymentStatus.COMPLETED if paid else None,
        vended=state is State.SUCCEEDED,
    )
    record = json.dumps(to_record(sale), sort_keys=True, separators=(",", ":"))
    row = (
        mpid,
        at,
        at + 25,
        300,
        "Coffee",
        sale.state.value,
        int(sale.finished),
        int(paid),
        sale.payment_id,
        record,
    )
    return row, _steps(mpid, at, state), state is State.REFUNDED


def _rows(
    count: int, spacing_s: float
) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]], bool]]:
    for i in range(count):
        yield _sale_row(i, count, spacing_s)


def build(path: Path, count: int, spacing_s: float = 95.0) -> None:
    """A journal of `count` sales `spacing_s` apart at `path` (replaced); 1,000,000 sales
    95 s apart span three years."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    Journal(path).close()  # the kiosk's own schema, at its current version
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-200000")
    rows = _rows(count, spacing_s)
    done = 0
    while done < count:
        batch = [next(rows) for _ in range(min(BATCH, count - done))]
        db.execute("BEGIN")
        db.executemany("INSERT INTO sales VALUES (?,?,?,?,?,?,?,?,?,?)", [b[0] for b in batch])
        db.executemany(
            "INSERT INTO steps (merchant_payment_id, at, kind, call, detail) VALUES (?,?,?,?,?)",
            [line for b in batch for line in b[1]],
        )
        db.executemany(
            "INSERT INTO refunds VALUES (?,?,?,?,?,?,?)",
            [
                (f"{b[0][0]}-R1", b[0][0], b[0][8], 300, "REFUNDED", b[0][1] + 600, b[0][1] + 605)
                for b in batch
                if b[2]
            ],
        )
        db.execute("COMMIT")
        done += len(batch)
    db.execute("PRAGMA journal_mode=WAL")
    db.close()
