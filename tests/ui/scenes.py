"""Every screen as a named scene: the view models the snapshot tests and screenshots draw."""

from __future__ import annotations

from collections.abc import Callable

from kiosk.domain import Item, Phase, SaleView, ServiceIssue, Totals
from kiosk.ui.i18n import Strings, format_yen
from kiosk.ui.screens import Frame
from kiosk.ui.settings import Mode
from kiosk.ui.views import (
    QR_PENDING,
    AttendantMenuView,
    AttractView,
    Chrome,
    ConfirmView,
    HeldRow,
    HeldSalesView,
    KeypadView,
    MenuView,
    OutOfServiceView,
    PinView,
    ReconcileView,
    RefundView,
    SaleRow,
    SaleScreenView,
    SalesListView,
    ScreenView,
    StartingView,
)

QR_URL = "http://192.168.1.20:8765/pay/8f1c2a9e4b7d4e0f9a3c6b1d2e5f7a8c"
MPID = "kiosk-20261128-0001-5c3f9e1a"

ITEMS = (
    Item("coffee", "ブレンドコーヒー", "Blend coffee", 350),
    Item("latte", "カフェラテ", "Caffè latte", 420),
    Item("tea", "抹茶ラテ", "Matcha latte", 480),
    Item("water", "ミネラルウォーター", "Mineral water", 120),
    Item("sando", "たまごサンド", "Egg sandwich", 390),
    Item("cookie", "チョコクッキー", "Chocolate cookie", 200),
    Item("onigiri", "鮭おにぎり", "Salmon onigiri", 180),
)

ROWS = (
    SaleRow(MPID, "14:05", 420, "SUCCEEDED", 420),
    SaleRow("kiosk-20261128-0002-77aa01bc", "14:21", 1200, "REFUNDED", 0),
    SaleRow("kiosk-20261128-0003-0e0e4d21", "14:40", 350, "EXPIRED", 0),
    SaleRow("kiosk-20261128-0004-19fe33c0", "15:02", 890, "SUCCEEDED", 500),
)

HELD = (  # the small screen shows two: a refused revert, and a sale never known to be paid
    HeldRow("kiosk-20261128-0011-5c0e9a31", "15:37", 500, "Green tea", "revert_refused", "release"),
    HeldRow("kiosk-20261128-0012-e2f81b47", "15:48", 180, "Water", "grace_unresolved", "check"),
    HeldRow("kiosk-20261128-0007-3a9d5e10", "16:02", 1280, "Caffè latte x2, Cookie", "vend_failed"),
    HeldRow("kiosk-20261128-0009-b41c7f02", "16:40", 350, "ブレンドコーヒー", "paid_too_late"),
)


def _sale(phase: Phase, reason: str | None = None, **extra: object) -> SaleScreenView:
    sale = SaleView(MPID, phase, 1280, "Caffè latte x2, Cookie", reason=reason, **extra)  # type: ignore[arg-type]
    return SaleScreenView(sale, spin=2)


def _confirm(strings: Strings) -> ScreenView:
    return ConfirmView(strings("refund_confirm", amount=format_yen(500)), "refund_yes")


SCENES: dict[str, Callable[[Strings], ScreenView]] = {
    "starting": lambda s: StartingView(),
    "attract": lambda s: AttractView(drift=0),
    "attract_mdb_selection": lambda s: AttractView(0, "choose_on_machine"),
    "qr_mdb": lambda s: SaleScreenView(
        SaleView(
            MPID,
            Phase.AWAITING_PAYMENT,
            150,
            "Vending machine item 5",
            qr_url=QR_URL,
            seconds_left=57,
            seconds_total=60,
        )
    ),
    "attract_mdb_credit": lambda s: AttractView(0, "credit_start", 500),
    "attendant_menu_mdb": lambda s: AttendantMenuView(
        False, False, None, s("mdb_link", state="ENABLED") + " · vended item 5: mdb: vended"
    ),
    "menu": lambda s: MenuView(ITEMS, page=0),
    "keypad": lambda s: KeypadView("1280", 999_999),
    "creating": lambda s: _sale(Phase.CREATING),
    "qr": lambda s: _sale(
        Phase.AWAITING_PAYMENT, qr_url=QR_URL, seconds_left=97, seconds_total=120
    ),
    "confirming": lambda s: _sale(Phase.CONFIRMING),
    "vending": lambda s: _sale(Phase.VENDING),
    "succeeded": lambda s: _sale(Phase.SUCCEEDED),
    "failed": lambda s: _sale(Phase.FAILED, "payment_failed"),
    "cancelled": lambda s: _sale(Phase.CANCELLED, "cancelled"),
    "expired": lambda s: _sale(Phase.EXPIRED, "expired"),
    "refunded": lambda s: _sale(Phase.REFUNDED, "vend_failed"),
    "held_paid": lambda s: _sale(Phase.HELD, "held_paid"),
    "held_unconfirmed": lambda s: _sale(Phase.HELD, "held_unconfirmed"),
    "out_of_service": lambda s: OutOfServiceView(ServiceIssue.NETWORK),
    "pin": lambda s: PinView(entered=3, tries_left=2),
    "pin_locked": lambda s: PinView(entered=0, locked_s=60),
    "attendant_menu": lambda s: AttendantMenuView(True, False, s("refund_requested")),
    "sales_list": lambda s: SalesListView(ROWS),
    "refund": lambda s: RefundView(ROWS[3]),
    "refund_partial": lambda s: RefundView(ROWS[3], digits="300", partial=True),
    "refund_confirm": _confirm,
    "held_sales": lambda s: HeldSalesView(HELD, s("held_handed_out")),
    "totals": lambda s: Totals(count=12, amount_yen=8450, refunded_yen=420),
    "reconcile": lambda s: ReconcileView(
        ("kiosk-20261128-0005: CREATED -> QR deleted", "kiosk-20261128-0006: COMPLETED -> kept"),
        s("reconcile_started"),
    ),
}

LANDSCAPE = ((800, 480), (1920, 1080))
PORTRAIT = (1080, 1920)
PORTRAIT_SCENES = ("qr", "attract")


def frame(name: str, strings: Strings, mode: Mode = Mode.DEMO) -> Frame:
    screen = SCENES[name](strings)
    pay_urls = {"qr": QR_URL, "creating": QR_PENDING}  # as the controller gives them in demo
    pay_url = pay_urls.get(name) if mode is Mode.DEMO else None
    chrome = Chrome(strings.language, mode, "QR Kiosk", (0xFF, 0x00, 0x33), pay_url)
    return Frame(chrome, screen)
