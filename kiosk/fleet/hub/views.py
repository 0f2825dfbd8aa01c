"""The status page's queries and HTML: the fleet, today's sales, one kiosk's recent sales.

Why apart from the server: each page is a pure function of rows read from the ledger and a
language, so it is tested without a browser and the server stays a thin router. Everything
shown is escaped; nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

from kiosk.domain import JST
from kiosk.engine.clock import jst_day_bounds
from kiosk.fleet.hub.ledger import Db, ts

TEXT: dict[str, dict[str, str]] = {
    "ja": {
        "title": "キオスク フリート",
        "fleet": "フリート",
        "kiosk": "キオスク",
        "state": "状態",
        "online": "オンライン",
        "offline": "オフライン",
        "silent": "応答なし",
        "last_seen": "最終受信",
        "screen": "画面",
        "service": "休止",
        "held": "保留",
        "backlog": "未送信",
        "alerts": "警告",
        "today": "本日の売上",
        "sales": "件数",
        "amount": "金額",
        "refunded": "返金",
        "total": "合計",
        "recent": "最近の売上",
        "refunds": "返金",
        "time": "時刻",
        "id": "取引ID",
        "status": "状態",
        "login": "ログイン",
        "password": "パスワード",
        "wrong": "パスワードが違います",
        "logout": "ログアウト",
        "none": "なし",
        "other": "English",
    },
    "en": {
        "title": "Kiosk fleet",
        "fleet": "Fleet",
        "kiosk": "Kiosk",
        "state": "State",
        "online": "online",
        "offline": "offline",
        "silent": "silent",
        "last_seen": "Last seen",
        "screen": "Screen",
        "service": "Out of service",
        "held": "Held",
        "backlog": "Unsent",
        "alerts": "Alerts",
        "today": "Today's sales",
        "sales": "Sales",
        "amount": "Amount",
        "refunded": "Refunded",
        "total": "Total",
        "recent": "Recent sales",
        "refunds": "Refunds",
        "time": "Time",
        "id": "Payment id",
        "status": "Status",
        "login": "Log in",
        "password": "Password",
        "wrong": "Wrong password",
        "logout": "Log out",
        "none": "none",
        "other": "日本語",
    },
}
STYLE = (
    "body{font-family:sans-serif;margin:0.6em;font-size:16px}table{border-collapse:collapse;"
    "width:100%;margin-bottom:1em}th,td{border-bottom:1px solid #ccc;padding:0.3em;"
    "text-align:left}td.n{text-align:right}.bad{color:#b00;font-weight:bold}"
    ".ok{color:#070}nav a{margin-right:1em}.wrap{overflow-x:auto}"
)


@dataclass(frozen=True)
class KioskRow:
    kiosk: str
    state: str  # online | offline | silent
    last_seen: datetime | None
    screen: str
    out_of_service: str
    held: int
    backlog: int
    alerts: tuple[str, ...]


def yen(amount: int) -> str:
    return f"¥{amount:,}"


def when(at: datetime | None) -> str:
    return at.astimezone(JST).strftime("%m-%d %H:%M:%S") if at else "-"


def fleet_rows(db: Db) -> list[KioskRow]:
    alerts: dict[str, list[str]] = {}
    for kiosk, kind, subject in db.execute(
        "SELECT kiosk, kind, subject FROM alerts WHERE cleared_at IS NULL ORDER BY raised_at"
    ):
        alerts.setdefault(kiosk, []).append(f"{kind} {subject}".strip())
    rows = []
    for r in db.execute(
        "SELECT kiosk, online, last_seen, screen, out_of_service, out_of_service_reason, held,"
        " backlog FROM kiosks ORDER BY kiosk"
    ):
        kiosk, online, last_seen, screen, off, reason, held, backlog = r
        mine = tuple(alerts.get(kiosk, ()))
        state = (
            "silent"
            if any(a.startswith("silent") for a in mine)
            else ("online" if online else "offline")
        )
        rows.append(
            KioskRow(kiosk, state, last_seen, screen, reason if off else "", held, backlog, mine)
        )
    return rows


def today_totals(db: Db, now: float) -> list[tuple[str, int, int, int]]:
    """(kiosk, paid sales, yen, refunded yen) for sales created today (JST), as the kiosk's own
    totals count them: paid sales, and what went back (a REFUNDED sale in full, else its
    attendant refunds that PayPay accepted)."""
    start, end = jst_day_bounds(now)
    rows = db.execute(
        "SELECT s.kiosk, count(*), COALESCE(sum(s.amount_yen), 0),"
        " COALESCE(sum(CASE WHEN s.state='REFUNDED' THEN s.amount_yen ELSE"
        "  (SELECT COALESCE(sum(r.amount_yen), 0) FROM refunds r WHERE r.kiosk=s.kiosk"
        "   AND r.merchant_payment_id=s.merchant_payment_id"
        "   AND r.status IN ('CREATED','REFUNDED')) END), 0)"
        " FROM sales s WHERE s.paid AND s.created_at >= %s AND s.created_at < %s"
        " GROUP BY s.kiosk ORDER BY s.kiosk",
        (ts(start), ts(end)),
    ).fetchall()
    return [(k, int(c), int(a), int(r)) for k, c, a, r in rows]


def recent_sales(db: Db, kiosk: str, limit: int = 50) -> list[tuple[Any, ...]]:
    return db.execute(
        "SELECT created_at, merchant_payment_id, amount_yen, state, description FROM sales"
        " WHERE kiosk=%s ORDER BY created_at DESC LIMIT %s",
        (kiosk, limit),
    ).fetchall()


def recent_refunds(db: Db, kiosk: str, limit: int = 50) -> list[tuple[Any, ...]]:
    return db.execute(
        "SELECT at, merchant_refund_id, merchant_payment_id, amount_yen, status FROM refunds"
        " WHERE kiosk=%s ORDER BY at DESC LIMIT %s",
        (kiosk, limit),
    ).fetchall()


# ---- HTML ------------------------------------------------------------------------------------


def page(lang: str, title: str, body: str, *, nav: bool = True) -> str:
    t = TEXT[lang]
    other = "en" if lang == "ja" else "ja"
    links = (
        f'<nav><a href="/">{t["fleet"]}</a><a href="?lang={other}">{t["other"]}</a>'
        f'<a href="/logout">{t["logout"]}</a></nav>'
        if nav
        else f'<nav><a href="?lang={other}">{t["other"]}</a></nav>'
    )
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>{links}"
        f"<h1>{escape(title)}</h1>{body}</body></html>"
    )


def _table(headers: list[str], rows: list[list[str]], numeric: set[int], table_id: str) -> str:
    head = "".join(f"<th>{h}</th>" for h in headers)
    lines = []
    for row in rows:
        cells = "".join(
            f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>"
            for i, c in enumerate(row)
        )
        lines.append(f"<tr>{cells}</tr>")
    return f'<div class="wrap"><table id="{table_id}"><tr>{head}</tr>{"".join(lines)}</table></div>'


def fleet_page(lang: str, kiosks: list[KioskRow], totals: list[tuple[str, int, int, int]]) -> str:
    t = TEXT[lang]
    rows = []
    for k in kiosks:
        css = "ok" if k.state == "online" else "bad"
        rows.append(
            [
                f'<a href="/kiosk/{escape(k.kiosk)}">{escape(k.kiosk)}</a>',
                f'<span class="{css}" data-state="{k.state}">{t[k.state]}</span>',
                when(k.last_seen),
                escape(k.screen or "-"),
                escape(k.out_of_service or "-"),
                str(k.held),
                str(k.backlog),
                escape(", ".join(k.alerts) or "-"),
            ]
        )
    fleet = _table(
        [t["kiosk"], t["state"], t["last_seen"], t["screen"], t["service"], t["held"],
         t["backlog"], t["alerts"]],
        rows, {5, 6}, "fleet",
    )  # fmt: skip
    money = [[escape(k), str(c), yen(a), yen(r)] for k, c, a, r in totals]
    money.append(
        [
            f"<b>{t['total']}</b>",
            str(sum(c for _, c, _, _ in totals)),
            f"<b>{yen(sum(a for _, _, a, _ in totals))}</b>",
            yen(sum(r for _, _, _, r in totals)),
        ]
    )
    today = _table([t["kiosk"], t["sales"], t["amount"], t["refunded"]], money, {1, 2, 3}, "today")
    return page(lang, t["title"], f"{fleet}<h2>{t['today']}</h2>{today}")


def kiosk_page(
    lang: str, kiosk: str, sales: list[tuple[Any, ...]], refunds: list[tuple[Any, ...]]
) -> str:
    t = TEXT[lang]
    sale_rows = [
        [when(at), escape(mpid), yen(amount), escape(state), escape(desc)]
        for at, mpid, amount, state, desc in sales
    ]
    refund_rows = [
        [when(at), escape(mrid), escape(mpid), yen(amount), escape(status)]
        for at, mrid, mpid, amount, status in refunds
    ]
    body = (
        f"<h2>{t['recent']}</h2>"
        + _table([t["time"], t["id"], t["amount"], t["status"], ""], sale_rows, {2}, "sales")
        + f"<h2>{t['refunds']}</h2>"
        + _table(
            [t["time"], "refund", t["id"], t["amount"], t["status"]], refund_rows, {3}, "refunds"
        )
    )
    return page(lang, f"{t['kiosk']} {kiosk}", body)


def login_page(lang: str, wrong: bool) -> str:
    t = TEXT[lang]
    error = f'<p class="bad" id="wrong">{t["wrong"]}</p>' if wrong else ""
    form = (
        f'{error}<form method="post" action="/login?lang={lang}">'
        f'<label>{t["password"]} <input type="password" name="password" id="password"'
        ' autocomplete="current-password" required></label> '
        f'<button type="submit" id="submit">{t["login"]}</button></form>'
    )
    return page(lang, t["login"], form, nav=False)
