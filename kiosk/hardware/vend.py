"""Vend adapters: hand the goods out once PayPay has the money.

Why: the engine only needs "did the goods come out?". Each adapter answers that within a
bounded time and never raises: a crash, a missing program or a timeout is a failed vend,
which the sale machine turns into a refund (plain) or a revert (preauth).

- `none`: display only (a shop counter); always succeeds.
- `command`: run a configured program; exit code 0 means vended. Placeholders
  `{merchant_payment_id}`, `{amount_yen}`, `{description}` in its arguments are filled in, and
  the same values are in the environment as KIOSK_MERCHANT_PAYMENT_ID, KIOSK_AMOUNT_YEN,
  KIOSK_DESCRIPTION. That environment is the whole of it, beside PATH and LANG: the kiosk's own
  (PayPay key and secret, systemd's credential paths, KIOSK_* settings) never reaches the
  program. On timeout the whole process group is killed.
- `gpio`: pulse an output pin through gpiozero (its MockFactory off the Pi).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import string
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from kiosk.domain import SaleSettings

log = logging.getLogger(__name__)

CHILD_BASE = {"PATH": os.defpath, "LANG": "C.UTF-8"}  # all a vend program gets, and its defaults
FIELDS = ("merchant_payment_id", "amount_yen", "description")  # the {placeholders} filled in


def template_problem(argv: tuple[str, ...]) -> str | None:
    """Why `argv` cannot be filled in for a sale (an unknown or malformed {placeholder}), or
    None. Checked with the configuration, so a bad command never surfaces at the first vend."""
    allowed = ", ".join("{" + f + "}" for f in FIELDS)
    for part in argv:
        try:
            parsed = list(string.Formatter().parse(part))
        except ValueError:
            return f"a stray brace in {part!r} (write {{{{ or }}}} for a brace itself)"
        for _, name, spec, conversion in parsed:
            if name is not None and (name not in FIELDS or spec or conversion):
                shown = name + (f"!{conversion}" if conversion else "")
                shown += f":{spec}" if spec else ""
                return f"{{{shown}}} is not one of {allowed}"
    return None


@dataclass(frozen=True)
class VendRequest:
    merchant_payment_id: str
    amount_yen: int
    description: str


@dataclass(frozen=True)
class VendResult:
    ok: bool
    detail: str = ""
    amount_yen: int | None = None  # what was vended, when the machine chose (MDB credit first)


class Vendor(Protocol):
    def vend(self, request: VendRequest) -> VendResult: ...


class NoVendor:
    """Display only: the attendant hands the goods over."""

    def vend(self, request: VendRequest) -> VendResult:
        return VendResult(True, "display only")


class CommandVendor:
    def __init__(
        self, argv: tuple[str, ...], timeout_s: float, environ: Mapping[str, str] = os.environ
    ) -> None:
        if not argv:
            raise ValueError("vend command is empty")
        problem = template_problem(argv)
        if problem:
            raise ValueError(f"vend command: {problem}")
        self.argv = argv
        self.timeout_s = timeout_s
        # the base is taken once, from the kiosk's environment: PATH and LANG only
        self.base_env = {name: environ.get(name) or value for name, value in CHILD_BASE.items()}

    def vend(self, request: VendRequest) -> VendResult:
        values = {
            "merchant_payment_id": request.merchant_payment_id,
            "amount_yen": str(request.amount_yen),
            "description": request.description,
        }
        argv = [part.format(**values) for part in self.argv]
        env = dict(self.base_env)
        env.update({f"KIOSK_{k.upper()}": v for k, v in values.items()})
        try:
            proc = subprocess.Popen(
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            log.error("vend command failed to start argv0=%s error=%s", argv[0], exc)
            return VendResult(False, f"cannot start: {exc.strerror or exc}")
        try:
            _, err = proc.communicate(timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            log.error("vend command timed out mpid=%s", request.merchant_payment_id)
            return VendResult(False, f"timeout after {self.timeout_s:g} s")
        if proc.returncode != 0:
            tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] if err else []
            detail = f"exit {proc.returncode}" + (f": {tail[0][:120]}" if tail else "")
            log.error("vend command failed mpid=%s %s", request.merchant_payment_id, detail)
            return VendResult(False, detail)
        return VendResult(True, "exit 0")


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()  # reap it and close its pipe


class GpioVendor:
    """Pulse one output pin high for `pulse_s` (a relay on the vending machine's coin line)."""

    def __init__(
        self,
        pin: int,
        pulse_s: float,
        *,
        pin_factory: Any = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        from gpiozero import DigitalOutputDevice  # optional dependency, only for this adapter

        self.device = DigitalOutputDevice(pin, initial_value=False, pin_factory=pin_factory)
        self.pulse_s = pulse_s
        self._sleep = sleep

    def vend(self, request: VendRequest) -> VendResult:
        try:
            self.device.on()
            self._sleep(self.pulse_s)
        except Exception as exc:  # any driver error is a failed vend, never a crash
            log.error("gpio vend failed mpid=%s error=%s", request.merchant_payment_id, exc)
            return VendResult(False, f"gpio: {exc}")
        finally:
            self.device.off()
        return VendResult(True, f"pulsed {self.pulse_s:g} s")

    def close(self) -> None:
        self.device.close()


def mock_pin_factory() -> Any:
    """gpiozero's mock pins, for running the gpio adapter off the Pi."""
    from gpiozero.pins.mock import MockFactory

    return MockFactory()


def build_vendor(settings: SaleSettings, *, pin_factory: Any = None) -> Vendor:
    if settings.vend == "mdb":  # a serial driver with a life cycle: kiosk.commands.mdb
        raise ValueError("vend = 'mdb' is built by kiosk.commands.mdb.open_mdb")
    if settings.vend == "command":
        return CommandVendor(settings.vend_command, settings.vend_timeout_s)
    if settings.vend == "gpio":
        if settings.vend_gpio_pin is None:
            raise ValueError("vend = 'gpio' needs vend_gpio_pin")
        return GpioVendor(settings.vend_gpio_pin, settings.vend_pulse_s, pin_factory=pin_factory)
    return NoVendor()
