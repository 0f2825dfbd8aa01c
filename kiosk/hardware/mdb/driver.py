"""The MDB driver: the I/O loop around the pure reader machine, and the `Vendor` it serves.

Why thin: all decisions are in kiosk.hardware.mdb.machine. This loop only reads the HAT's lines
(pyserial), feeds them and the clock to `step`, writes the lines the machine asks for, and
passes the machine's offers, withdrawals and answers to the kiosk. One thread owns the reader;
other threads talk to it through a queue.

Invariants:
- `vend()` returns exactly the machine's `Answer` for that request; if the loop itself stops
  answering (a bug, a dead thread) it returns "not vended" after a bound and tells the machine
  to drop the request, so the sale engine refunds: never a hang, never an exception;
- a serial error closes the port (the machine answers what was waiting) and the loop reopens it;
- `close()` (SIGTERM) ends a session with `C,STOP` and disables the reader with `C,0`.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from kiosk.hardware.mdb import lines
from kiosk.hardware.mdb.machine import new_slot, step
from kiosk.hardware.mdb.model import (
    Abandoned,
    Answer,
    Bound,
    Command,
    Event,
    EventNotAccepted,
    LinkLost,
    Note,
    Offer,
    Opened,
    Reader,
    Rules,
    Send,
    Shutdown,
    Slot,
    Ticked,
    VendAsked,
    Withdraw,
)
from kiosk.hardware.vend import VendRequest, VendResult

log = logging.getLogger(__name__)
BAUD = 115_200
SHUTDOWN_VEND_WAIT_S = 8.0
Transcript = Callable[[str, str], None]  # ("->" sent | "<-" received, line)


class LinePort(Protocol):
    def write_line(self, line: str) -> None: ...
    def read_line(self, timeout_s: float) -> bytes | None: ...  # None: no whole line yet
    def wake(self) -> None: ...  # any thread: a waiting read_line returns now
    def close(self) -> None: ...


class SerialLines:
    """A serial port (or a pseudo-terminal) as lines, through pyserial."""

    def __init__(self, path: str, baud: int = BAUD) -> None:
        import serial  # the kiosk without an MDB HAT does not need it loaded

        self._serial = serial.Serial(path, baud, timeout=0.05, write_timeout=2.0)
        self._buffer = bytearray()

    def write_line(self, line: str) -> None:
        self._serial.write(line.encode("ascii") + b"\n")
        self._serial.flush()

    def read_line(self, timeout_s: float) -> bytes | None:
        if (raw := self._take()) is not None:
            return raw
        self._serial.timeout = timeout_s  # a `wake` ends the wait early
        self._buffer += self._serial.read(max(1, self._serial.in_waiting))
        return self._take()

    def _take(self) -> bytes | None:
        end = self._buffer.find(b"\n")
        if end >= 0:
            raw = bytes(self._buffer[: end + 1])
            del self._buffer[: end + 1]
            return raw
        if len(self._buffer) > 4 * lines.MAX_LINE:  # noise without line ends
            raw = bytes(self._buffer)
            self._buffer.clear()
            return raw
        return None

    def wake(self) -> None:
        self._serial.cancel_read()

    def close(self) -> None:
        self._serial.close()


@dataclass(frozen=True)
class LinkView:
    """For the attendant menu and the status page."""

    state: str
    results: tuple[str, ...]  # the last vend results, newest first


@dataclass
class _Waiter:
    done: threading.Event
    answer: Answer | None = None


class MdbDriver:
    def __init__(
        self,
        open_port: Callable[[], LinePort],
        rules: Rules,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        transcript: Transcript | None = None,
        tick_s: float = 0.25,  # deadlines are seconds; events from the kiosk wake the loop
        reopen_s: float = 5.0,
    ) -> None:
        self._open_port = open_port
        self.rules = rules
        self._monotonic = monotonic
        self._transcript = transcript or (lambda way, line: None)
        self._tick_s = tick_s
        self._reopen_s = reopen_s
        self._inbox: queue.Queue[Event] = queue.Queue()
        self.offers: queue.Queue[Offer | Withdraw] = queue.Queue()  # for the screen
        self._slot: Slot = new_slot(rules)
        self._port: LinePort | None = None
        self._next_open_at = 0.0
        self._waiter: _Waiter | None = None
        self._vend_lock = threading.Lock()
        self._results: collections.deque[str] = collections.deque(maxlen=5)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mdb", daemon=True)

    # ---- life cycle ---------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def close(self, timeout_s: float = 3.0) -> None:
        """Stop a session, disable the reader, close the port (SIGTERM path)."""
        if self._thread.is_alive():
            # goods may be on their way: let the machine say so before the session ends (a
            # bounded wait: the engine still needs most of systemd's TimeoutStopSec=60)
            deadline = time.monotonic() + min(self.rules.timing.vend_s, SHUTDOWN_VEND_WAIT_S)
            while self._slot.state is Reader.VENDING and time.monotonic() < deadline:
                time.sleep(0.05)
            self._post(Shutdown())
            self._thread.join(timeout_s)
        self._close_port()

    # ---- the kiosk's side ---------------------------------------------------------------

    def vend(self, request: VendRequest) -> VendResult:
        """The sale engine's call once PayPay confirmed the payment (or the credit)."""
        with self._vend_lock:
            waiter = _Waiter(threading.Event())
            self._waiter = waiter
            self._post(VendAsked(request.merchant_payment_id, request.amount_yen))
            if not waiter.done.wait(self._answer_bound_s()):
                self._post(Abandoned(request.merchant_payment_id))
                self._waiter = None
                log.error("mdb driver did not answer mpid=%s", request.merchant_payment_id)
                return VendResult(False, "MDB driver did not answer")
            answer = waiter.answer
            assert answer is not None
        return VendResult(answer.ok, f"mdb: {answer.detail}", answer.amount_yen)

    def bind(self, selection: int, merchant_payment_id: str) -> None:
        self._post(Bound(selection, merchant_payment_id))

    def abandon(self, merchant_payment_id: str) -> None:
        self._post(Abandoned(merchant_payment_id))

    def _post(self, event: Event) -> None:
        self._inbox.put(event)
        port = self._port
        if port is not None:  # closing meanwhile: the loop sees the event anyway
            with contextlib.suppress(OSError, ValueError):
                port.wake()

    @property
    def slot(self) -> Slot:
        """The reader's current record (a frozen snapshot)."""
        return self._slot

    def view(self) -> LinkView:
        return LinkView(self._slot.state.value, tuple(reversed(self._results)))

    def _answer_bound_s(self) -> float:
        t = self.rules.timing
        return t.start_s + t.session_s + t.vend_s + t.configure_s + 5.0

    # ---- the loop -----------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while self._slot.state is not Reader.STOPPED:
                self._once()
        except Exception:  # never silent: the engine's vend() still gets an answer
            log.exception("mdb loop crashed")
            self._answer(Answer(False, "MDB driver crashed"))
        finally:
            self._close_port()

    def _once(self) -> None:
        if self._port is None:
            self._try_open()
        port = self._port
        raw: bytes | None = None
        if port is not None:
            try:
                raw = port.read_line(self._tick_s)
            except (OSError, ValueError) as exc:  # pyserial's SerialException is an OSError
                self._lost(str(exc))
        else:
            time.sleep(self._tick_s)
        if raw is not None:
            self._transcript("<-", raw.decode("ascii", "replace").rstrip("\r\n"))
            self._feed(lines.parse(raw))
        while True:
            try:
                event = self._inbox.get_nowait()
            except queue.Empty:
                break
            self._feed(event)
        self._feed(Ticked())

    def _try_open(self) -> None:
        now = self._monotonic()
        if now < self._next_open_at or self._slot.state is not Reader.OFFLINE:
            return
        self._next_open_at = now + self._reopen_s
        try:
            self._port = self._open_port()
        except (OSError, ValueError) as exc:
            log.error("mdb port cannot be opened error=%s", exc)
            return
        self._feed(Opened())

    def _lost(self, reason: str) -> None:
        self._close_port()
        self._feed(LinkLost(reason))

    def _close_port(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except OSError as exc:
                log.warning("mdb port close failed error=%s", exc)

    def _feed(self, event: Event) -> None:
        try:
            self._slot, commands = step(self._slot, event, self._monotonic())
        except EventNotAccepted as exc:
            log.warning("mdb %s", exc)
            return
        for command in commands:
            self._do(command)

    def _do(self, command: Command) -> None:
        if isinstance(command, Send):
            self._send(command.line)
        elif isinstance(command, Answer):
            self._answer(command)
        elif isinstance(command, Offer | Withdraw):
            self.offers.put(command)
            if isinstance(command, Withdraw):
                self._results.append(f"selection {command.selection}: {command.reason}")
        elif isinstance(command, Note):
            log.info("mdb %s state=%s", command.text, self._slot.state.value)

    def _send(self, line: str) -> None:
        port = self._port
        if port is None:
            return
        self._transcript("->", line)
        try:
            port.write_line(line)
        except (OSError, ValueError) as exc:
            self._lost(str(exc))

    def _answer(self, answer: Answer) -> None:
        what = "vended" if answer.ok else "not vended"
        item = "" if answer.item is None else f" item {answer.item}"
        self._results.append(f"{what}{item}: {answer.detail}")
        log.info("mdb vend result ok=%s detail=%s", answer.ok, answer.detail)
        waiter, self._waiter = self._waiter, None
        if waiter is not None:
            waiter.answer = answer
            waiter.done.set()


def hat_version(path: str, timeout_s: float = 2.0) -> str | None:
    """Ask the HAT on `path` for its version (`V`); None when it does not answer in time.
    For `kiosk doctor`: the kiosk must not be running (it owns the port)."""
    port = SerialLines(path)
    try:
        port.write_line(lines.ask_version())
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            raw = port.read_line(left)
            message = lines.parse(raw) if raw is not None else None
            if isinstance(message, lines.Version):
                return message.text
        return None
    finally:
        port.close()
