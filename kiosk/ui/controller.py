"""What the kiosk shows and does: the customer's flow, the sale's phases and the attendant's.

Why here and not in the screens: screens only draw views. The controller owns the little UI
state and turns taps into backend calls through two small machines with transition tables,
`kiosk.ui.customer` and `kiosk.ui.attendant`; a tap no flow accepts in its current place is
rejected (logged, nothing changes). Invariants:
- the backend decides about money: a sale on screen always comes from `current_sale()`;
- nothing outside writes this state: the loop tells the controller what happened (`act`,
  `open_attendant`, `window_closed`, `tick`) and reads the frame and a few answers;
- a final phase is acknowledged (forgotten) only after it was on screen.
"""

from __future__ import annotations

import logging

from kiosk.domain import FINAL_PHASES, Order, Phase, SaleView, ServiceIssue, time_zone
from kiosk.ui.actions import Action, parse
from kiosk.ui.attendant import AttendantFlow, Place
from kiosk.ui.backend import KioskBackend
from kiosk.ui.customer import SALE_ACTIONS, CustomerFlow, Screen
from kiosk.ui.i18n import Strings, other_language
from kiosk.ui.pin_gate import LockoutStore, PinGate
from kiosk.ui.screens import Frame
from kiosk.ui.screens.sale import on_qr_screen
from kiosk.ui.settings import UiSettings
from kiosk.ui.views import QR_PENDING, Chrome, OutOfServiceView, SaleScreenView, ScreenView

logger = logging.getLogger(__name__)

IDLE_RETURN_S = 60.0  # menu or keypad untouched this long: back to attract
ATTENDANT_IDLE_S = 120.0  # attendant screens untouched this long: closed
DRIFT_STEP_S = 30.0  # attract content moves a little this often
SPIN_STEPS_PER_S = 8
# A QR usually arrives within a few ms of the tap: the tapped screen stays up until then (or
# this long), so the loop draws nothing while the sale worker needs the interpreter; a slower
# PayPay shows the QR screen with a spinner where the code will appear.
CREATING_SHOWN_AFTER_S = 0.15
WAITING_PHASES = frozenset({Phase.CREATING, Phase.CONFIRMING, Phase.VENDING})


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
        self._language = settings.default_language
        self._customer_language = self._language  # restored when the attendant's menu closes
        self._last_input_at = now
        self._final_id: str | None = None  # the sale whose final phase is on screen, and since
        self._final_since_at = 0.0
        self._begun_id: str | None = None  # the sale this screen started, and when
        self._begun_at = 0.0
        self._window_closed = False
        self._customer = CustomerFlow(settings, self._begin)
        self._attendant = AttendantFlow(
            backend,
            self.gate,
            hardware=settings.hardware_status,
            zone=time_zone(settings.time_zone),
        )
        self._attendant.service_off = backend.service_issue() is ServiceIssue.ATTENDANT

    def use_settings(self, settings: UiSettings) -> None:
        """Between sales: settings for the screens from now on (a catalogue from the fleet)."""
        self.settings = settings
        self._customer.settings = settings

    # ----- answers for the loop ----------------------------------------------------------
    @property
    def strings(self) -> Strings:
        return Strings(self._language)

    @property
    def language(self) -> str:
        return self._language

    @property
    def message(self) -> tuple[str, dict[str, object]] | None:
        """The outcome of the attendant's last action (a catalogue key and its values)."""
        return self._attendant.message

    @property
    def attendant_open(self) -> bool:
        return self._attendant.open

    @property
    def pin_pad_open(self) -> bool:
        return self._attendant.place is Place.PIN

    @property
    def exit_requested(self) -> bool:
        return self._attendant.exit_requested or self._window_closed

    # ----- what is on screen -------------------------------------------------------------
    def frame(self, now: float) -> Frame:
        sale = self.backend.current_sale()
        screen = self._screen(sale, now)
        chrome = Chrome(
            self._language,
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
        if self._attendant.open:
            return self._attendant.view(self.strings, now)
        drift = int(now // DRIFT_STEP_S)
        if sale is not None and sale.phase is Phase.CREATING and self._fresh(sale, now):
            return self._customer.view(drift)  # the screen that was tapped, a moment longer
        if sale is not None:
            spin = int(now * SPIN_STEPS_PER_S) % 8 if sale.phase in WAITING_PHASES else 0
            return SaleScreenView(sale, spin)
        issue = self.backend.service_issue()
        if issue is not None:
            return OutOfServiceView(issue, drift=drift)
        return self._customer.view(drift)

    def _fresh(self, sale: SaleView, now: float) -> bool:
        return sale.merchant_payment_id == self._begun_id and (
            now - self._begun_at < CREATING_SHOWN_AFTER_S
        )

    def status(self) -> str:
        """A short word for systemd's STATUS= line."""
        if self._attendant.open:
            return f"attendant:{self._attendant.place.value}"
        sale = self.backend.current_sale()
        if sale is not None:
            return f"sale:{sale.phase.value}"
        issue = self.backend.service_issue()
        return f"out_of_service:{issue.value}" if issue else self._customer.screen.value

    # ----- time ---------------------------------------------------------------------------
    def tick(self, now: float) -> None:
        if self.gate.poll(now) and self._attendant.place is Place.PIN:
            self._attendant.pin_checked()
            self._last_input_at = now
        sale = self.backend.current_sale()
        if sale is not None and sale.phase in FINAL_PHASES:
            if self._final_id != sale.merchant_payment_id:
                self._final_id, self._final_since_at = sale.merchant_payment_id, now
            elif now - self._final_since_at >= self.settings.result_screen_s:
                self._acknowledge(now)
        idle_s = now - self._last_input_at
        if self._attendant.open and idle_s >= ATTENDANT_IDLE_S:
            self._attendant.close(reason="idle")
            self._attendant_closed()
        elif (
            self._customer.screen is not Screen.ATTRACT and sale is None and idle_s >= IDLE_RETURN_S
        ):
            self._to_attract()

    def _acknowledge(self, now: float) -> None:
        self.backend.acknowledge()
        self._final_id = None
        self._to_attract()
        self._last_input_at = now

    def _to_attract(self) -> None:
        self._customer.reset()
        self._begun_id = None
        self._language = self.settings.default_language  # the next customer starts fresh

    # ----- input --------------------------------------------------------------------------
    def open_attendant(self, source: str, now: float) -> None:
        self._last_input_at = now
        if not self._attendant.open:
            self._customer_language = self._language  # the menu's language stays the menu's
        self._attendant.open_pin_pad(source)

    def _attendant_closed(self) -> None:
        self._language = self._customer_language

    def window_closed(self) -> None:
        """The window was closed: a windowed kiosk ends; a full-screen one only from the menu."""
        if not self.settings.fullscreen:
            logger.info("window action=close")
            self._window_closed = True

    def act(self, name: str, arg: str, now: float) -> bool:
        """Perform a touch target's (or a key's) action. False: rejected, nothing changed."""
        self._last_input_at = now
        action = parse(name)
        if action is Action.LANGUAGE:
            self._language = other_language(self._language)
            return True
        accepted = action is not None and self._route(action, arg, now)
        if not accepted:
            logger.debug("ui action=rejected name=%s place=%s", name, self.status())
        return accepted

    def _route(self, action: Action, arg: str, now: float) -> bool:
        if self._attendant.open:
            accepted = self._attendant.act(action, arg, now)
            if not self._attendant.open:
                self._attendant_closed()
            return accepted
        sale = self.backend.current_sale()
        if sale is None:
            return self._customer.act(action, arg)
        if sale.phase not in SALE_ACTIONS.get(action, frozenset()):
            return False
        if action is Action.CANCEL:
            logger.info("customer action=cancel merchant_payment_id=%s", sale.merchant_payment_id)
            self.backend.cancel_sale()
        else:
            self._acknowledge(now)
        return True

    def _begin(self, order: Order) -> None:
        try:
            self.backend.begin_sale(order)
        except ValueError as exc:  # busy or out of service: the next frame shows why
            logger.warning(
                "customer action=begin_refused amount_yen=%d error=%s", order.amount_yen, exc
            )
            return
        logger.info("customer action=begin amount_yen=%d", order.amount_yen)
        sale = self.backend.current_sale()
        self._begun_id = sale.merchant_payment_id if sale else None
        self._begun_at = self._last_input_at
