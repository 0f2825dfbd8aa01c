"""The runner: executes the sale machine's commands on one worker thread, journal first.

Why / invariants:
- the UI thread never waits on the network: `begin_sale`, `cancel_sale`, `refund`, `pump` only
  queue messages or read snapshots; every PayPay call and every vend runs on the worker;
- the worker owns the machine: event -> `step` -> the new sale is journaled (durably) -> only
  then is it published to the screen and are its commands executed; each call's intent is
  journaled before it is sent and its outcome after;
- at start the worker settles every unfinished sale (reconciliation) before it accepts a
  customer; until then `service_issue()` says MAINTENANCE (or NETWORK/CLOCK if that is why);
- a sale whose customer the machine released (`Sale.customer_released`: told the outcome while its
  code is still watched) ends for the screen: what it was told stands, and the next customer
  is taken while the worker finishes that sale in the background;
- the kiosk takes no sale while the clock is wrong, the journal is unusable, a paid sale is
  held for the attendant, or the attendant switched it off.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import replace
from datetime import datetime

from kiosk.domain import (
    FINAL_PHASES,
    JST,
    Order,
    ReconcileSummary,
    SaleRecord,
    SaleSettings,
    SaleView,
    ServiceIssue,
    Totals,
)
from kiosk.engine.clock import Clock, ClockGuard, jst_day_bounds
from kiosk.engine.effects import PayPayClient
from kiosk.engine.journal import Journal, JournalError
from kiosk.engine.refunds import RefundRefused, record_refund
from kiosk.engine.retention import Retention
from kiosk.engine.worker import (
    Begin,
    Boundary,
    Cancel,
    Message,
    PollNow,
    Release,
    Settle,
    Stop,
    Worker,
)
from kiosk.hardware.vend import Vendor
from kiosk.sale.machine import new_sale
from kiosk.sale.model import GRACE_POLL_S, RETRY_MAX_S, GiveBack, Now, Sale, State, Timing
from kiosk.sale.view import view_of

log = logging.getLogger(__name__)


def timing_of(settings: SaleSettings) -> Timing:
    return Timing(
        qr_timeout_s=settings.qr_timeout_s,
        poll_interval_s=settings.poll_interval_s,
        grace_s=settings.grace_s,
        grace_poll_s=min(GRACE_POLL_S, max(settings.grace_s / 2, 0.1)),
        retry_s=settings.retry_s,
        retry_max_s=min(RETRY_MAX_S, settings.poll_interval_s, settings.retry_s * 15),
        vend_deadline_s=settings.vend_deadline_s,
        skew_margin_s=settings.clock_skew_limit_s,
    )


class Runner:
    def __init__(
        self,
        *,
        client: PayPayClient,
        journal: Journal,
        vendor: Vendor,
        settings: SaleSettings,
        clock: Clock,
        clock_guard: ClockGuard | None = None,
        tick_s: float = 0.2,
        boundary: Boundary | None = None,
        probe_s: float = 10.0,
        retention: Retention | None = None,
    ) -> None:
        self.settings = settings
        self.journal = journal
        self.clock = clock
        self.guard = clock_guard or ClockGuard(settings.clock_skew_limit_s)
        self._inbox: queue.Queue[Message] = queue.Queue()
        self._outbox: queue.Queue[Sale] = queue.Queue()
        self._tick_pending = threading.Event()
        self._shown: Sale | None = None  # UI thread only
        self._last_view: tuple[SaleView | None, ServiceIssue | None] = (None, None)
        self._attendant_off = False
        self.worker = Worker(
            client=client,
            journal=journal,
            vendor=vendor,
            settings=settings,
            clock=clock,
            guard=self.guard,
            inbox=self._inbox,
            publish=self._publish,
            tick_pending=self._tick_pending,
            tick_s=tick_s,
            boundary=boundary,
            probe_s=probe_s,
            retention=retention,
        )
        self._thread = threading.Thread(target=self.worker.run, name="sale-worker", daemon=True)

    # ---- life cycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker; it reconciles the journal before it takes the first sale."""
        self._thread.start()

    def stop(self, timeout_s: float) -> None:
        """Withdraw a live QR (recorded in the journal), then stop the worker."""
        self._inbox.put(Stop(self.clock.monotonic() + timeout_s))
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            log.warning("sale worker did not stop in time timeout_s=%s", timeout_s)

    # ---- worker -> UI (called on the worker thread) ----------------------------------------

    def _publish(self, sale: Sale) -> None:
        self._outbox.put(sale)

    # ---- the customer's sale --------------------------------------------------------------

    def begin_sale(self, order: Order) -> None:
        if self._shown is not None:
            raise ValueError("a sale is in progress")
        issue = self.service_issue()
        if issue is not None:
            raise ValueError(f"out of service: {issue.value}")
        mpid = self.clock.new_id(self.settings.terminal_id)
        timing = timing_of(self.settings)
        preview, _ = new_sale(
            mpid,
            order.amount_yen,
            order.description,
            preauth=self.settings.preauth,
            now=Now(self.clock.monotonic(), self.clock.now()),
            timing=timing,
        )
        self._shown = preview  # CREATING at once; the worker journals before any call
        self._inbox.put(Begin(mpid, order, timing))

    def cancel_sale(self, by: str = "customer") -> None:
        if self._shown is not None and not (self._shown.finished or self._shown.customer_released):
            self._inbox.put(Cancel(by))

    def pump(self) -> bool:
        """Never blocks: take the worker's snapshots, ask it for a tick, say if the view moved."""
        while True:
            try:
                sale = self._outbox.get_nowait()
            except queue.Empty:
                break
            shown = self._shown
            # once released, what the customer was told stands (the sale goes on unseen)
            if (
                shown is not None
                and sale.merchant_payment_id == shown.merchant_payment_id
                and not shown.customer_released
            ):
                self._shown = sale
        if not self._tick_pending.is_set():
            self._tick_pending.set()
            self._inbox.put("tick")
        current = (self.current_sale(), self.service_issue())
        changed = current != self._last_view
        self._last_view = current
        return changed

    def current_sale(self) -> SaleView | None:
        if self._shown is None:
            return None
        return view_of(self._shown, self.clock.monotonic())

    def acknowledge(self) -> None:
        """The screen showed the final phase: forget the sale, ready for the next one."""
        view = self.current_sale()
        final = view is not None and view.phase in FINAL_PHASES
        # a customer-released sale is not finished: its code is watched in the background meanwhile
        if (
            final
            and self._shown is not None
            and (self._shown.finished or self._shown.customer_released)
        ):
            self._shown = None

    # ---- service state --------------------------------------------------------------------

    def engine_alive(self) -> bool:
        """False once the sale worker has stopped on an error: the UI loop then stops feeding
        systemd's watchdog and `kiosk run` exits non-zero, so the kiosk is restarted."""
        return self.worker.alive and (self._thread.is_alive() or not self._thread.ident)

    def service_issue(self) -> ServiceIssue | None:
        if not self.engine_alive():
            return ServiceIssue.ENGINE
        if self.worker.journal_failed or self.journal.damage is not None:
            return ServiceIssue.JOURNAL
        if self.guard.wrong():
            return ServiceIssue.CLOCK
        if self._attendant_off:
            return ServiceIssue.ATTENDANT
        return self.worker.issue()

    def set_out_of_service(self, on: bool, reason: str = "attendant") -> None:
        if on != self._attendant_off:
            try:  # the fleet hears of it through the outbox (a no-op without a fleet)
                data = {"out_of_service": on, "reason": reason}
                self.journal.record_fact("service", data, self.clock.now())
            except JournalError as exc:
                log.error("out-of-service change not journaled error=%s", exc)
        self._attendant_off = on

    # ---- attendant ------------------------------------------------------------------------

    def recent_sales(self, limit: int = 20) -> list[SaleRecord]:
        return self.journal.recent_sales(limit)

    def totals_today(self) -> Totals:
        start, end = jst_day_bounds(self.clock.now())
        day = datetime.fromtimestamp(start, JST).date().isoformat()
        return replace(self.journal.totals(start, end), day=day)

    def refund(self, merchant_payment_id: str, amount_yen: int | None = None) -> None:
        """Record the refund (RefundRefused, a ValueError, above what is refundable), durably
        before anything is sent; the worker then follows it until done."""
        try:
            record_refund(self.journal, merchant_payment_id, amount_yen, self.clock.now())
        except JournalError as exc:  # busy (another process) or broken: a clear refusal
            raise RefundRefused(f"the refund was not recorded: {exc}", "journal") from None
        self._inbox.put("refunds")

    def give_back_held(self, merchant_payment_id: str) -> None:
        """The attendant gives a held sale back, whatever it needs (`Sale.give_back`): paid in
        full -> the refund is recorded, as `refund(mpid, None)` does; only authorised -> the
        authorisation is released (reverted); unpaid -> PayPay is asked again (a payment found
        goes back). `RefundRefused` (a ValueError) says why nothing can be done."""
        try:
            sale = self.journal.load_sale(merchant_payment_id)
        except JournalError as exc:
            raise RefundRefused(f"the journal could not be read: {exc}", "journal") from None
        if sale is None:
            raise RefundRefused(f"no sale {merchant_payment_id} in the journal", "unknown")
        if sale.state is not State.HELD:
            raise RefundRefused(
                f"{merchant_payment_id} is not held (state {sale.state}): nothing to give back",
                "not_held",
            )
        if sale.give_back is GiveBack.REFUND:
            self.refund(merchant_payment_id, None)
            return
        if self.worker.journal_failed:
            raise RefundRefused("the journal cannot be written: nothing was released", "journal")
        self._inbox.put(Release(merchant_payment_id))

    def hand_out_held(self, merchant_payment_id: str) -> None:
        """The attendant handed a held sale's goods out by hand: the sale is complete."""
        self._inbox.put(Settle(merchant_payment_id, refunded=False))

    def reconcile_now(self) -> None:
        self._inbox.put("reconcile")

    def poll_now(self, merchant_payment_id: str) -> None:
        """Poll this sale at once if it is the one on screen (the fleet link's nudge)."""
        self._inbox.put(PollNow(merchant_payment_id))

    def last_reconcile_summary(self) -> ReconcileSummary | None:
        return self.worker.summary

    def held_sales(self) -> list[Sale]:
        return self.journal.held_sales()


__all__ = ["JournalError", "Runner", "timing_of"]
