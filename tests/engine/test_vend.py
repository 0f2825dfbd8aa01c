"""Vend adapters with real processes and gpiozero's mock pins."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from kiosk.domain import SaleSettings
from kiosk.hardware.vend import (
    CommandVendor,
    GpioVendor,
    NoVendor,
    VendRequest,
    build_vendor,
    mock_pin_factory,
    template_problem,
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


DUMP_ENV = "import json,os,sys; open(sys.argv[1],'w').write(json.dumps(dict(os.environ)))"


def test_the_vend_program_gets_the_sale_and_path_and_lang_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kiosk's environment holds the PayPay key and secret, systemd's credential paths and
    KIOSK_* settings; the child, dumping its own environment, sees none of them."""
    secrets = {
        "PAYPAY_API_KEY": "vend-key-3f9a",
        "PAYPAY_API_SECRET": "vend-secret-8c1d",
        "CREDENTIALS_DIRECTORY": "/run/credentials/kiosk.service",
        "KIOSK_ATTENDANT_PIN_HASH": "pbkdf2_sha256$1000$c2FsdA==$aGFzaA==",
        "NOTIFY_SOCKET": "/run/systemd/notify",
        "LANG": "ja_JP.UTF-8",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    dump = tmp_path / "env.json"
    vendor = CommandVendor((sys.executable, "-c", DUMP_ENV, str(dump)), timeout_s=20)
    result = vendor.vend(REQUEST)
    assert result.ok, result.detail
    seen = json.loads(dump.read_text())
    seen.pop("LC_CTYPE", None)  # Python itself may add it (PEP 538 locale coercion)
    assert seen == {
        "PATH": os.environ["PATH"],
        "LANG": "ja_JP.UTF-8",
        "KIOSK_MERCHANT_PAYMENT_ID": "K1-20260101-abc",
        "KIOSK_AMOUNT_YEN": "150",
        "KIOSK_DESCRIPTION": "Cola",
    }
    text = dump.read_text()
    assert "vend-key-3f9a" not in text and "vend-secret-8c1d" not in text


def test_without_path_or_lang_the_child_gets_safe_defaults(tmp_path: Path) -> None:
    dump = tmp_path / "env.json"
    vendor = CommandVendor(
        (sys.executable, "-c", DUMP_ENV, str(dump)), timeout_s=20, environ={"HOME": "/root"}
    )
    assert vendor.vend(REQUEST).ok
    seen = json.loads(dump.read_text())
    assert (seen["PATH"], seen["LANG"], "HOME" in seen) == (os.defpath, "C.UTF-8", False)


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (("vend", "{sku}"), "{sku} is not one of {merchant_payment_id}, {amount_yen}"),
        (("vend", "{amount_yen!r}"), "{amount_yen!r} is not one of"),
        (("vend", "{description.upper}"), "{description.upper} is not one of"),
        (("vend", "{"), "a stray brace in '{'"),
        (("vend", "}x"), "a stray brace in '}x'"),
    ],
)
def test_a_command_with_a_placeholder_nobody_fills_is_refused_up_front(
    argv: tuple[str, ...], problem: str
) -> None:
    assert problem in (template_problem(argv) or "")
    with pytest.raises(ValueError, match="vend command: "):
        CommandVendor(argv, timeout_s=5)


def test_literal_braces_and_known_placeholders_are_fine() -> None:
    assert template_problem(("vend", "{{json}}", "{amount_yen}", "{merchant_payment_id}")) is None


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
