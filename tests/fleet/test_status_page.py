"""The hub's status page in a real headless chromium: login required, the fleet with a
silent kiosk shown as such, today's sales per kiosk and in total, one kiosk's sales and
refunds, Japanese and English, readable on a phone-sized screen."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from http.server import ThreadingHTTPServer

import pytest

from kiosk.domain import JST
from kiosk.fleet.hub.alerts import check_silent
from kiosk.fleet.hub.ledger import Ledger
from kiosk.fleet.hub.migrate import migrate
from kiosk.fleet.hub.web import WebApp, hash_password, serve
from kiosk.fleet.schema import Event
from tests.fleet.browser import Browser

PASSWORD = "correct horse battery"
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=JST).timestamp()  # noon JST: all sales are "today"


def sale(kiosk: str, seq: int, mpid: str, amount: int, state: str, at: float) -> Event:
    data = {
        "merchant_payment_id": mpid,
        "amount_yen": amount,
        "description": "Coffee <b>",
        "state": state,
        "paid": state in ("SUCCEEDED", "HELD", "REFUNDED"),
        "created_at": at,
    }
    return Event(kiosk, seq, f"{kiosk}-{seq}", "sale", at, data)


@pytest.fixture
def site(ledger_dsn: str) -> Iterator[str]:
    migrate(ledger_dsn)
    now = NOW
    ledger = Ledger(ledger_dsn)
    ledger.ingest(sale("tokyo-1", 1, "tokyo-1-a", 150, "SUCCEEDED", now - 60), now - 60)
    ledger.ingest(sale("tokyo-1", 2, "tokyo-1-b", 130, "SUCCEEDED", now - 30), now - 30)
    refund = {"merchant_refund_id": "tokyo-1-b-R1", "merchant_payment_id": "tokyo-1-b",
              "amount_yen": 30, "status": "REFUNDED"}  # fmt: skip
    ledger.ingest(Event("tokyo-1", 3, "tokyo-1-3", "refund", now - 20, refund), now - 20)
    ledger.ingest(sale("osaka-2", 1, "osaka-2-a", 200, "SUCCEEDED", now - 500), now - 500)
    check_silent(ledger.db, now, 90)  # osaka-2 was last heard 500 s ago
    ledger.close()
    app = WebApp(
        ledger_dsn, hash_password(PASSWORD, b"fixed-salt-1234", iterations=1000), clock=lambda: NOW
    )
    server: ThreadingHTTPServer = serve(app, "127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    b = Browser(width=390, height=844)  # a phone's screen
    yield b
    b.close()


def test_the_status_page_in_a_browser(site: str, browser: Browser) -> None:
    browser.go(f"{site}/")
    assert "/login" in browser.url()  # nothing without a login
    assert "tokyo-1" not in browser.source()
    browser.type("#password", "wrong password!")
    browser.click("#submit")
    browser.wait_url("wrong=1")
    assert browser.text("#wrong") == "パスワードが違います"
    browser.type("#password", PASSWORD)
    browser.click("#submit")
    assert browser.wait_url("/login", present=False) == f"{site}/?lang=ja"
    source = browser.source()
    assert browser.text("h1") == "キオスク フリート"
    assert 'data-state="online"' in source and 'data-state="silent"' in source
    fleet = browser.text("#fleet")
    assert "osaka-2 応答なし" in fleet and "tokyo-1 オンライン" in fleet
    today = browser.text("#today")
    assert "tokyo-1 2 ¥280 ¥30" in today
    assert "osaka-2 1 ¥200 ¥0" in today
    assert "合計 3 ¥480 ¥30" in today
    # a phone shows it without sideways scrolling of the page
    assert browser.script("return document.documentElement.scrollWidth") <= browser.script(
        "return window.innerWidth"
    )
    browser.click('a[href="/kiosk/tokyo-1"]')
    assert browser.text("h1") == "キオスク tokyo-1"
    assert "tokyo-1-b ¥130 SUCCEEDED Coffee <b>" in browser.text("#sales")  # escaped, shown
    assert "tokyo-1-b-R1 tokyo-1-b ¥30 REFUNDED" in browser.text("#refunds")
    browser.go(f"{site}/?lang=en")
    assert browser.text("h1") == "Kiosk fleet"
    assert "osaka-2 silent" in browser.text("#fleet")
    browser.go(f"{site}/")  # the language is remembered
    assert browser.text("h1") == "Kiosk fleet"
    assert browser.screenshot()[:8] == b"\x89PNG\r\n\x1a\n"
    browser.click('a[href="/logout"]')
    browser.go(f"{site}/kiosk/tokyo-1")
    assert "/login" in browser.url()
