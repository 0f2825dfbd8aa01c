"""The scripted vending machine and its HAT, as the kiosk sees them on the serial line.

Why scripted and pure: golden transcripts and generated sessions need the same bytes on every
run, so time is an argument and every reaction is scheduled on it. The machine is also an
oracle: it records every approval and vend, and a protocol breach by the kiosk (an approval
nobody asked for, a second approval for one selection) in `violations`.

Lines are those of kiosk.hardware.mdb.lines (same sources, same inferred parts). Real machines
deviate; `Quirks` plays the deviations issue 16 lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Quirks:
    ignores_cancel: bool = False  # C,STOP (session cancel) is never answered
    no_end_session: bool = False  # after a vend the machine never closes the session
    repeats_enable: bool = False  # READER ENABLE arrives twice, and again after each session
    resets_mid_vend: bool = False  # the first approval is answered by a machine reset
    no_price_limits: bool = False  # no MAX/MIN PRICES: it first asks a price beyond any reader
    reset_loop: bool = False  # after power-up it resets and sets the reader up three more times
    slow_session: bool = False  # BEGIN SESSION is taken only after several polls (3 s)


PROFILES: dict[str, Quirks] = {
    "plain": Quirks(),
    "ignores-cancel": Quirks(ignores_cancel=True),
    "no-end-session": Quirks(no_end_session=True),
    "repeats-enable": Quirks(repeats_enable=True),
    "resets-mid-vend": Quirks(resets_mid_vend=True),
    "no-max-min-prices": Quirks(no_price_limits=True),
    "reset-loop": Quirks(reset_loop=True),
    "slow-begin-session": Quirks(slow_session=True),
}


@dataclass(frozen=True)
class Script:
    """What the customer does at the machine, and how the machine ends the vend."""

    credit: bool = False  # credit first: the customer pays on the screen, then chooses
    price: str = "150"  # as the HAT writes it
    item: int = 5
    select_after_s: float = 1.0  # after the reader is enabled (or the session opened)
    cancel_after_s: float | None = None  # the customer presses cancel on the machine
    give_up_after_s: float | None = None  # the machine's own timeout: it drops the request
    outcome: str = "success"  # success | failure | silent (no result ever)
    sessions: int = 1  # how many customers in a row


SCRIPTS: dict[str, Script] = {
    "selection": Script(),
    "selection-cancel": Script(cancel_after_s=3.0),
    "selection-failure": Script(outcome="failure"),
    "selection-timeout": Script(give_up_after_s=6.0),
    "selection-silent": Script(outcome="silent"),
    "credit": Script(credit=True, price="120"),
    "credit-too-dear": Script(credit=True, price="900"),
    "credit-cancel": Script(credit=True, cancel_after_s=0.5, select_after_s=2.0),
    "credit-failure": Script(credit=True, price="120", outcome="failure"),
    "credit-no-selection": Script(credit=True, select_after_s=10_000.0),
    # `kiosk run` in demo mode with mdb.port = "sim": a customer chooses every little while
    "demo": Script(sessions=1_000_000, select_after_s=8.0, give_up_after_s=100.0),
    "demo-credit": Script(credit=True, price="130", sessions=1_000_000, select_after_s=4.0),
}

VERSION_LINE = "v,SIM-1.0,000000000001"


@dataclass
class Vmc:
    script: Script
    quirks: Quirks = field(default_factory=Quirks)
    state: str = "off"  # off | enabled | selected | session | vending
    selection: tuple[str, int] | None = None
    approvals: int = 0  # approvals for the current selection
    funds: str | None = None
    vends: list[tuple[int, str]] = field(default_factory=list)  # (item, price) handed out
    violations: list[str] = field(default_factory=list)
    sessions_left: int = 0
    reset_done: bool = False
    looped: bool = False
    dropped: tuple[str, int] | None = None  # the selection the machine last gave up on
    crossed: int = 0  # approvals that crossed the machine's own cancel on the wire
    asked_dear: bool = False
    _queue: list[tuple[float, int, str]] = field(default_factory=list)  # (at, seq, line|@action)
    _seq: int = 0
    _epoch: int = 0  # bumps on every state change: stale scheduled actions are dropped

    def __post_init__(self) -> None:
        self.sessions_left = self.script.sessions

    # ---- time -------------------------------------------------------------------------

    def next_at(self) -> float | None:
        return min(self._queue)[0] if self._queue else None

    def due(self, now: float) -> list[str]:
        """The lines the HAT writes up to `now`, in order."""
        out: list[str] = []
        while self._queue and min(self._queue)[0] <= now:
            at, _, what = min(self._queue)
            self._queue.remove((at, _, what))
            if what.startswith("@"):
                epoch, action = what[1:].split(":", 1)
                if int(epoch) == self._epoch:
                    self._act(action, at)
            else:
                out.append(what)
        return out

    def _emit(self, at: float, *lines: str) -> None:
        for line in lines:
            self._seq += 1
            self._queue.append((at, self._seq, line))

    def _later(self, at: float, action: str) -> None:
        self._emit(at, f"@{self._epoch}:{action}")

    def _move(self, state: str) -> None:
        self.state = state
        self._epoch += 1

    def _enabled_lines(self) -> tuple[str, ...]:
        once = ("c,STATUS,ENABLED",)
        return once * 2 if self.quirks.repeats_enable else once

    # ---- the kiosk's lines ------------------------------------------------------------

    def hear(self, line: str, now: float) -> None:
        if line == "V":
            self._emit(now, VERSION_LINE)
        elif line.startswith("C,SETCONF,"):
            return
        elif line == "C,1":
            self._enable(now)
        elif line == "C,0":
            self._move("off")
            self._emit(now, "c,STATUS,DISABLED")
        elif line.startswith("C,START,"):
            self._start(line.removeprefix("C,START,"), now)
        elif line.startswith("C,VEND,"):
            self._approved(line.removeprefix("C,VEND,"), now)
        elif line == "C,STOP":
            self._stop(now)
        else:
            self.violations.append(f"unknown line {line!r}")

    def _enable(self, now: float) -> None:
        if self.state != "off":  # re-configuration while running: the HAT echoes, and
            enabled = self._enabled_lines() if self.state == "enabled" else ()  # (inferred)
            self._emit(now, "c,1", *enabled)
            return
        self._move("enabled")
        self._emit(now, "c,STATUS,INACTIVE", "c,1")
        self._emit(now + 0.1, "c,STATUS,DISABLED")
        self._emit(now + 0.2, *self._enabled_lines())
        if self.quirks.reset_loop and not self.looped:
            self.looped = True
            for n in range(1, 4):  # RESET, SETUP, ENABLE again, three times over 1.5 s
                at = now + 0.2 + n * 0.5
                self._emit(at, "c,STATUS,INACTIVE")
                self._emit(at + 0.1, "c,STATUS,DISABLED")
                self._emit(at + 0.2, *self._enabled_lines())
            now += 1.5
        self._next_customer(now + 0.2)

    def _next_customer(self, now: float) -> None:
        if self.sessions_left <= 0 or self.script.credit:
            return
        self._later(now + self.script.select_after_s, "select")

    def _start(self, funds: str, now: float) -> None:
        if self.state != "enabled":
            self.violations.append(f"C,START in {self.state}")
            return
        self._move("session")
        self.funds = funds
        taken = 3.0 if self.quirks.slow_session else 0.3  # some take several polls to accept
        self._emit(now + taken, "c,STATUS,IDLE")
        self._later(now + taken + self.script.select_after_s, "select")
        if self.script.cancel_after_s is not None:
            self._later(now + taken + self.script.cancel_after_s, "cancel")

    def _act(self, action: str, now: float) -> None:
        if action == "select":
            self._select(now)
        elif action == "cancel":
            self._move("enabled" if self.state != "off" else "off")
            self._emit(now, "c,VEND,CANCEL", *self._enabled_lines())
            self._customer_done(now)
        elif action == "give-up":
            self._move("enabled")
            self._emit(now, *self._enabled_lines())
            self._customer_done(now)
        elif action == "result":
            self._result(now)

    def _select(self, now: float) -> None:
        if self.state not in ("enabled", "session"):
            return
        price = self.script.price
        if self.quirks.no_price_limits and not self.asked_dear:
            self.asked_dear, price = True, "99999"
        in_session = self.state == "session"
        self._move("selected" if not in_session else "session")
        self.selection, self.approvals = (price, self.script.item), 0
        self._emit(now, f"c,STATUS,VEND,{price},{self.script.item}")
        if not in_session and self.script.cancel_after_s is not None:
            self._later(now + self.script.cancel_after_s, "cancel")
        if self.script.give_up_after_s is not None:
            self._later(now + self.script.give_up_after_s, "give-up")

    def _approved(self, price: str, now: float) -> None:
        if self.selection is None and self.dropped is not None and price == self.dropped[0]:
            self.crossed += 1  # our cancel and the kiosk's approval crossed on the wire:
            self.dropped = None  # the machine ignores it (the reader hears the session end)
            return
        if self.selection is None or self.state not in ("selected", "session"):
            self.violations.append(f"C,VEND,{price} without a vend request ({self.state})")
            return
        if price != self.selection[0]:
            self.violations.append(f"C,VEND,{price} for a request of {self.selection[0]}")
            return
        self.approvals += 1
        if self.approvals > 1:
            self.violations.append("a second approval for one selection")
            return
        if self.quirks.resets_mid_vend and not self.reset_done:
            self.reset_done = True
            self._move("off")
            self.selection, self.funds = None, None
            self._emit(now + 0.2, "c,STATUS,INACTIVE")
            return
        self._move("vending")
        self._later(now + 0.5, "result")

    def _result(self, now: float) -> None:
        assert self.selection is not None
        outcome = self.script.outcome
        if outcome == "silent":
            return
        if outcome == "success":
            self.vends.append((self.selection[1], self.selection[0]))
            self._emit(now, "c,VEND,SUCCESS")
        else:
            self._emit(now, "c,ERR,VEND 3")
        self.selection = None
        if self.funds is not None:  # credit first: the kiosk closes the session
            self._move("session")
            return
        self._move("enabled")
        self._emit(now + 0.1, "c,STATUS,IDLE")
        if not self.quirks.no_end_session:
            self._emit(now + 0.2, *self._enabled_lines())
        self._customer_done(now + 0.2)

    def _stop(self, now: float) -> None:
        if self.state in ("off", "enabled") and not self.funds:
            return  # nothing to stop (a denial the machine already forgot)
        if self.quirks.ignores_cancel:
            return
        was_selected = self.state in ("selected", "session", "vending")
        self._move("enabled")
        self.selection, self.funds = None, None
        self._emit(now + 0.1, *self._enabled_lines())
        if was_selected:
            self._customer_done(now + 0.1)

    def _customer_done(self, now: float) -> None:
        self.dropped = self.selection
        self.selection, self.funds = None, None
        self.sessions_left -= 1
        self._next_customer(now)


def with_quirks(script: Script, profile: str) -> Vmc:
    return Vmc(replace(script), PROFILES[profile])
