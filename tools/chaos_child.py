"""The engine side of the crash test: a real Runner with a scripted screen, customer-facing logs.

Why a module of its own: the parent (tools.chaos) judges the engine from the outside, so this
child writes down, as they happen, the two things the journal must not be trusted for:
- the vend log: one line per goods handed out (`LoggingVendor`, fsynced before it answers);
- the screen log: every phase the screen takes from the engine (`pump` + `current_sale`), with
  the real time it was shown, and every refund the attendant asks for, before it is asked.
It also steps its own wall clock both ways at random step boundaries (an NTP step), while the
monotonic clock runs on, and stops at every boundary for the parent's "go" (or SIGKILL).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path

from kiosk.domain import FINAL_PHASES, Order, Phase, SaleSettings, SaleView
from kiosk.engine.clock import ClockGuard, SystemClock
from kiosk.engine.journal import Journal
from kiosk.engine.runner import Runner, timing_of
from kiosk.hardware.vend import VendRequest, VendResult
from kiosk.opa import Client, RetryPolicy
from kiosk.sale.model import Sale
from kiosk.simulator import DEMO_API_KEY, DEMO_API_SECRET

# What the simulator grants each code. PayPay grants about 300 s; the engine follows whatever
# expiryDate it answers, so a shorter life (still well past the 85 s clock steps below) lets
# watches of refused deletes end within a run, and the last life settle sooner.
CODE_EXPIRY_S = 120
FINAL_GIVE_BACKS = 3  # the last life: a held sale given back this often and still held is stuck
MAX_OFFSET_S = 85.0  # inside the clock guard's 90 s and PayPay's 120 s signature window
AMOUNTS = (100, 150, 500, 1200)


def append_line(path: Path, line: str, *, sync: bool = False) -> None:
    """One whole line, written at once (a SIGKILL loses none that returned)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode("utf-8"))
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


class LoggingVendor:
    """Goods out = one fsynced line in the vend log; sometimes jammed (nothing comes out)."""

    def __init__(self, path: Path, rng: random.Random, fail_rate: float) -> None:
        self.path = path
        self.rng = rng
        self.fail_rate = fail_rate

    def vend(self, request: VendRequest) -> VendResult:
        if self.rng.random() < self.fail_rate:
            return VendResult(False, "jammed (chaos)")
        append_line(self.path, request.merchant_payment_id, sync=True)
        return VendResult(True, "vended")


class SteppingClock(SystemClock):
    """The system clock whose wall time NTP steps either way; monotonic time never steps."""

    def __init__(self, offset_s: float) -> None:
        super().__init__()
        self.offset_s = offset_s

    def now(self) -> float:
        return time.time() + self.offset_s

    def step(self, rng: random.Random) -> None:
        self.offset_s += rng.choice((-1, 1)) * rng.uniform(1.0, 80.0)
        self.offset_s = max(-MAX_OFFSET_S, min(MAX_OFFSET_S, self.offset_s))


class Boundaries:
    """Each step boundary: maybe step the clock, say where we are, wait for the parent."""

    def __init__(self, clock: SteppingClock, rng: random.Random, step_rate: float) -> None:
        self.clock, self.rng, self.step_rate = clock, rng, step_rate

    def __call__(self, kind: str, sale: Sale | None) -> None:
        if self.rng.random() < self.step_rate:
            self.clock.step(self.rng)
        if sale is None:
            line = f"B {kind} - - -\n"
        else:
            code = sale.code_id or "-"
            line = f"B {kind} {sale.state.value} {sale.merchant_payment_id} {code}\n"
        sys.stdout.write(line)
        sys.stdout.flush()
        if not sys.stdin.readline():  # the parent is gone
            os._exit(3)


class Screen:
    """The customer and the attendant at the kiosk; writes down what the screen was told.
    `give_backs`: how often the attendant gives one held sale back (None: every time), never
    again within `patience_s` of the last time (it takes the kiosk a moment)."""

    def __init__(
        self,
        runner: Runner,
        rng: random.Random,
        log: Path,
        give_backs: int | None = None,
        patience_s: float = 10.0,
    ) -> None:
        self.runner, self.rng, self.log = runner, rng, log
        self.last: tuple[str, Phase, str | None] | None = None
        self.give_backs, self.patience_s = give_backs, patience_s
        self.given: Counter[str] = Counter()  # accepted give-backs per held sale
        self.given_at: dict[str, float] = {}  # monotonic

    def _told(self, view: SaleView) -> None:
        key = (view.merchant_payment_id, view.phase, view.reason)
        if key != self.last:
            self.last = key
            reason = view.reason or "-"
            append_line(
                self.log, f"S {time.time():.3f} {view.merchant_payment_id} {view.phase} {reason}"
            )

    def _asked(self, mpid: str, amount: int | None, act: Callable[[], None]) -> bool:
        """Write down what the attendant asks for (before it is asked: a SIGKILL loses none),
        ask it, and write down a refusal (nothing moved). True: accepted."""
        append_line(self.log, f"R {time.time():.3f} {mpid} {amount or 'full'}", sync=True)
        try:
            act()
        except ValueError as exc:  # RefundRefused: nothing was sent
            append_line(self.log, f"X {time.time():.3f} {mpid} {type(exc).__name__}", sync=True)
            return False
        return True

    def attendant_refund(self, mpid: str, amount: int) -> bool:
        return self._asked(mpid, amount, partial(self.runner.refund, mpid, amount))

    def give_back_held(self) -> int:
        """The attendant comes by: the one action for each held sale not already being given
        back (a refused one is asked again, as an attendant would after checking). How many
        were accepted."""
        open_refunds = {row.merchant_payment_id for row in self.runner.journal.open_refunds()}
        accepted = 0
        for held in self.runner.held_sales():
            mpid = held.merchant_payment_id
            recent = time.monotonic() - self.given_at.get(mpid, -1e9) < self.patience_s
            if mpid in open_refunds or recent or self.gave_up(mpid):
                continue
            if self._asked(mpid, None, partial(give_back, self.runner, mpid)):
                self.given[mpid] += 1
                self.given_at[mpid] = time.monotonic()
                accepted += 1
        return accepted

    def gave_up(self, mpid: str) -> bool:
        return self.give_backs is not None and self.given[mpid] >= self.give_backs

    def play(self) -> None:
        runner = self.runner
        runner.pump()
        view = runner.current_sale()
        if view is not None:
            self._told(view)
        if self.rng.random() < 0.01:  # the attendant comes by and gives back held sales
            self.give_back_held()
        if view is None:
            if runner.service_issue() is None:
                with contextlib.suppress(ValueError):  # just went out of service: later
                    runner.begin_sale(Order.of_amount(self.rng.choice(AMOUNTS)))
        elif view.phase in FINAL_PHASES:
            runner.acknowledge()
            if view.phase is Phase.SUCCEEDED and self.rng.random() < 0.25:
                self.attendant_refund(view.merchant_payment_id, self.rng.choice([50, 100]))
        elif view.phase is Phase.AWAITING_PAYMENT and self.rng.random() < 0.02:
            runner.cancel_sale()


def give_back(runner: Runner, mpid: str) -> None:
    """The attendant's one action for a held sale: refund, release the authorisation or ask
    PayPay again (RefundRefused, a ValueError, if none is possible)."""
    runner.give_back_held(mpid)


def sale_settings(preauth: bool) -> SaleSettings:
    """Real rules on a fast clock: a QR on screen for 1 s, polled every 50 ms."""
    return SaleSettings(
        terminal_id="CH",
        qr_timeout_s=1.0,
        poll_interval_s=0.05,
        grace_s=0.2,
        retry_s=0.05,
        preauth=preauth,
    )


def settle_limit_s(settings: SaleSettings) -> float:
    """The longest the last life may legitimately take to settle everything: a code PayPay
    would not withdraw is watched until it has surely expired (PayPay's expiry, or for a
    create whose answer was lost the engine's assumed code lifetime, plus the clock guard's
    margin, plus one poll; a restart never moves that deadline later), and what it found is
    then confirmed (the confirm budget)."""
    t = timing_of(settings)
    lifetime = max(CODE_EXPIRY_S, t.code_lifetime_s)
    return lifetime + t.skew_margin_s + t.poll_interval_s + t.confirm_s


def child(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    clock = SteppingClock(args.clock_offset)
    guard = ClockGuard()
    client = Client(
        auth=(DEMO_API_KEY, DEMO_API_SECRET),
        base_url=args.base_url,
        timeout=1.0,
        retry=RetryPolicy(max_attempts=1, max_total_s=2.0),
        on_response=guard.observe,
        clock=clock.now,
    )
    settings = sale_settings(args.preauth)
    journal = Journal(Path(args.journal))
    boundaries = None if args.final else Boundaries(clock, rng, args.clock_step_rate)
    runner = Runner(
        client=client,
        journal=journal,
        vendor=LoggingVendor(Path(args.vend_log), rng, 0.0 if args.final else 0.12),
        settings=settings,
        clock=clock,
        clock_guard=guard,
        tick_s=0.005,
        boundary=boundaries,
        probe_s=0.3,
    )
    runner.start()
    if args.final:
        screen = Screen(runner, rng, Path(args.screen_log), FINAL_GIVE_BACKS, patience_s=2.0)
        return _settle_and_exit(runner, journal, screen, settle_limit_s(settings))
    screen = Screen(runner, rng, Path(args.screen_log))
    parent = os.getppid()
    while os.getppid() == parent:  # an idle engine passes no boundary: notice the parent's end
        screen.play()
        time.sleep(0.01)
    os._exit(3)


def _settle_and_exit(runner: Runner, journal: Journal, screen: Screen, limit_s: float) -> int:
    """The last life: no customer, no faults; the attendant gives back what is held for the
    customers. Past `limit_s`, says on stdout what was still unfinished and exits 4; once
    settled, exits 5 (naming them) if held sales stayed held after `FINAL_GIVE_BACKS` give-backs."""
    deadline = time.monotonic() + limit_s
    next_round = 0.0
    while time.monotonic() < deadline:
        runner.pump()
        if time.monotonic() >= next_round:  # the attendant, every few seconds
            next_round = time.monotonic() + 3.0
            # settled: the attendant found nothing more to give back, the engine nothing to do
            acted = screen.give_back_held()
            settled = (
                not acted
                and runner.last_reconcile_summary() is not None
                and not journal.unfinished_sales()
                and not journal.open_refunds()
            )
            if settled:
                stuck = [s for s in journal.held_sales() if screen.gave_up(s.merchant_payment_id)]
                _say_held(stuck)
                runner.stop(5.0)
                return 5 if stuck else 0
        time.sleep(0.05)
    _say_unfinished(runner, journal, limit_s)
    runner.stop(5.0)
    return 4


def _say_unfinished(runner: Runner, journal: Journal, limit_s: float) -> None:
    """One line per thing the last life could not settle in `limit_s` (read by tools.chaos)."""
    now = runner.clock.now()
    if runner.last_reconcile_summary() is None:
        sys.stdout.write(f"U reconciliation at start not done after {limit_s:g} s\n")
    for sale in journal.unfinished_sales():
        left = "none" if sale.deadline_wall_at is None else f"{sale.deadline_wall_at - now:.0f} s"
        sys.stdout.write(
            f"U {sale.merchant_payment_id} {sale.state.value} deadline in {left}, "
            f"in flight {sale.in_flight.value if sale.in_flight else '-'}\n"
        )
    _say_held(journal.held_sales())
    for row in journal.open_refunds():
        mpid, refund_id = row.merchant_payment_id, row.merchant_refund_id
        sys.stdout.write(f"U {mpid} refund {refund_id} {row.status}\n")
    sys.stdout.flush()


def _say_held(held: list[Sale]) -> None:
    for sale in held:
        paid = "paid" if sale.payment_id else "unpaid"
        sys.stdout.write(f"U {sale.merchant_payment_id} HELD {sale.end_reason} ({paid})\n")
    sys.stdout.flush()


def add_child_arguments(p: argparse.ArgumentParser) -> None:
    for name in ("--base-url", "--journal", "--vend-log", "--screen-log"):
        p.add_argument(name, help=argparse.SUPPRESS)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--final", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--preauth", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--clock-offset", type=float, default=0.0, help=argparse.SUPPRESS)
