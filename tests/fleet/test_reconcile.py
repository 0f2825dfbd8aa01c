"""Nightly reconciliation: the ledger's sales of a day against the real simulator's answers
(through the project's own PayPay client), with every difference explained or flagged."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from kiosk.domain import JST
from kiosk.fleet.hub.ledger import Ledger
from kiosk.fleet.hub.migrate import migrate
from kiosk.fleet.hub.reconcile import LedgerSale, judge, reconcile_day, report
from kiosk.fleet.schema import Event
from kiosk.opa import Client
from kiosk.simulator import SimulatorConfig, SimulatorControl, start_simulator
from tests.engine.harness import make_client


@pytest.fixture
def paypay() -> Iterator[tuple[Client, SimulatorControl]]:
    sim = start_simulator(SimulatorConfig(control=True, seed=3), port=0)
    client = make_client(sim.base_url, timeout_s=2.0)
    ctl = SimulatorControl(sim.base_url)
    yield client, ctl
    client.close()
    ctl.close()
    sim.stop()


def create(client: Client, mpid: str, amount: int, now: float) -> str:
    data = client.Code.create_qr_code(
        {
            "merchantPaymentId": mpid,
            "amount": {"amount": amount, "currency": "JPY"},
            "codeType": "ORDER_QR",
            "orderDescription": "Tea",
            "requestedAt": int(now),
        }
    )["data"]
    return str(data["codeId"])


def ingest_sale(
    ledger: Ledger, kiosk: str, seq: int, mpid: str, amount: int, state: str, at: float
) -> None:
    data = {"merchant_payment_id": mpid, "amount_yen": amount, "state": state,
            "paid": state in ("SUCCEEDED", "HELD", "REFUNDED"), "created_at": at}  # fmt: skip
    ledger.ingest(Event(kiosk, seq, f"{kiosk}-{seq}", "sale", at, data), at)


def test_a_day_is_reconciled_per_kiosk(
    paypay: tuple[Client, SimulatorControl], ledger_dsn: str
) -> None:
    client, ctl = paypay
    migrate(ledger_dsn)
    ledger = Ledger(ledger_dsn)
    now = time.time()
    # k1: two paid sales, one partly refunded at PayPay and in the ledger alike
    for n, amount in ((1, 150), (2, 300)):
        ctl.pay(create(client, f"k1-{n}", amount, now))
        ingest_sale(ledger, "k1", n, f"k1-{n}", amount, "SUCCEEDED", now)
    payment_id = client.Code.get_payment_details("k1-2")["data"]["paymentId"]
    client.Payment.refund_payment(
        {"merchantRefundId": "k1-2-R1", "paymentId": payment_id,
         "amount": {"amount": 100, "currency": "JPY"}, "requestedAt": int(now)}
    )  # fmt: skip
    refund = {"merchant_refund_id": "k1-2-R1", "merchant_payment_id": "k1-2", "amount_yen": 100,
              "status": "REFUNDED"}  # fmt: skip
    ledger.ingest(Event("k1", 3, "k1-3", "refund", now, refund), now)
    # k2: paid at PayPay but the ledger lost the payment (FAILED): flagged
    ctl.pay(create(client, "k2-1", 500, now))
    ingest_sale(ledger, "k2", 1, "k2-1", 500, "FAILED", now)
    # k2: a QR never paid, expired on both sides: ok; one still showing: explained
    create(client, "k2-2", 120, now)
    ingest_sale(ledger, "k2", 2, "k2-2", 120, "EXPIRED", now)
    ctl.pay(create(client, "k2-3", 80, now))
    ingest_sale(ledger, "k2", 3, "k2-3", 80, "SHOWING", now)
    # k3: the ledger says paid, PayPay never heard of it: flagged
    ingest_sale(ledger, "k3", 1, "k3-1", 999, "SUCCEEDED", now)
    ledger.close()

    day = datetime.fromtimestamp(now, JST).date()
    with psycopg.connect(ledger_dsn) as db:
        findings = reconcile_day(db, client.Code, day, now=now, pace_per_s=1000)
        stored = db.execute("SELECT count(*) FROM reconciliations WHERE day=%s", (day,)).fetchone()
    verdicts = {f.sale.merchant_payment_id: (f.verdict, f.paypay_status) for f in findings}
    assert verdicts == {
        "k1-1": ("ok", "COMPLETED"),
        "k1-2": ("ok", "COMPLETED"),
        "k2-1": ("flagged", "COMPLETED"),
        "k2-2": ("ok", "CREATED"),
        "k2-3": ("explained", "COMPLETED"),
        "k3-1": ("flagged", "NOT_FOUND"),
    }
    assert stored == (6,)
    lines = report(day, findings)
    assert lines[0] == (
        f"reconcile day={day} kiosk=k1 sales=2 ok=2 explained=0 flagged=0 unknown=0"
        " ledger_yen=350 yen_difference=0"
    )
    assert (
        "kiosk=k2 sales=3 ok=1 explained=1 flagged=1 unknown=0 ledger_yen=0 yen_difference=-580"
        in lines[1]
    )
    assert any(
        "mpid=k2-1 verdict=flagged detail=ledger FAILED keeps 0 yen, PayPay COMPLETED keeps 500 yen"
        in line
        for line in lines
    )
    assert any("kiosk=k3 sales=1" in line and "yen_difference=999" in line for line in lines)


def test_no_answer_is_unknown_never_a_guess(
    paypay: tuple[Client, SimulatorControl], ledger_dsn: str
) -> None:
    client, ctl = paypay
    migrate(ledger_dsn)
    ledger = Ledger(ledger_dsn)
    now = time.time()
    ctl.pay(create(client, "k1-1", 150, now))
    ingest_sale(ledger, "k1", 1, "k1-1", 150, "SUCCEEDED", now)
    ledger.close()
    ctl.add_fault("*", status=503, times=None)  # PayPay unreachable: a bare 503, no envelope
    with psycopg.connect(ledger_dsn) as db:
        day = datetime.fromtimestamp(now, JST).date()
        (finding,) = reconcile_day(db, client.Code, day, now=now)
    assert finding.verdict == "unknown" and "run again" in finding.detail
    assert finding.difference_yen == 0
    ctl.clear_faults()


def test_judge_names_the_money() -> None:
    paid = LedgerSale("k", "m", "SUCCEEDED", 150, 0)
    assert judge(paid, "COMPLETED", 150) == ("ok", "both 150 yen")
    assert judge(paid, "CANCELED", 0)[0] == "flagged"
    refunded = LedgerSale("k", "m", "REFUNDED", 150, 0)
    assert judge(refunded, "CANCELED", 0) == ("ok", "both 0 yen")


def test_nightly_runs_at_the_hour_for_the_day_before() -> None:
    from kiosk.fleet.hub.nightly import next_run

    at_1am = datetime(2026, 3, 10, 1, 0, tzinfo=JST).timestamp()
    when, day = next_run(at_1am, 2)
    assert when == datetime(2026, 3, 10, 2, 0, tzinfo=JST).timestamp()
    assert str(day) == "2026-03-09"
    when, day = next_run(at_1am + 3600, 2)  # exactly 02:00: the next night
    assert when == datetime(2026, 3, 11, 2, 0, tzinfo=JST).timestamp()
    assert str(day) == "2026-03-10"


def test_kiosk_hub_reconcile_prints_the_report(
    paypay: tuple[Client, SimulatorControl], ledger_dsn: str, tmp_path: Path
) -> None:
    client, ctl = paypay
    migrate(ledger_dsn)
    ledger = Ledger(ledger_dsn)
    now = time.time()
    ctl.pay(create(client, "k7-1", 150, now))
    ingest_sale(ledger, "k7", 1, "k7-1", 150, "SUCCEEDED", now)
    ingest_sale(ledger, "k7", 2, "k7-2", 90, "SUCCEEDED", now)  # PayPay never saw it
    ledger.close()
    base_url = ctl.base_url
    config = tmp_path / "hub.toml"
    config.write_text(
        f'[hub]\ndatabase = "{ledger_dsn}"\npaypay_mode = "simulator"\npaypay_url = "{base_url}"\n'
    )
    day = datetime.fromtimestamp(now, JST).date()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYPAY_")}
    argv = ["hub", "reconcile", "--config", str(config), "--day", str(day)]
    done = subprocess.run(
        [sys.executable, "-m", "kiosk", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 1, done.stderr  # a flagged sale: a person must look
    assert "kiosk=k7 sales=2 ok=1 explained=0 flagged=1 unknown=0" in done.stdout
    assert "mpid=k7-2 verdict=flagged" in done.stdout
