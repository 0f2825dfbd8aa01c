"""key=value log lines for journald, and the redaction that keeps secrets out of them."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterator

import pytest

from kiosk.ops.logs import KeyValueFormatter, Redactor, quote, setup_logging

KEY = "kiosk_key_5b2d71"
SECRET = "kiosk_secret_e4a9c38f"
PIN = "739184"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, threading.excepthook)
    setup_logging("debug", Redactor([KEY, SECRET, PIN]), env={}, stream=stream)
    yield stream
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])
    threading.excepthook = saved[2]
    logging.captureWarnings(False)


def test_key_value_line_with_extras(captured: io.StringIO) -> None:
    logging.getLogger("kiosk.engine.runner").info(
        "qr created", extra={"merchant_payment_id": "KIOSK-1", "amount_yen": 150}
    )
    line = captured.getvalue()
    assert line.endswith(
        'level=info logger=kiosk.engine.runner msg="qr created" merchant_payment_id=KIOSK-1 '
        "amount_yen=150\n"
    )
    assert line.startswith("ts=")


def test_levels_filter(captured: io.StringIO) -> None:
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("kiosk").info("quiet")
    logging.getLogger("kiosk").warning("loud")
    assert "quiet" not in captured.getvalue()
    assert "level=warning" in captured.getvalue()


def test_secrets_never_reach_a_line(captured: io.StringIO) -> None:
    log = logging.getLogger("kiosk.opa")
    log.info("key is %s", KEY)
    log.info("secret in message " + SECRET)
    log.warning("extra", extra={"auth": f"hmac OPA-Auth:{KEY}:bWFj:a1b2:1700000000:empty"})
    log.info("pin entered", extra={"pin": PIN})
    log.info("hash", extra={"stored": "pbkdf2_sha256$1000$c2FsdA==$aGFzaA=="})
    try:
        raise ValueError(f"bad secret {SECRET}")
    except ValueError:
        log.exception("call failed")
    text = captured.getvalue()
    for needle in (KEY, SECRET, PIN, "bWFj", "aGFzaA=="):
        assert needle not in text
    assert text.count("[redacted]") == 6
    assert len(text.splitlines()) == 6  # the traceback stays on its line


def test_thread_exceptions_are_logged_redacted(captured: io.StringIO) -> None:
    def boom() -> None:
        raise RuntimeError(f"leak {SECRET}")

    thread = threading.Thread(target=boom, name="worker")
    thread.start()
    thread.join()
    text = captured.getvalue()
    assert "level=critical" in text and "thread=worker" in text and "RuntimeError" in text
    assert SECRET not in text


def test_journald_lines_carry_the_syslog_priority() -> None:
    formatter = KeyValueFormatter(Redactor(), journald=True)
    record = logging.LogRecord("kiosk", logging.ERROR, "f", 1, "down", (), None)
    assert formatter.format(record) == "<3>level=error logger=kiosk msg=down"


def test_quote() -> None:
    assert quote("plain") == "plain"
    assert quote("two words") == '"two words"'
    assert quote('a "b"\nc') == '"a \\"b\\"\\nc"'
    assert quote("") == '""'


def test_short_strings_are_not_treated_as_secrets() -> None:
    redactor = Redactor(["ab"])
    assert redactor("about") == "about"
