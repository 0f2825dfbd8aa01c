"""Vend adapters with real processes and gpiozero's mock pins."""

from __future__ import annotations

import sys
from pathlib import Path

from kiosk.domain import SaleSettings
from kiosk.hardware.vend import (
    CommandVendor,
    GpioVendor,
    NoVendor,
    VendRequest,
    build_vendor,
    mock_pin_factory,
)

REQUEST = VendRequest("K1-20260101-abc", 150, "Cola")


def test_none_always_vends() -> None:
    assert NoVendor().vend(REQUEST).ok


def test_command_gets_the_sale_details_and_exit_zero_means_vended(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    script = (
        "import os,sys; open(sys.argv[1],'w').write("
        "sys.argv[2]+' '+os.environ['KIOSK_AMOUNT_YEN']+' '+os.environ['KIOSK_DESCRIPTION'])"
    )
    vendor = CommandVendor(
        (sys.executable, "-c", script, str(out), "{merchant_payment_id}"), timeout_s=20
    )
    result = vendor.vend(REQUEST)
    assert result.ok, result.detail
    assert out.read_text() == "K1-20260101-abc 150 Cola"


def test_command_non_zero_exit_is_a_failed_vend_with_the_reason() -> None:
    script = "import sys; sys.stderr.write('motor jammed\\n'); sys.exit(3)"
    result = CommandVendor((sys.executable, "-c", script), timeout_s=20).vend(REQUEST)
    assert not result.ok
    assert result.detail == "exit 3: motor jammed"


def test_command_timeout_kills_it_and_fails(tmp_path: Path) -> None:
    marker = tmp_path / "late"
    script = f"import time; time.sleep(30); open({str(marker)!r},'w')"
    result = CommandVendor((sys.executable, "-c", script), timeout_s=0.5).vend(REQUEST)
    assert (result.ok, result.detail) == (False, "timeout after 0.5 s")
    assert not marker.exists()


def test_missing_program_is_a_failed_vend() -> None:
    result = CommandVendor(("/nonexistent/vend-motor",), timeout_s=5).vend(REQUEST)
    assert not result.ok and result.detail.startswith("cannot start")


def test_gpio_pulses_the_pin_high_then_low() -> None:
    factory = mock_pin_factory()
    slept: list[float] = []
    vendor = GpioVendor(17, 0.25, pin_factory=factory, sleep=slept.append)
    pin = factory.pin(17)
    assert pin.state is False or pin.state == 0
    assert vendor.vend(REQUEST).ok
    assert slept == [0.25]
    assert [bool(s.state) for s in pin.states] == [False, True, False]
    vendor.close()
    factory.close()


def test_build_vendor_from_settings() -> None:
    settings = SaleSettings(terminal_id="K1", vend="command", vend_command=("true",))
    assert isinstance(build_vendor(settings), CommandVendor)
    assert isinstance(build_vendor(SaleSettings(terminal_id="K1")), NoVendor)
