"""What the kiosk shows and does: customer navigation, the sale's phases and the attendant.

Why here and not in the screens: screens only draw views. This module owns the little UI state
(which screen, keyed digits, language, the attendant's place) and turns taps into backend calls.
Invariants:
- the backend decides about money: a sale on screen always comes from `current_sale()`;
- the attendant menu opens only through the PIN gate; every attendant action is logged, the PIN
  never;
- a final phase is acknowledged (forgotten) only after it was on screen.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from kiosk.domain import FINAL_PHASES, Order, Phase, SaleView, ServiceIssue
from kiosk.ui.backend import HeldSaleLike, KioskBackend, SaleRecordLike
from kiosk.ui.i18n import Strings, format_yen, other_language
from kiosk.ui.pin_gate import LockoutStore, PinGate
from kiosk.ui.screens import Frame
from kiosk.ui.screens.sale import on_qr_screen
from kiosk.ui.settings import UiSettings
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
    TotalsView,
)

logger = logging.getLogger(__name__)

IDLE_RETURN_S = 60.0  # menu or keypad untouched this long: back to attract
ATTENDANT_IDLE_S = 120.0  # attendant screens untouched this long: closed
DRIFT_STEP_S = 30.0  # attract content moves a little this often
SPIN_STEPS_PER_S = 8
# A QR usually arrives within a few ms of the tap: the tapped screen stays up until then (or
# this long), so the loop draws nothing while the sale worker needs the interpreter; a slower
# PayPay shows the QR screen with a spinner where the code will appear.
CREATING_SHOWN_AFTER_S = 0.15
MAX_PIN_DIGITS = 12
WAITING_PHASES = frozenset({Phase.CREATING, Phase.CONFIRMING, Phase.VENDING})


@dataclass
class UiState:
    language: str
    screen: str = "attract"  # attract | menu | keypad
    menu_page: int = 0
    digits: str = ""
    last_input_at: float = 0.0
    final_id: str | None = None  # the sale whose final phase is on screen
    begun_id: str | None = None  # the sale this screen started, and when
    begun_at: float = 0.0
    final_since_at: float = 0.0
    attendant: str | None = None  # pin|menu|sales|refund|held|confirm|totals|reconcile
    pin: str = field(default="", repr=False)
    message: tuple[str, dict[str, object]] | None = None
    rows: tuple[SaleRow, ...] = ()
    sales_page: int = 0
    refund_row: SaleRow | None = None
    refund_partial: bool = False
    refund_digits: str = ""
    confirm: tuple[str, dict[str, object], str] | None = None  # question, values, yes-action
    pending_refund: tuple[str, int | None] | None = None
    held_rows: tuple[HeldRow, ...] = ()
    pending_held: tuple[str, str] | None = None  # merchant_payment_id, "out" | "refund"
    totals: TotalsView | None = None
    service_off: bool = False
    exit_requested: bool = False


def time_text(created_at: object) -> str:
    """HH:MM from a datetime, an epoch number or an ISO string."""
    if isinstance(created_at, datetime):
        return created_at.strftime("%H:%M")
    if isinstance(created_at, int | float):
        return datetime.fromtimestamp(created_at).strftime("%H:%M")
    text = str(created_at)
    try:
        return datetime.fromisoformat(text).strftime("%H:%M")
    except ValueError:
        return text[:5]


def held_row(sale: HeldSaleLike) -> HeldRow:
    return HeldRow(
        sale.merchant_payment_id, time_text(sale.created_at), sale.amount_yen, sale.description
    )


def sale_row(record: SaleRecordLike) -> SaleRow:
    return SaleRow(
        merchant_payment_id=record.merchant_payment_id,
        time_text=time_text(record.created_at),
        amount_yen=record.amount_yen,
        status=str(record.status),
        refundable_yen=record.refundable_yen,
    )


class Controller:
    def __init__(
        self,
        backend: KioskBackend,
        settings: UiSettings,
        now: float,
        *,
        lockouts: LockoutStore | None = None,
    ) -> None:
        self.backend = backend
        self.settings = settings
        self.gate = PinGate(settings.pin_hash, now, store=lockouts)
        self.state = UiState(language=settings.default_language, last_input_at=now)
        self.state.service_off = backend.service_issue() is ServiceIssue.ATTENDANT

    # ----- what is on screen -------------------------------------------------------------
    @property
    def strings(self) -> Strings:
        return Strings(self.state.language)

    def frame(self, now: float) -> Frame:
        sale = self.backend.current_sale()
        screen = self._screen(sale, now)
        chrome = Chrome(
            self.state.language,
            self.settings.mode,
            self.settings.brand_name,
            self.settings.accent_rgb,
            self._pay_url(screen),
        )
        return Frame(chrome, screen)

    def _pay_url(self, screen: ScreenView) -> str | None:
        """Demo: the banner names the pay page of the QR on screen (pending while creating)."""
        if (
            not self.settings.pay_url_shown
            or not isinstance(screen, SaleScreenView)
            or not on_qr_screen(screen)
        ):
            return None
        return screen.sale.qr_url or QR_PENDING

    def _screen(self, sale: SaleView | None, now: float) -> ScreenView:
        if self.state.attendant:
            return self._attendant_view(now)
        if sale is not None and sale.phase is Phase.CREATING and self._fresh(sale, now):
            return self._customer_view(now)  # the screen that was tapped, for a moment longer
        if sale is not None:
            spin = int(now * SPIN_STEPS_PER_S) % 8 if sale.phase in WAITING_PHASES else 0
            return SaleScreenView(sale, spin)
        issue = self.backend.service_issue()
        if issue is not None:
            return OutOfServiceView(issue, drift=int(now // DRIFT_STEP_S))
        return self._customer_view(now)

    def _fresh(self, sale: SaleView, now: float) -> bool:
        return sale.merchant_payment_id == self.state.begun_id and (
            now - self.state.begun_at < CREATING_SHOWN_AFTER_S
        )

    def _customer_view(self, now: float) -> ScreenView:
        if self.state.screen == "menu":
            return MenuView(self.settings.catalogue, self.state.menu_page)
        if self.state.screen == "keypad":
            return KeypadView(self.state.digits, self.settings.max_amount_yen)
        return AttractView(drift=int(now // DRIFT_STEP_S))

    def _message(self) -> str | None:
        if self.state.message is None:
            return None
        key, values = self.state.message
        return self.strings(key, **values)

    def _attendant_view(self, now: float) -> ScreenView:
        s = self.state
        if s.attendant == "pin":
            locked = self.gate.locked_s(now)
            tries = self.gate.tries_left if 0 < self.gate.failures < 5 else None
            locked_s = int(locked + 0.999) if locked > 0 else None
            return PinView(len(s.pin), tries, locked_s, checking=self.gate.checking)
        if s.attendant == "sales":
            return SalesListView(s.rows, s.sales_page, self._message())
        if s.attendant == "held":
            return HeldSalesView(s.held_rows, self._message())
        if s.attendant == "refund" and s.refund_row is not None:
            return RefundView(s.refund_row, s.refund_digits, s.refund_partial)
        if s.attendant == "confirm" and s.confirm is not None:
            question, values, action = s.confirm
            return ConfirmView(self.strings(question, **values), action)
        if s.attendant == "totals" and s.totals is not None:
            return s.totals
        if s.attendant == "reconcile":
            summary = self.backend.last_reconcile_summary()
            return ReconcileView(tuple(summary.lines) if summary else (), self._message())
        sale = self.backend.current_sale()
        in_progress = sale is not None and sale.phase not in FINAL_PHASES
        return AttendantMenuView(in_progress, s.service_off, self._message())

    def status(self) -> str:
        """A short word for systemd's STATUS= line."""
        if self.state.attendant:
            return f"attendant:{self.state.attendant}"
        sale = self.backend.current_sale()
        if sale is not None:
            return f"sale:{sale.phase.value}"
        issue = self.backend.service_issue()
        return f"out_of_service:{issue.value}" if issue else self.state.screen

    # ----- time ---------------------------------------------------------------------------
    def tick(self, now: float) -> None:
        s = self.state
        if self.gate.poll(now) and s.attendant == "pin":
            s.attendant, s.message, s.last_input_at = "menu", None, now
        sale = self.backend.current_sale()
        if sale is not None and sale.phase in FINAL_PHASES:
            if s.final_id != sale.merchant_payment_id:
                s.final_id, s.final_since_at = sale.merchant_payment_id, now
            elif now - s.final_since_at >= self.settings.result_screen_s:
                self._acknowledge(now)
        if s.attendant and now - s.last_input_at >= ATTENDANT_IDLE_S:
            logger.info("attendant action=close reason=idle")
            self._close_attendant()
        elif s.screen != "attract" and sale is None and now - s.last_input_at >= IDLE_RETURN_S:
            self._to_attract()

    def _acknowledge(self, now: float) -> None:
        self.backend.acknowledge()
        self.state.final_id = None
        self._to_attract()
        self.state.last_input_at = now

    def _to_attract(self) -> None:
        s = self.state
        s.screen, s.digits, s.menu_page, s.begun_id = "attract", "", 0, None
        s.language = self.settings.default_language  # the next customer starts fresh

    # ----- input --------------------------------------------------------------------------
    def open_attendant(self, source: str, now: float) -> None:
        s = self.state
        s.last_input_at = now
        if s.attendant is None:
            logger.info("attendant action=open source=%s", source)
            s.attendant, s.pin, s.message = "pin", "", None

    def _close_attendant(self) -> None:
        s = self.state
        s.attendant, s.pin, s.message, s.confirm, s.pending_refund = None, "", None, None, None
        s.pending_held = None

    def act(self, action: str, arg: str, now: float) -> None:
        """Perform a touch target's action."""
        self.state.last_input_at = now
        if action == "language":
            self.state.language = other_language(self.state.language)
            return
        if self.state.attendant:
            self._attendant_act(action, arg, now)
            return
        sale = self.backend.current_sale()
        if sale is not None:
            self._sale_act(sale, action, now)
        else:
            self._customer_act(action, arg, now)

    def _sale_act(self, sale: SaleView, action: str, now: float) -> None:
        if action == "cancel" and sale.phase in (Phase.CREATING, Phase.AWAITING_PAYMENT):
            logger.info("customer action=cancel merchant_payment_id=%s", sale.merchant_payment_id)
            self.backend.cancel_sale()
        elif action == "done" and sale.phase in FINAL_PHASES:
            self._acknowledge(now)

    def _customer_act(self, action: str, arg: str, now: float) -> None:
        s = self.state
        if action == "start":
            s.screen = "keypad" if self.settings.keypad_mode else "menu"
        elif action == "back":
            self._to_attract()
        elif action in ("page_prev", "page_next"):
            s.menu_page = max(0, s.menu_page + (1 if action == "page_next" else -1))
        elif action == "item":
            item = next((i for i in self.settings.catalogue if i.sku == arg), None)
            if item is not None:
                self._begin(Order.of_items(((item, 1),)), now)
        elif action in ("digit", "clear", "delete"):
            s.digits = edit_digits(s.digits, action, arg, len(str(self.settings.max_amount_yen)))
        elif action == "confirm" and s.digits:
            amount = int(s.digits)
            if 1 <= amount <= self.settings.max_amount_yen:
                self._begin(Order.of_amount(amount), now)

    def _begin(self, order: Order, now: float) -> None:
        try:
            self.backend.begin_sale(order)
        except ValueError as exc:  # busy or out of service: the next frame shows why
            logger.warning(
                "customer action=begin_refused amount_yen=%d error=%s", order.amount_yen, exc
            )
            return
        logger.info("customer action=begin amount_yen=%d", order.amount_yen)
        sale = self.backend.current_sale()
        self.state.begun_id = sale.merchant_payment_id if sale else None
        self.state.begun_at = now

    # ----- attendant ------------------------------------------------------------------------
    def _attendant_act(self, action: str, arg: str, now: float) -> None:
        s = self.state
        handler = {
            "pin": self._pin_act,
            "menu": self._menu_act,
            "sales": self._sales_act,
            "refund": self._refund_act,
            "held": self._held_act,
            "confirm": self._confirm_act,
        }.get(s.attendant or "")
        if action == "close":
            logger.info("attendant action=close")
            self._close_attendant()
        elif handler is not None:
            handler(action, arg, now)
        elif action == "back":
            s.attendant, s.message = "menu", None

    def _pin_act(self, action: str, arg: str, now: float) -> None:
        s = self.state
        if self.gate.locked_s(now) > 0 or self.gate.checking:
            return
        if action in ("digit", "clear", "delete"):
            s.pin = edit_digits(s.pin, action, arg, MAX_PIN_DIGITS, leading_zero=True)
        elif action == "pin_ok" and s.pin:
            pin, s.pin = s.pin, ""
            self.gate.start(pin, now)  # the verdict arrives in tick()

    def _menu_act(self, action: str, arg: str, now: float) -> None:
        s = self.state
        logger.info("attendant action=%s", action)
        s.message = None
        if action == "cancel_sale":
            sale = self.backend.current_sale()
            if sale is None or sale.phase in FINAL_PHASES:
                s.message = ("no_sale_in_progress", {})
            else:
                self.backend.cancel_sale()
                logger.info(
                    "attendant action=cancel_sale merchant_payment_id=%s", sale.merchant_payment_id
                )
                s.message = ("sale_cancel_requested", {})
        elif action == "recent_sales":
            self._load_sales()
            s.attendant, s.sales_page = "sales", 0
        elif action == "held_sales":
            s.held_rows = tuple(held_row(h) for h in self.backend.held_sales())
            s.attendant = "held"
        elif action == "totals":
            t = self.backend.totals_today()
            s.totals = TotalsView(t.count, t.amount_yen, t.refunded_yen)
            s.attendant = "totals"
        elif action == "reconcile":
            self.backend.reconcile_now()
            s.attendant, s.message = "reconcile", ("reconcile_started", {})
        elif action == "toggle_service":
            s.service_off = not s.service_off
            self.backend.set_out_of_service(s.service_off)
            s.message = ("service_now_off" if s.service_off else "service_now_on", {})
        elif action == "exit":
            s.attendant, s.confirm = "confirm", ("exit_confirm", {}, "exit_yes")

    def _load_sales(self) -> None:
        self.state.rows = tuple(sale_row(r) for r in self.backend.recent_sales(limit=50))

    def _sales_act(self, action: str, arg: str, now: float) -> None:
        s = self.state
        if action == "refund":
            row = next((r for r in s.rows if r.merchant_payment_id == arg), None)
            if row is not None and row.refundable_yen > 0:
                s.attendant, s.refund_row, s.refund_partial, s.refund_digits = (
                    "refund",
                    row,
                    False,
                    "",
                )
                s.message = None
        elif action in ("page_prev", "page_next"):
            s.sales_page = max(0, s.sales_page + (1 if action == "page_next" else -1))
        elif action == "back":
            s.attendant, s.message = "menu", None

    def _held_act(self, action: str, arg: str, now: float) -> None:
        s = self.state
        row = next((r for r in s.held_rows if r.merchant_payment_id == arg), None)
        amount: dict[str, object] = {"amount": format_yen(row.amount_yen)} if row else {}
        if action == "held_out" and row is not None:
            s.pending_held = (row.merchant_payment_id, "out")
            s.confirm = ("held_hand_out_confirm", amount, "held_out_yes")
            s.attendant, s.message = "confirm", None
        elif action == "held_refund" and row is not None:
            s.pending_held = (row.merchant_payment_id, "refund")
            s.confirm = ("refund_confirm", amount, "held_refund_yes")
            s.attendant, s.message = "confirm", None
        elif action == "back":
            s.attendant, s.message = "menu", None

    def _settle_held(self, merchant_payment_id: str, how: str) -> None:
        """The attendant's confirmed answer for a held sale: goods handed out, or money back."""
        s = self.state
        s.attendant, s.confirm, s.pending_held = "held", None, None
        if how == "out":
            logger.info(
                "attendant action=hand_out_held merchant_payment_id=%s", merchant_payment_id
            )
            self.backend.hand_out_held(merchant_payment_id)
            s.message = ("held_handed_out", {})
        else:
            logger.info("attendant action=refund_held merchant_payment_id=%s", merchant_payment_id)
            try:
                self.backend.refund(merchant_payment_id)
            except ValueError as exc:
                logger.warning(
                    "attendant action=refund_held_refused merchant_payment_id=%s error=%s",
                    merchant_payment_id,
                    exc,
                )
                s.message = ("error", {"message": str(exc)})
                return
            s.message = ("refund_requested", {})
        # settled on the worker a moment later; the journal still says HELD until then
        s.held_rows = tuple(r for r in s.held_rows if r.merchant_payment_id != merchant_payment_id)

    def _refund_act(self, action: str, arg: str, now: float) -> None:
        s = self.state
        row = s.refund_row
        if row is None:
            s.attendant = "sales"
            return
        if action == "refund_full":
            amount = None if row.refundable_yen == row.amount_yen else row.refundable_yen
            self._ask_refund(row, amount, row.refundable_yen)
        elif action == "refund_partial":
            s.refund_partial, s.refund_digits = True, ""
        elif action in ("digit", "clear", "delete"):
            s.refund_digits = edit_digits(
                s.refund_digits, action, arg, len(str(row.refundable_yen))
            )
        elif action == "refund_amount" and s.refund_digits:
            amount = int(s.refund_digits)
            if 1 <= amount <= row.refundable_yen:
                self._ask_refund(row, amount, amount)
        elif action == "back":
            if s.refund_partial:
                s.refund_partial = False
            else:
                s.attendant = "sales"

    def _ask_refund(self, row: SaleRow, amount: int | None, shown_yen: int) -> None:
        s = self.state
        s.pending_refund = (row.merchant_payment_id, amount)
        s.confirm = ("refund_confirm", {"amount": format_yen(shown_yen)}, "refund_yes")
        s.attendant = "confirm"

    def _confirm_act(self, action: str, arg: str, now: float) -> None:
        s = self.state
        if action == "exit_yes":
            logger.info("attendant action=exit")
            s.exit_requested = True
        elif action == "refund_yes" and s.pending_refund is not None:
            merchant_payment_id, amount = s.pending_refund
            s.pending_refund, s.confirm = None, None
            self._refund(merchant_payment_id, amount)
        elif action in ("held_out_yes", "held_refund_yes") and s.pending_held is not None:
            merchant_payment_id, how = s.pending_held
            if action == f"held_{how}_yes":
                self._settle_held(merchant_payment_id, how)
        elif action == "confirm_no":
            back = "refund" if s.pending_refund is not None else "menu"
            back = "held" if s.pending_held is not None else back
            s.attendant, s.confirm, s.pending_refund, s.pending_held = back, None, None, None

    def _refund(self, merchant_payment_id: str, amount: int | None) -> None:
        s = self.state
        logger.info(
            "attendant action=refund merchant_payment_id=%s amount_yen=%s",
            merchant_payment_id,
            "full" if amount is None else amount,
        )
        try:
            self.backend.refund(merchant_payment_id, amount)
        except ValueError as exc:
            logger.warning(
                "attendant action=refund_refused merchant_payment_id=%s error=%s",
                merchant_payment_id,
                exc,
            )
            s.message = ("error", {"message": str(exc)})
        else:
            s.message = ("refund_requested", {})
        self._load_sales()
        s.attendant, s.refund_row = "sales", None


def edit_digits(
    digits: str, action: str, arg: str, max_len: int, *, leading_zero: bool = False
) -> str:
    """Keypad editing: append a digit (at most max_len; a leading zero only where it means
    something, as in a PIN), clear, delete."""
    if action == "clear":
        return ""
    if action == "delete":
        return digits[:-1]
    if (
        action == "digit"
        and arg.isdigit()
        and len(digits) < max_len
        and (digits or leading_zero or arg != "0")
    ):
        return digits + arg
    return digits
