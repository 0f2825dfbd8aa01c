"""`kiosk journal list/export`, `kiosk refund` and `kiosk reconcile` against a journal the real
engine wrote while selling through the simulator."""

from __future__ import annotations

import csv
import io
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.commands.common import ExitCode
from kiosk.commands.settings import to_sale_settings
from kiosk.config import load_config
from kiosk.domain import Order
from kiosk.engine.clock import SystemClock
from kiosk.engine.journal import Journal
from kiosk.engine.runner import Runner
from kiosk.hardware.vend import NoVendor
from kiosk.opa import Client
from kiosk.ops.lock import KioskLock
from kiosk.simulator import (
    DEMO_API_KEY,
    DEMO_API_SECRET,
    DEMO_MERCHANT_ID,
    SimulatorConfig,
    SimulatorControl,
    start_simulator,
)
from tests.engine.harness import crashed_sale
from tests.ops.cli_helpers import clean_env, kiosk, wait_for


def pumped(runner: Runner, check: Callable[[], Any]) -> Any:
    """The UI loop's part: let the runner tick, then look."""
    runner.pump()
    return check()


def state_of(journal: Journal, merchant_payment_id: str) -> bool:
    record = journal.sale_record(merchant_payment_id)
    return record is not None and record.status == "SUCCEEDED"


class Shop:
    """A simulator, a config pointing at it, and an engine selling into the state dir."""

    def __init__(self, tmp_path: Path) -> None:
        self.sim = start_simulator(SimulatorConfig(control=True), port=0)
        self.control = SimulatorControl(self.sim.base_url)
        self.state = tmp_path / "state"
        self.state.mkdir()
        self.config = tmp_path / "kiosk.toml"
        self.config.write_text(
            f'state_dir = "{self.state}"\npoll_interval_s = 2\ngrace_s = 2\n'
            f'[simulator]\nurl = "{self.sim.base_url}"\n',
            encoding="utf-8",
        )
        self.env = clean_env(tmp_path)

    def runner(self) -> tuple[Runner, Journal, Client]:
        client = Client((DEMO_API_KEY, DEMO_API_SECRET), base_url=self.sim.base_url)
        client.set_assume_merchant(DEMO_MERCHANT_ID)
        journal = Journal(self.state / "journal.sqlite3")
        settings = to_sale_settings(load_config(self.config, {}))
        runner = Runner(
            client=client, journal=journal, vendor=NoVendor(), settings=settings,
            clock=SystemClock(),
        )  # fmt: skip
        runner.start()
        wait_for("in service", lambda: pumped(runner, lambda: runner.service_issue() is None))
        return runner, journal, client

    def sell(self, amount_yen: int, pay: bool) -> str:
        """One sale; paid, or left with its QR live when the engine stops."""
        runner, journal, client = self.runner()
        try:
            runner.begin_sale(Order.of_amount(amount_yen, "Tea"))
            [code] = wait_for(
                "a QR",
                lambda: (
                    runner.pump() is None
                    or [c for c in self.control.ledger()["codes"] if c["payable"]]
                ),
            )
            if pay:
                self.control.pay(code["code_id"])
                wait_for(
                    "success",
                    lambda: (
                        runner.pump() is None
                        or journal.sale_record(code["merchant_payment_id"]).status == "SUCCEEDED"
                    ),  # type: ignore[union-attr]
                )
            return str(code["merchant_payment_id"])
        finally:
            runner.stop(30)
            journal.close()
            client.close()

    def close(self) -> None:
        self.control.close()
        self.sim.stop()

    def run(self, *args: str) -> tuple[int, str, str]:
        """(exit code, stdout, stderr after the line naming the state directory, checked)."""
        done = kiosk(*args, "--config", str(self.config), env=self.env)
        said = f"state dir: {self.state} (state_dir setting)\n"
        assert done.stderr.startswith(said), done.stderr
        return done.returncode, done.stdout, done.stderr.removeprefix(said)


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Shop]:
    made = Shop(tmp_path)
    try:
        yield made
    finally:
        made.close()


def test_no_journal_yet_is_exit_4(shop: Shop) -> None:
    code, _, err = shop.run("journal", "list")
    assert code == ExitCode.JOURNAL
    assert "no journal at" in err and "journal.sqlite3" in err


def test_list_export_refund_and_reconcile(shop: Shop, tmp_path: Path) -> None:
    paid = shop.sell(480, pay=True)
    code, out, _ = shop.run("journal", "list", "--status", "succeeded", "--since", "1h")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "created",
        "(JST)",
        "merchant_payment_id",
        "yen",
        "status",
        "refunded",
        "reason",
    ]
    assert len(lines) == 2 and lines[1].split()[1:] == [paid, "480", "SUCCEEDED", "0"]
    assert shop.run("journal", "list", "--status", "FAILED")[2] == "no sales match\n"
    assert shop.run("journal", "list", "--since", "soon")[0] == ExitCode.USAGE

    code, out, err = shop.run("refund", paid, "--amount", "500")
    assert code == ExitCode.FAILED
    assert err == "kiosk: error: --amount must be 1 to 480 yen (what is still refundable)\n"
    code, out, err = shop.run("refund", paid, "--amount", "180")
    assert code == 0, err
    assert out in (
        f"refund {paid}-R1 of 180 yen: done\n",
        f"refund {paid}-R1 of 180 yen: accepted by PayPay\n",
    )
    [payment] = shop.control.ledger()["payments"]
    assert payment["refunded"] == 180

    target = tmp_path / "sales.csv"
    code, _, err = shop.run("journal", "export", "--csv", str(target))
    assert code == 0 and err == f"wrote 1 sales to {target}\n"
    [row] = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert (row["merchant_payment_id"], row["amount_yen"], row["refunded_yen"]) == (
        paid,
        "480",
        "180",
    )
    assert row["refundable_yen"] == "300" and row["created_at"].endswith("+09:00")

    withdrawn = shop.sell(250, pay=False)  # a stopping engine withdraws its QR, proven
    opened = Journal(shop.state / "journal.sqlite3")
    record = opened.sale_record(withdrawn)
    opened.close()
    assert record is not None and record.status == "CANCELLED"
    live = "K1-crashed-with-a-live-qr"  # and an engine killed with its QR on screen
    crashed_sale(
        shop.sim, shop.state / "journal.sqlite3", live, create=True, show=True, pay=False,
        vend=False,
    )  # fmt: skip
    with KioskLock(shop.state) as lock:
        assert lock.acquire()
        code, _, err = shop.run("reconcile")
        assert code == ExitCode.FAILED and "the kiosk is running" in err
    code, out, err = shop.run("reconcile")
    assert code == 0, err
    assert out.splitlines()[-1].endswith("0 unresolved, 0 held")
    assert any(line.startswith(f"{live}: 600 yen") for line in out.splitlines()), out
    journal = Journal(shop.state / "journal.sqlite3")
    try:
        assert journal.sale_record(live).status == "CANCELLED"  # type: ignore[union-attr]
    finally:
        journal.close()


def test_csv_cells_cannot_become_formulas() -> None:
    from kiosk.commands.journalcmd import write_csv
    from kiosk.domain import SaleRecord

    out = io.StringIO()
    write_csv([SaleRecord("m1", 100, "SUCCEEDED", time.time(), 100, "=HYPERLINK(1)")], out)
    assert out.getvalue().splitlines()[1].endswith(",'=HYPERLINK(1)")


def _journal_of(state: Path, count: int, start: float) -> list[str]:
    """`count` sales an hour apart from `start` (every third cancelled), written by the kiosk's
    own journal; their ids, oldest first."""
    from dataclasses import replace

    from kiosk.domain import PaymentStatus
    from kiosk.sale.machine import new_sale
    from kiosk.sale.model import State

    journal = Journal(state / "journal.sqlite3")
    ids = []
    for i in range(count):
        at = start + 3600 * i
        sale, _ = new_sale(f"K1-{i:04d}", 100 + i, "Tea", preauth=False, now=at)
        if i % 3 == 2:
            sale = replace(sale, state=State.CANCELLED)
        else:
            sale = replace(
                sale, state=State.SUCCEEDED, payment_id=f"P{i}", paid_status=PaymentStatus.COMPLETED
            )
        journal.save_sale(sale, at)
        ids.append(sale.merchant_payment_id)
    journal.close()
    return ids


def test_list_filters_and_pages_in_sql_and_says_how_many(shop: Shop, tmp_path: Path) -> None:
    ids = _journal_of(shop.state, 12, start=1_790_000_000.0)  # 2026-09-21 23:13 JST, hourly
    code, out, err = shop.run("journal", "list", "--limit", "3")
    assert code == 0 and err == "3 sales listed\n"
    assert [line.split()[1] for line in out.splitlines()[1:]] == ids[:-4:-1]  # newest first
    code, out, err = shop.run(
        "journal", "list", "--since", "2026-09-22T00:00", "--until", "2026-09-22T04:13:20"
    )
    assert [line.split()[1] for line in out.splitlines()[1:]] == ids[4:0:-1]
    code, out, err = shop.run("journal", "list", "--state", "cancelled", "--limit", "100")
    assert err == "4 sales listed\n" and all("CANCELLED" in line for line in out.splitlines()[1:])


def test_list_and_export_show_and_read_times_in_the_display_time_zone(shop: Shop) -> None:
    """display_time_zone = "UTC": the header names the zone, times are UTC, and a naive
    --since/--until is read in UTC; the default stays Japan time (the test above)."""
    ids = _journal_of(shop.state, 3, start=1_790_000_000.0)  # 2026-09-21T14:13:20Z, hourly
    code, out, _ = shop.run("journal", "list", "--since", "2026-09-21T15:00")  # JST: all 3
    assert [line.split()[:2] for line in out.splitlines()[:2]] == [
        ["created", "(JST)"],
        ["2026-09-22T01:13:20+09:00", ids[2]],
    ]
    shop.env["KIOSK_DISPLAY_TIME_ZONE"] = "UTC"
    code, out, err = shop.run("journal", "list", "--since", "2026-09-21T15:00")  # UTC: 2
    assert code == 0 and err == "2 sales listed\n"
    assert [line.split()[:2] for line in out.splitlines()] == [
        ["created", "(UTC)"],
        ["2026-09-21T16:13:20+00:00", ids[2]],
        ["2026-09-21T15:13:20+00:00", ids[1]],
    ]
    code, out, _ = shop.run("journal", "export", "--csv", "-", "--until", "2026-09-21T15:00")
    assert [row.split(",")[:2] for row in out.splitlines()[1:]] == [
        [ids[0], "2026-09-21T14:13:20+00:00"]
    ]
    shop.env["KIOSK_DISPLAY_TIME_ZONE"] = "Mars/Olympus"
    done = kiosk("journal", "list", "--config", str(shop.config), env=shop.env)
    assert done.returncode != 0 and done.stdout == ""
    assert "KIOSK_DISPLAY_TIME_ZONE: 'Mars/Olympus' is not a known IANA time zone" in done.stderr


def test_a_negative_limit_is_a_clear_usage_error(shop: Shop) -> None:
    _journal_of(shop.state, 1, start=1_790_000_000.0)
    done = kiosk("journal", "list", "--limit", "-5", "--config", str(shop.config), env=shop.env)
    code, err = done.returncode, done.stderr  # argparse refuses it before anything is opened
    assert code == ExitCode.USAGE
    assert "argument --limit: -5 is out of range; allowed: a whole number from 1 to" in err
    code, _, err = shop.run("journal", "list", "--state", "SUCCEDED")
    assert code == ExitCode.USAGE and "--state 'SUCCEDED' is not a state; one of CREATING" in err
    code, _, err = shop.run("journal", "list", "--until", "whenever")
    assert code == ExitCode.USAGE and "--until 'whenever' is not a date" in err


def test_export_writes_every_row_and_says_so(shop: Shop, tmp_path: Path) -> None:
    ids = _journal_of(shop.state, 30, start=1_790_000_000.0)
    code, out, err = shop.run("journal", "export", "--csv", "-")
    assert code == 0 and err == "wrote 30 sales to stdout\n"
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["merchant_payment_id"] for r in rows] == ids[::-1]
    target = tmp_path / "cancelled.csv"
    code, _, err = shop.run("journal", "export", "--csv", str(target), "--state", "CANCELLED")
    assert err == f"wrote 10 sales to {target}\n"


def test_the_commands_never_write_the_journal(shop: Shop) -> None:
    _journal_of(shop.state, 3, start=1_790_000_000.0)
    path = shop.state / "journal.sqlite3"
    sqlite3.connect(path).execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    before = path.read_bytes()
    shop.state.chmod(0o555)  # an operator without write access can still read
    path.chmod(0o444)
    try:
        assert shop.run("journal", "list")[0] == 0
        assert shop.run("journal", "export", "--csv", "-")[0] == 0
    finally:
        shop.state.chmod(0o755)
        path.chmod(0o644)
    assert path.read_bytes() == before


def test_archive_then_export_the_archive_with_every_row(shop: Shop) -> None:
    old = _journal_of(shop.state, 9, start=time.time() - 500 * 86400)  # past the refund window
    young = _journal_of_more(shop.state, ["K1-new"], at=time.time() - 3600)
    with KioskLock(shop.state) as lock:
        assert lock.acquire()
        code, _, err = shop.run("journal", "archive")
        assert code == ExitCode.FAILED and "the kiosk is running" in err
    code, out, err = shop.run("journal", "archive")
    assert code == 0, err
    assert out.startswith("archived 9 sales into 1 files in ")
    code, out, err = shop.run("journal", "export", "--archive", "--csv", "-")
    assert code == 0 and err == "wrote 9 sales to stdout\n"
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["merchant_payment_id"] for r in rows] == old  # oldest first, as archived
    assert sum(int(r["amount_yen"]) for r in rows) == sum(100 + i for i in range(9))
    code, out, err = shop.run("journal", "export", "--csv", "-")
    assert err == "wrote 1 sales to stdout\n" and young[0] in out
    code, out, err = shop.run(
        "journal", "export", "--archive", "--state", "cancelled", "--csv", "-"
    )
    assert err == "wrote 3 sales to stdout\n"


def _journal_of_more(state: Path, ids: list[str], at: float) -> list[str]:
    from kiosk.sale.machine import new_sale

    journal = Journal(state / "journal.sqlite3")
    for mpid in ids:
        journal.save_sale(new_sale(mpid, 100, "Tea", preauth=False, now=at)[0], at)
    journal.close()
    return ids


def test_archive_compact_shrinks_a_journal_from_an_older_release(shop: Shop) -> None:
    path = shop.state / "journal.sqlite3"
    db = sqlite3.connect(path)  # made by a release without incremental auto_vacuum
    db.execute("PRAGMA auto_vacuum=NONE")
    db.execute("PRAGMA user_version=0")  # writes the file's header
    db.close()
    _journal_of(shop.state, 300, start=time.time() - 500 * 86400)
    _journal_of_more(shop.state, ["K1-new"], at=time.time())  # ages count from the newest sale
    assert sqlite3.connect(path).execute("PRAGMA auto_vacuum").fetchone()[0] == 0
    size = path.stat().st_size
    code, out, err = shop.run("journal", "archive", "--compact")
    assert code == 0, err
    assert out.splitlines()[0].startswith("archived 300 sales into 2 files")
    assert out.splitlines()[1].startswith(f"compacted {path}: ")
    assert path.stat().st_size < size / 2
    assert sqlite3.connect(path).execute("PRAGMA auto_vacuum").fetchone()[0] == 2
    code, _, err = shop.run("journal", "export", "--archive", "--csv", "-")
    assert err == "wrote 300 sales to stdout\n"
