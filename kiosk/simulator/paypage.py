"""The pay page behind each code's ``url``: what the customer's phone shows instead of the app.

Why plain HTML forms: it must work on any phone browser, without JavaScript, on a LAN with
no internet. GET shows the order with Pay / Decline; POST acts and shows the outcome.
Expired, deleted and already-paid codes get an error page, never a second payment.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote

from kiosk.simulator.envelope import ApiError
from kiosk.simulator.model import ACTIVE, DELETED, EXPIRED, FAILED, PAID, Code

if TYPE_CHECKING:
    from kiosk.simulator.app import Simulator

STYLE = """
body{font-family:system-ui,sans-serif;margin:0;background:#f4f4f4;color:#222}
main{max-width:28rem;margin:0 auto;padding:1.5rem}
.card{background:#fff;border-radius:1rem;padding:1.5rem;box-shadow:0 1px 4px #0002}
h1{font-size:1.1rem;color:#e60012;margin:0 0 1rem}
.amount{font-size:2.5rem;font-weight:700;margin:.5rem 0}
button{width:100%;font-size:1.3rem;padding:1rem;margin-top:1rem;border:0;border-radius:.7rem}
.pay{background:#e60012;color:#fff}.decline{background:#ddd;color:#222}
.note{color:#666;font-size:.9rem}
"""

STATE_MESSAGES = {
    PAID: ("Already paid", "This code has already been paid. Nothing more was charged."),
    FAILED: ("Payment failed", "This code's payment failed. Ask the kiosk for a new code."),
    EXPIRED: ("Code expired", "This code has expired. Ask the kiosk for a new code."),
    DELETED: ("Code cancelled", "The kiosk cancelled this code. Nothing was charged."),
}


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)} - PayPay simulator</title><style>{STYLE}</style></head>"
        f"<body><main><div class=card><h1>PayPay (simulator)</h1>{body}</div>"
        "<p class=note>A local test simulator. No real money moves.</p></main></body></html>"
    )


def _message(title: str, text: str) -> str:
    return _page(title, f"<h2>{escape(title)}</h2><p>{escape(text)}</p>")


def _order(sim: Simulator, code: Code) -> str:
    merchant = str(code.echo.get("storeInfo") or sim.config.merchant_id)
    description = str(code.echo.get("orderDescription", ""))
    items = "".join(
        f"<li>{escape(str(i['name']))} x{int(i['quantity'])}</li>"
        for i in code.echo.get("orderItems", [])
    )
    return (
        f"<p>{escape(merchant)}</p><div class=amount>¥{code.amount:,}</div>"
        f"<p>{escape(description)}</p>" + (f"<ul>{items}</ul>" if items else "")
    )


def handle_pay_page(sim: Simulator, method: str, path: str, raw: bytes) -> tuple[int, str]:
    code_id = unquote(path.removeprefix("/qr/"))
    code = sim.ledger.code_by_id(code_id)
    if code is None:
        return 404, _message("Unknown code", "This QR code does not exist.")
    if method == "POST":
        return _act(sim, code, raw)
    if method != "GET":
        return 405, _message("Not allowed", "Use the buttons on the page.")
    state = code.state_at(sim.now())
    if state != ACTIVE:
        title, text = STATE_MESSAGES[state]
        return 410 if state in (EXPIRED, DELETED) else 409, _message(title, text)
    action = escape(f"/qr/{code.code_id}")
    form = (
        f'<form method=post action="{action}">'
        "<button class=pay name=action value=pay>Pay</button>"
        "<button class=decline name=action value=decline>Decline</button></form>"
    )
    return 200, _page(f"Pay ¥{code.amount:,}", _order(sim, code) + form)


def _act(sim: Simulator, code: Code, raw: bytes) -> tuple[int, str]:
    try:
        form = parse_qs(raw.decode("utf-8", errors="replace"))
    except ValueError:
        form = {}
    action = (form.get("action") or [""])[0]
    if action not in ("pay", "decline"):
        return 400, _message("Bad request", "Choose Pay or Decline.")
    now = sim.now()
    state = code.state_at(now)
    try:
        payment = sim.ledger.pay(code.code_id, now, decline=action == "decline")
    except ApiError:
        state = code.state_at(sim.now())
        title, text = STATE_MESSAGES.get(state, ("Not payable", "This code cannot be paid."))
        return 410 if state in (EXPIRED, DELETED) else 409, _message(title, text)
    if payment.status == "FAILED":
        what = "You declined." if action == "decline" else "The shop cancelled this order."
        return 200, _message("Payment failed", f"{what} Nothing was charged.")
    del state
    return 200, _page("Paid", _order(sim, code) + "<h2>Payment complete</h2><p>Thank you.</p>")


def dashboard(sim: Simulator) -> str:
    """``GET /_sim/`` (control only): every code, newest first, linked to its pay page."""
    now = sim.now()
    with sim.ledger.lock:
        codes = sorted(sim.ledger.codes.values(), key=lambda c: c.created_at, reverse=True)
        rows = "".join(
            f"<tr><td>{escape(c.merchant_payment_id)}</td><td>¥{c.amount:,}</td>"
            f"<td>{escape(c.state_at(now))}</td><td>{_pay_link(c)}</td></tr>"
            for c in codes[:200]
        )
    table = (
        "<table><tr><th>merchantPaymentId</th><th>amount</th><th>code</th><th></th></tr>"
        f"{rows}</table>"
        if rows
        else "<p>No codes yet.</p>"
    )
    return _page("Codes", f"<h2>Codes</h2>{table}<p class=note>Ledger: /_sim/ledger</p>")


def _pay_link(code: Code) -> str:
    return f'<a href="/qr/{escape(code.code_id)}">pay page</a>' if code.code_id else ""
