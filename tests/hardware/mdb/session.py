"""A whole MDB session without wall time: the reader machine, the scripted vending machine and a
customer at the kiosk, stepped from one due moment to the next. Pure, so transcripts are exact."""

from __future__ import annotations

from dataclasses import dataclass, field

from kiosk.hardware.mdb import lines
from kiosk.hardware.mdb.machine import new_slot, next_due_at, step
from kiosk.hardware.mdb.model import (
    Abandoned,
    Answer,
    Bound,
    Command,
    Event,
    Note,
    Offer,
    Opened,
    Rules,
    Send,
    Slot,
    Ticked,
    Timing,
    VendAsked,
    Withdraw,
)
from kiosk.simulator.vmc import PROFILES, Script, Vmc

SETCONF = (("mdb-currency-code", "0x1392"), ("mdb-always-idle", "1"))


@dataclass(frozen=True)
class Customer:
    """The kiosk side: when the customer pays (after the QR shows, or for the credit after the
    reader is ready), or cancels the QR on the screen."""

    pay_after_s: float | None = 2.0
    cancel_after_s: float | None = None
    credit_yen: int = 500


@dataclass
class Session:
    rules: Rules
    vmc: Vmc
    customer: Customer
    now: float = 0.0
    slot: Slot = field(init=False)
    log: list[str] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)  # mpids the kiosk asked to vend
    _plan: list[tuple[float, int, Event]] = field(default_factory=list)
    _seq: int = 0
    _sales: int = 0

    def __post_init__(self) -> None:
        self.slot = new_slot(self.rules)

    def _say(self, text: str) -> None:
        self.log.append(f"{self.now:7.2f} {text}")

    def at(self, when: float, event: Event) -> None:
        self._seq += 1
        self._plan.append((when, self._seq, event))

    def feed(self, event: Event) -> None:
        self.slot, commands = step(self.slot, event, self.now)
        for command in commands:
            self._do(command)

    def _do(self, command: Command) -> None:
        if isinstance(command, Send):
            self._say(f"-> {command.line}")
            self.vmc.hear(command.line, self.now)
        elif isinstance(command, Offer):
            self._say(f"== offer {command.selection}: {command.price_yen} yen item {command.item}")
            self._sales += 1
            mpid = f"K1-{self._sales:04d}"
            self.feed(Bound(command.selection, mpid))
            c = self.customer
            if c.pay_after_s is not None:
                self.at(self.now + c.pay_after_s, VendAsked(mpid, command.price_yen))
            if c.cancel_after_s is not None:
                self.at(self.now + c.cancel_after_s, Abandoned(mpid))
        elif isinstance(command, Withdraw):
            self._say(f"== withdraw {command.selection}: {command.reason}")
        elif isinstance(command, Answer):
            self.answers.append(command)
            how = "vended" if command.ok else "NOT vended"
            amount = "" if command.amount_yen is None else f" {command.amount_yen} yen"
            self._say(f"== answer {how}{amount}: {command.detail}")
        elif isinstance(command, Note):
            pass  # the driver logs these; the transcript keeps to the wire and the kiosk

    def _next_at(self) -> float | None:
        times = [t for t, _, _ in self._plan]
        if (vmc_at := self.vmc.next_at()) is not None:
            times.append(vmc_at)
        if (reader_at := next_due_at(self.slot)) is not None:
            times.append(reader_at)
        return min(times) if times else None

    def run(self, until_s: float) -> list[str]:
        self.feed(Opened())
        if self.vmc.script.credit:
            self.at(2.0, VendAsked("K1-0001", self.customer.credit_yen))
        while (at := self._next_at()) is not None and at <= until_s:
            self.now = max(self.now, at)
            for raw in self.vmc.due(self.now):
                self._say(f"<- {raw}")
                self.feed(lines.parse(raw.encode("ascii") + b"\n"))
            due = sorted(p for p in self._plan if p[0] <= self.now)
            for item in due:
                self._plan.remove(item)
                event = item[2]
                if isinstance(event, VendAsked):
                    self.asked.append(event.merchant_payment_id)
                    self._say(f"== paid {event.merchant_payment_id}: {event.amount_yen} yen")
                elif isinstance(event, Abandoned):
                    self._say(f"== sale ended unpaid {event.merchant_payment_id}")
                self.feed(event)
            self.feed(Ticked())
        return self.log


def session(
    script: Script,
    profile: str = "plain",
    customer: Customer | None = None,
    *,
    timing: Timing | None = None,
) -> Session:
    rules = Rules(
        setconf=SETCONF,
        credit_first=script.credit,
        max_price_yen=5_000,
        timing=timing or Timing(),
    )
    return Session(rules, Vmc(script, PROFILES[profile]), customer or Customer())
