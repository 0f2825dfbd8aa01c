"""The pay page: real HTTP form posts, as a phone's browser sends them."""

from __future__ import annotations

import requests

from kiosk.simulator import Simulator, SimulatorConfig, SimulatorControl, start_simulator
from tests.simulator.conftest import KEY, MERCHANT, SECRET, FakeWall
from tests.simulator.signed import Signed


def test_page_shows_order_and_a_form_without_javascript(api: Signed) -> None:
    items = [
        {"name": "Cafe <Latte>", "quantity": 2, "unitPrice": {"amount": 600, "currency": "JPY"}}
    ]
    url = api.create("PG-1", 1200, orderItems=items).json()["data"]["url"]
    page = requests.get(url, timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    html = page.text
    assert "¥1,200" in html and "Coffee" in html and "Cafe &lt;Latte&gt; x2" in html
    assert "<script" not in html and "name=viewport" in html
    assert "<form method=post" in html and "value=pay" in html and "value=decline" in html


def test_pay_by_form_post_then_already_paid_page(api: Signed, ctl: SimulatorControl) -> None:
    url = api.create("PG-2").json()["data"]["url"]
    paid = requests.post(url, data={"action": "pay"}, timeout=5)
    assert paid.status_code == 200 and "Payment complete" in paid.text
    assert api.details("PG-2").json()["data"]["status"] == "COMPLETED"
    again = requests.post(url, data={"action": "pay"}, timeout=5)
    assert again.status_code == 409 and "Already paid" in again.text
    assert requests.get(url, timeout=5).status_code == 409
    assert len(ctl.ledger()["payments"]) == 1


def test_decline_by_form(api: Signed) -> None:
    url = api.create("PG-3").json()["data"]["url"]
    declined = requests.post(url, data={"action": "decline"}, timeout=5)
    assert declined.status_code == 200 and "Nothing was charged" in declined.text
    assert api.details("PG-3").json()["data"]["status"] == "FAILED"


def test_expired_and_deleted_codes_show_error_pages(api: Signed, ctl: SimulatorControl) -> None:
    expired = api.create("PG-4").json()["data"]
    ctl.expire(expired["codeId"])
    page = requests.post(expired["url"], data={"action": "pay"}, timeout=5)
    assert page.status_code == 410 and "Code expired" in page.text
    deleted = api.create("PG-5").json()["data"]
    api.request("DELETE", f"/v2/codes/{deleted['codeId']}")
    page = requests.get(deleted["url"], timeout=5)
    assert page.status_code == 410 and "cancelled" in page.text
    assert ctl.ledger()["payments"] == []


def test_bad_form_and_unknown_code(api: Signed, sim: Simulator) -> None:
    url = api.create("PG-6").json()["data"]["url"]
    assert requests.post(url, data={"action": "steal"}, timeout=5).status_code == 400
    assert requests.get(sim.base_url + "/qr/04-nothinghere", timeout=5).status_code == 404


def test_public_url_is_used_for_code_urls(wall: FakeWall) -> None:
    config = SimulatorConfig(
        api_key=KEY,
        api_secret=SECRET,
        merchant_id=MERCHANT,
        wall=wall,
        public_url="http://192.168.1.20:8765/",
    )
    sim = start_simulator(config)
    try:
        data = Signed(sim.base_url, KEY, SECRET, MERCHANT, epoch=wall).create("PG-7").json()
        assert data["data"]["url"] == f"http://192.168.1.20:8765/qr/{data['data']['codeId']}"
        assert requests.get(f"{sim.base_url}/qr/{data['data']['codeId']}", timeout=5).ok
    finally:
        sim.stop()


def test_paying_a_cancelled_order_fails_and_says_so(api: Signed, ctl: SimulatorControl) -> None:
    url = api.create("PG-8").json()["data"]["url"]
    api.request("DELETE", "/v2/payments/PG-8")
    page = requests.post(url, data={"action": "pay"}, timeout=5)
    assert page.status_code == 200 and "cancelled this order" in page.text
    again = requests.get(url, timeout=5)
    assert again.status_code == 409 and "Payment failed" in again.text
    assert ctl.ledger()["codes"][0]["status"] == "FAILED"


def test_control_dashboard_lists_codes_with_pay_links(api: Signed, sim: Simulator) -> None:
    assert "No codes yet" in requests.get(sim.base_url + "/_sim/", timeout=5).text
    code_id = api.create("PG-<9>").json()["data"]["codeId"]
    page = requests.get(sim.base_url + "/_sim/", timeout=5)
    assert page.status_code == 200 and "PG-&lt;9&gt;" in page.text
    assert f'href="/qr/{code_id}"' in page.text and "ACTIVE" in page.text
