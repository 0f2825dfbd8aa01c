"""The attendant's flow, as a small machine: PIN -> menu -> sales, refund, held sales, totals,
reconcile, each money step behind a yes/no question.

Why a table: where the attendant is (`Place`) and what each tap does there is data (`TABLE`);
a tap the current place does not offer is rejected and changes nothing. Invariants: the menu
opens only through the PIN gate; every attendant action is logged, the PIN never; a refund or a
held sale's settlement happens only on the "yes" of the question that named it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from enum import StrEnum

from kiosk.domain import FINAL_PHASES, JST, Totals
from kiosk.ui.actions import KEYPAD_EDITS, Action, edit_digits
from kiosk.ui.backend import HeldSaleLike, KioskBackend, SaleRecordLike
from kiosk.ui.i18n import Strings, format_yen
from kiosk.ui.pin_gate import PinGate
from kiosk.ui.views import (
    AttendantMenuView,
    ConfirmView,
    HeldRow,
    HeldSalesView,
    PinView,
    ReconcileView,
    RefundView,
    SaleRow,
    SalesListView,
    ScreenView,
)

logger = logging.getLogger(__name__)

MAX_PIN_DIGITS = 12


class Place(StrEnum):
    CLOSED = "closed"
    PIN = "pin"
    MENU = "menu"
    SALES = "sales"
    REFUND = "refund"
    HELD = "held"
    CONFIRM = "confirm"
    TOTALS = "totals"
    RECONCILE = "reconcile"


@dataclass(frozen=True)
class Question:
    """A yes/no question: what it asks, the one action that means yes, where no goes back to,
    and the sale (and amount; None: all that is refundable) that yes acts on."""

    key: str
    values: dict[str, object]
    yes: Action
    back: Place
    merchant_payment_id: str = ""
    amount_yen: int | None = None


PAID_STATUSES = frozenset({"SUCCEEDED", "COMPLETED"})


def time_text(created_at: object, zone: tzinfo = JST) -> str:
    """HH:MM in `zone` (the display_time_zone, like `kiosk journal list`, whatever the host's
    zone) from a datetime, an epoch number or an ISO string; one without a zone is taken as is."""
    if isinstance(created_at, int | float):
        return datetime.fromtimestamp(created_at, zone).strftime("%H:%M")
    if not isinstance(created_at, datetime):
        try:
            created_at = datetime.fromisoformat(str(created_at))
        except ValueError:
            return str(created_at)[:5]
    if created_at.tzinfo is not None:
        created_at = created_at.astimezone(zone)
    return created_at.strftime("%H:%M")


def held_row(sale: HeldSaleLike, zone: tzinfo = JST) -> HeldRow:
    return HeldRow(
        sale.merchant_payment_id,
        time_text(sale.created_at, zone),
        sale.amount_yen,
        sale.description,
        sale.end_reason or "",
        str(sale.give_back),
    )


def sale_row(record: SaleRecordLike, zone: tzinfo = JST) -> SaleRow:
    status = str(record.status)
    if status.upper() in PAID_STATUSES and record.refunded_yen > 0:
        # refunds live beside the sale, which stays SUCCEEDED: say what happened to the money
        status = "PARTLY_REFUNDED" if record.refundable_yen > 0 else "REFUNDED"
    return SaleRow(
        merchant_payment_id=record.merchant_payment_id,
        time_text=time_text(record.created_at, zone),
        amount_yen=record.amount_yen,
        status=status,
        refundable_yen=record.refundable_yen,
    )


@dataclass
class AttendantFlow:
    backend: KioskBackend
    gate: PinGate
    place: Place = Place.CLOSED
    service_off: bool = False
    exit_requested: bool = False
    message: tuple[str, dict[str, object]] | None = None
    pin: str = field(default="", repr=False)
    rows: tuple[SaleRow, ...] = ()
    sales_page: int = 0
    refund_row: SaleRow | None = None
    refund_partial: bool = False
    refund_digits: str = ""
    held_rows: tuple[HeldRow, ...] = ()
    held_page: int = 0
    totals: Totals | None = None
    question: Question | None = None
    # the vending machine's link state and last results (MDB), for the menu's status line
    hardware: Callable[[], tuple[str, tuple[str, ...]]] | None = None
    zone: tzinfo = JST  # times on these screens: the display_time_zone

    @property
    def open(self) -> bool:
        return self.place is not Place.CLOSED

    # ---- what is on screen ------------------------------------------------------------
    def view(self, strings: Strings, now: float) -> ScreenView:
        message = strings(self.message[0], **self.message[1]) if self.message else None
        if self.place is Place.PIN:
            locked = self.gate.locked_s(now)
            tries = self.gate.tries_left if 0 < self.gate.failures < 5 else None
            locked_s = int(locked + 0.999) if locked > 0 else None
            return PinView(len(self.pin), tries, locked_s, checking=self.gate.checking)
        if self.place is Place.SALES:
            return SalesListView(self.rows, self.sales_page, message)
        if self.place is Place.HELD:
            return HeldSalesView(self.held_rows, message, self.held_page)
        if self.place is Place.REFUND and self.refund_row is not None:
            return RefundView(self.refund_row, self.refund_digits, self.refund_partial)
        if self.place is Place.CONFIRM and self.question is not None:
            q = self.question
            return ConfirmView(strings(q.key, **q.values), q.yes.value)
        if self.place is Place.TOTALS and self.totals is not None:
            return self.totals
        if self.place is Place.RECONCILE:
            summary = self.backend.last_reconcile_summary()
            return ReconcileView(tuple(summary.lines) if summary else (), message)
        sale = self.backend.current_sale()
        in_progress = sale is not None and sale.phase not in FINAL_PHASES
        return AttendantMenuView(in_progress, self.service_off, message, self._hardware(strings))

    def _hardware(self, strings: Strings) -> str | None:
        if self.hardware is None:
            return None
        state, results = self.hardware()
        line = strings("mdb_link", state=state)
        return f"{line} · {results[0]}" if results else line

    # ---- events -----------------------------------------------------------------------
    def open_pin_pad(self, source: str) -> None:
        if self.place is Place.CLOSED:
            logger.info("attendant action=open source=%s", source)
            self.place, self.pin, self.message = Place.PIN, "", None

    def pin_checked(self) -> None:
        """The gate let the PIN in (its verdict arrives off the loop)."""
        if self.place is Place.PIN:
            self.place, self.message = Place.MENU, None

    def close(self, reason: str = "") -> None:
        logger.info("attendant action=close" + (f" reason={reason}" if reason else ""))
        self.place, self.pin, self.message, self.question = Place.CLOSED, "", None, None

    def accepts(self, action: Action) -> bool:
        return (self.place, action) in TABLE

    def act(self, action: Action, arg: str, now: float) -> bool:
        """Do what `action` means here; False (and no change) if it means nothing here."""
        handler = TABLE.get((self.place, action))
        if handler is None:
            return False
        if self.place is Place.MENU and action is not Action.CLOSE:
            logger.info("attendant action=%s", action.value)
            self.message = None
        handler(self, action, arg, now)
        return True

    # ---- the PIN pad ------------------------------------------------------------------
    def _pin_edit(self, action: Action, arg: str, now: float) -> None:
        if self.gate.locked_s(now) <= 0 and not self.gate.checking:
            self.pin = edit_digits(self.pin, action, arg, MAX_PIN_DIGITS, leading_zero=True)

    def _pin_ok(self, action: Action, arg: str, now: float) -> None:
        if self.pin and self.gate.locked_s(now) <= 0 and not self.gate.checking:
            pin, self.pin = self.pin, ""
            self.gate.start(pin, now)  # the verdict arrives with pin_checked()

    def _close(self, action: Action, arg: str, now: float) -> None:
        self.close()

    def _to_menu(self, action: Action, arg: str, now: float) -> None:
        self.place, self.message = Place.MENU, None

    # ---- the menu -----------------------------------------------------------------------
    def _cancel_sale(self, action: Action, arg: str, now: float) -> None:
        sale = self.backend.current_sale()
        if sale is None or sale.phase in FINAL_PHASES:
            self.message = ("no_sale_in_progress", {})
            return
        self.backend.cancel_sale()
        logger.info("attendant action=cancel_sale merchant_payment_id=%s", sale.merchant_payment_id)
        self.message = ("sale_cancel_requested", {})

    def _recent_sales(self, action: Action, arg: str, now: float) -> None:
        self._load_sales()
        self.place, self.sales_page = Place.SALES, 0

    def _held_sales(self, action: Action, arg: str, now: float) -> None:
        self.held_rows = tuple(held_row(h, self.zone) for h in self.backend.held_sales())
        self.place, self.held_page = Place.HELD, 0

    def _totals(self, action: Action, arg: str, now: float) -> None:
        self.totals = self.backend.totals_today()
        self.place = Place.TOTALS

    def _reconcile(self, action: Action, arg: str, now: float) -> None:
        self.backend.reconcile_now()
        self.place, self.message = Place.RECONCILE, ("reconcile_started", {})

    def _toggle_service(self, action: Action, arg: str, now: float) -> None:
        self.service_off = not self.service_off
        self.backend.set_out_of_service(self.service_off)
        self.message = ("service_now_off" if self.service_off else "service_now_on", {})

    def _exit(self, action: Action, arg: str, now: float) -> None:
        self._ask(Question("exit_confirm", {}, Action.EXIT_YES, Place.MENU))

    def _load_sales(self) -> None:
        self.rows = tuple(sale_row(r, self.zone) for r in self.backend.recent_sales(limit=50))

    # ---- recent sales and refunds -------------------------------------------------------
    def _refund(self, action: Action, arg: str, now: float) -> None:
        row = next((r for r in self.rows if r.merchant_payment_id == arg), None)
        if row is not None and row.refundable_yen > 0:
            self.place, self.refund_row, self.message = Place.REFUND, row, None
            self.refund_partial, self.refund_digits = False, ""

    def _sales_page(self, action: Action, arg: str, now: float) -> None:
        step = 1 if action is Action.PAGE_NEXT else -1
        self.sales_page = max(0, self.sales_page + step)

    def _held_page(self, action: Action, arg: str, now: float) -> None:
        step = 1 if action is Action.PAGE_NEXT else -1
        self.held_page = max(0, min(self.held_page + step, len(self.held_rows) - 1))

    def _refund_full(self, action: Action, arg: str, now: float) -> None:
        row = self._row()
        amount = None if row.refundable_yen == row.amount_yen else row.refundable_yen
        self._ask_refund(row, amount, row.refundable_yen)

    def _refund_partial(self, action: Action, arg: str, now: float) -> None:
        self.refund_partial, self.refund_digits = True, ""

    def _refund_edit(self, action: Action, arg: str, now: float) -> None:
        width = len(str(self._row().refundable_yen))
        self.refund_digits = edit_digits(self.refund_digits, action, arg, width)

    def _refund_amount(self, action: Action, arg: str, now: float) -> None:
        row = self._row()
        if self.refund_digits and 1 <= int(self.refund_digits) <= row.refundable_yen:
            self._ask_refund(row, int(self.refund_digits), int(self.refund_digits))

    def _refund_back(self, action: Action, arg: str, now: float) -> None:
        if self.refund_partial:
            self.refund_partial = False
        else:
            self.place = Place.SALES

    def _row(self) -> SaleRow:
        assert self.refund_row is not None, "the refund place always has its row"
        return self.refund_row

    def _ask_refund(self, row: SaleRow, amount: int | None, shown_yen: int) -> None:
        values: dict[str, object] = {"amount": format_yen(shown_yen)}
        mpid = row.merchant_payment_id
        self._ask(Question("refund_confirm", values, Action.REFUND_YES, Place.REFUND, mpid, amount))

    # ---- held sales ---------------------------------------------------------------------
    def _held(self, action: Action, arg: str, now: float) -> None:
        row = next((r for r in self.held_rows if r.merchant_payment_id == arg), None)
        if row is None:
            return
        values: dict[str, object] = {"amount": format_yen(row.amount_yen)}
        if action is Action.HELD_OUT and row.give_back == "check":  # nothing was paid
            self.message = ("held_not_paid", {})
            return
        if action is Action.HELD_OUT:
            key, yes = "held_hand_out_confirm", Action.HELD_OUT_YES
        else:
            key, yes = (
                GIVE_BACK_CONFIRM.get(row.give_back, "refund_confirm"),
                Action.HELD_REFUND_YES,
            )
        self._ask(Question(key, values, yes, Place.HELD, row.merchant_payment_id))

    # ---- the yes/no question ------------------------------------------------------------
    def _ask(self, question: Question) -> None:
        self.place, self.question, self.message = Place.CONFIRM, question, None

    def _yes(self, action: Action, arg: str, now: float) -> None:
        q = self.question
        if q is None or action is not q.yes:
            return
        if action is Action.EXIT_YES:  # the question stays up until the kiosk stops
            logger.info("attendant action=exit")
            self.exit_requested = True
            return
        self.question = None
        if action is Action.REFUND_YES:
            self._send_refund(q.merchant_payment_id, q.amount_yen)
        else:
            self._settle_held(q.merchant_payment_id, handed_out=action is Action.HELD_OUT_YES)

    def _no(self, action: Action, arg: str, now: float) -> None:
        back = self.question.back if self.question else Place.MENU
        self.place, self.question = back, None

    def _send_refund(self, merchant_payment_id: str, amount: int | None) -> None:
        logger.info(
            "attendant action=refund merchant_payment_id=%s amount_yen=%s",
            merchant_payment_id,
            "full" if amount is None else amount,
        )
        self.message = self._refund_with_backend(merchant_payment_id, amount, "refund_refused")
        self._load_sales()
        self.place, self.refund_row = Place.SALES, None

    def _settle_held(self, merchant_payment_id: str, *, handed_out: bool) -> None:
        """The attendant's confirmed answer for a held sale: goods handed out, or given back
        (refunded, its authorisation released, or checked with PayPay again)."""
        self.place = Place.HELD
        if handed_out:
            logger.info(
                "attendant action=hand_out_held merchant_payment_id=%s", merchant_payment_id
            )
            self.backend.hand_out_held(merchant_payment_id)
            self.message = ("held_handed_out", {})
        else:
            kind = next(
                (
                    r.give_back
                    for r in self.held_rows
                    if r.merchant_payment_id == merchant_payment_id
                ),
                "refund",
            )
            done, logged = GIVE_BACK_DONE.get(kind, GIVE_BACK_DONE["refund"])
            logger.info("attendant action=%s merchant_payment_id=%s", logged, merchant_payment_id)
            try:
                self.backend.give_back_held(merchant_payment_id)
            except ValueError as exc:
                logger.warning(
                    "attendant action=%s_refused merchant_payment_id=%s error=%s",
                    logged,
                    merchant_payment_id,
                    exc,
                )
                self.message = ("error", {"message": str(exc)})
                return
            self.message = (done, {})
        # settled on the worker a moment later; the journal still says HELD until then
        self.held_rows = tuple(
            r for r in self.held_rows if r.merchant_payment_id != merchant_payment_id
        )

    def _refund_with_backend(
        self, merchant_payment_id: str, amount: int | None, refused: str
    ) -> tuple[str, dict[str, object]]:
        try:
            self.backend.refund(merchant_payment_id, amount)
        except ValueError as exc:
            logger.warning(
                "attendant action=%s merchant_payment_id=%s error=%s",
                refused,
                merchant_payment_id,
                exc,
            )
            return ("error", {"message": str(exc)})
        return ("refund_requested", {})


# a held sale's give-back (`HeldRow.give_back`): its question; its message and log action
GIVE_BACK_CONFIRM = {"release": "held_release_confirm", "check": "held_check_confirm"}
GIVE_BACK_DONE = {
    "refund": ("refund_requested", "refund_held"),
    "release": ("held_release_requested", "release_held"),
    "check": ("held_check_requested", "check_held"),
}

Handler = Callable[[AttendantFlow, Action, str, float], None]
A, F = Action, AttendantFlow

TABLE: dict[tuple[Place, Action], Handler] = {
    **{(Place.PIN, edit): F._pin_edit for edit in KEYPAD_EDITS},
    (Place.PIN, A.PIN_OK): F._pin_ok,
    (Place.MENU, A.CANCEL_SALE): F._cancel_sale,
    (Place.MENU, A.RECENT_SALES): F._recent_sales,
    (Place.MENU, A.HELD_SALES): F._held_sales,
    (Place.MENU, A.TOTALS): F._totals,
    (Place.MENU, A.RECONCILE): F._reconcile,
    (Place.MENU, A.TOGGLE_SERVICE): F._toggle_service,
    (Place.MENU, A.EXIT): F._exit,
    (Place.SALES, A.REFUND): F._refund,
    (Place.SALES, A.PAGE_PREV): F._sales_page,
    (Place.SALES, A.PAGE_NEXT): F._sales_page,
    (Place.SALES, A.BACK): F._to_menu,
    (Place.REFUND, A.REFUND_FULL): F._refund_full,
    (Place.REFUND, A.REFUND_PARTIAL): F._refund_partial,
    **{(Place.REFUND, edit): F._refund_edit for edit in KEYPAD_EDITS},
    (Place.REFUND, A.REFUND_AMOUNT): F._refund_amount,
    (Place.REFUND, A.BACK): F._refund_back,
    (Place.HELD, A.HELD_OUT): F._held,
    (Place.HELD, A.HELD_REFUND): F._held,
    (Place.HELD, A.BACK): F._to_menu,
    (Place.HELD, A.PAGE_PREV): F._held_page,
    (Place.HELD, A.PAGE_NEXT): F._held_page,
    (Place.CONFIRM, A.EXIT_YES): F._yes,
    (Place.CONFIRM, A.REFUND_YES): F._yes,
    (Place.CONFIRM, A.HELD_OUT_YES): F._yes,
    (Place.CONFIRM, A.HELD_REFUND_YES): F._yes,
    (Place.CONFIRM, A.CONFIRM_NO): F._no,
    (Place.TOTALS, A.BACK): F._to_menu,
    (Place.RECONCILE, A.BACK): F._to_menu,
    **{(place, A.CLOSE): F._close for place in Place if place is not Place.CLOSED},
}
