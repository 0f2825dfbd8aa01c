"""`kiosk refund MERCHANT_PAYMENT_ID [--amount YEN]`: refund a payment this kiosk recorded.

Why this shape: the refund row is written to the journal (PENDING, with its own
merchantRefundId) before PayPay hears of it, exactly as the attendant menu does, so a retry or
a crash never refunds twice. If the kiosk is running, its worker sends and follows the refund
and this command waits for the answer; if it is stopped, this command does the same work. The
kiosk's lock tells the two apart, and another `kiosk refund` may be what holds it: a refund
recorded while the lock was held is sent from here once the lock is free and it is still unsent.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

from kiosk.commands.common import (
    CommandError,
    ExitCode,
    load_secrets,
    load_settings,
    require_credentials,
    say,
    state_path,
)
from kiosk.commands.journalcmd import open_journal
from kiosk.commands.paypay import DemoAuth, make_client
from kiosk.config import Config
from kiosk.engine import refunds
from kiosk.engine.journal import Journal, RefundRow
from kiosk.engine.refunds import RefundFollower
from kiosk.opa import Client, errors
from kiosk.ops.lock import KioskLock
from kiosk.ops.logs import Redactor

WAIT_S = 90.0  # a refund call may take 30 s, and a retry another 30
POLL_S = 0.5
DONE = ("REFUNDED", "REFUSED", "CREATED")


def record_refund(journal: Journal, merchant_payment_id: str, amount_yen: int | None) -> RefundRow:
    """The journal row, refused (exit 1) above what is still refundable."""
    try:
        return refunds.record_refund(journal, merchant_payment_id, amount_yen, time.time())
    except refunds.RefundRefused as exc:
        if exc.reason == "unknown":
            message = f"{exc}; see kiosk journal list"
        elif exc.reason == "amount":
            message = f"--amount must be 1 to {exc.refundable_yen} yen (what is still refundable)"
        else:
            message = str(exc)
        raise CommandError(ExitCode.FAILED, message) from None


def status_of(journal: Journal, row: RefundRow) -> str:
    for found in journal.refunds_for(row.merchant_payment_id):
        if found.merchant_refund_id == row.merchant_refund_id:
            return found.status
    return "PENDING"


def run_refund(
    args: argparse.Namespace, redactor: Redactor, demo: Callable[[], DemoAuth] | None
) -> int:
    config = load_settings(args, os.environ)
    with open_journal(args) as journal:
        lock = KioskLock(state_path(config, os.environ, announce=False))
        try:
            if lock.acquire():
                status, row = _send(config, redactor, demo, journal, args)
            else:
                row = record_refund(journal, args.merchant_payment_id, args.amount)
                say(
                    f"recorded refund {row.merchant_refund_id} of {row.amount_yen} yen; "
                    "the running kiosk sends it",
                    err=True,
                )
                # the lock's holder may be another `kiosk refund` (refused, gone) or a kiosk
                # that stops: once the lock is ours and the refund still unsent, send it here
                status = wait(lambda: status_of(journal, row), stop=lock.acquire)
                if status not in DONE and lock.held:
                    say("no kiosk is running any more; sending the refund from here", err=True)
                    status, row = _send(config, redactor, demo, journal, args, row)
        finally:
            lock.release()
    return report(row, status)


def _send(
    config: Config,
    redactor: Redactor,
    demo: Callable[[], DemoAuth] | None,
    journal: Journal,
    args: argparse.Namespace,
    row: RefundRow | None = None,
) -> tuple[str, RefundRow]:
    """With no kiosk running (we hold its lock): record the refund unless `row` already is,
    send it and follow it here."""
    with _client(config, redactor, demo) as client:
        refused: list[Exception] = []  # credentials PayPay turned down

        def note(exc: Exception | None) -> None:
            if isinstance(exc, errors.AuthError):
                refused.append(exc)

        follower = RefundFollower(journal, client, note)
        if row is None:
            row = record_refund(journal, args.merchant_payment_id, args.amount)
        recorded = row
        status = wait(lambda: _follow(follower, journal, recorded), stop=lambda: refused)
        if refused and status == "PENDING":
            raise CommandError(ExitCode.PAYPAY, _credentials_refused(row, refused))
    return status, row


def _credentials_refused(row: RefundRow, refused: list[Exception]) -> str:
    """PayPay answered 401: nothing was refunded, and the row is still to be sent."""
    return (
        f"refund {row.merchant_refund_id} of {row.amount_yen} yen: PayPay refused this "
        f"kiosk's credentials ({refused[-1]}); nothing was refunded. It stays recorded, and "
        "the kiosk sends it once it runs with credentials PayPay accepts (check: kiosk doctor)"
    )


def _client(config: Config, redactor: Redactor, demo: Callable[[], DemoAuth] | None) -> Client:
    credentials = load_secrets(os.environ)
    require_credentials(config, credentials)
    for value in credentials.values if credentials else ():
        redactor.add(value)
    client, _ = make_client(config, credentials, demo)
    if client is None:
        raise CommandError(
            ExitCode.CONFIG,
            "demo mode with the built-in simulator: start the kiosk (its simulator lives "
            "inside kiosk run) and refund again, or set [simulator] url",
        )
    return client


def _follow(follower: RefundFollower, journal: Journal, row: RefundRow) -> str:
    follower.follow(time.time())
    return status_of(journal, row)


def wait(status: Callable[[], str], stop: Callable[[], object] = lambda: False) -> str:
    """The refund's status once it is settled, `stop()` is true, or WAIT_S has passed."""
    deadline = time.monotonic() + WAIT_S
    current = status()
    while current not in DONE and not stop() and time.monotonic() < deadline:
        time.sleep(POLL_S)
        current = status()
    return current


def report(row: RefundRow, status: str) -> int:
    what = f"refund {row.merchant_refund_id} of {row.amount_yen} yen"
    if status in ("REFUNDED", "CREATED"):
        say(f"{what}: {'done' if status == 'REFUNDED' else 'accepted by PayPay'}")
        return ExitCode.OK
    if status == "REFUSED":
        raise CommandError(ExitCode.PAYPAY, f"{what}: refused by PayPay; see the kiosk's log")
    raise CommandError(
        ExitCode.UNKNOWN,
        f"{what}: no answer from PayPay yet (status {status}); it is recorded and will be "
        "followed up: check kiosk journal list later, do not refund again",
    )
