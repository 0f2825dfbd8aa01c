"""Log lines for journald: one `key=value` line per record on stdout, secrets redacted.

Why: journald stores stdout line by line, so a traceback must stay on one line (newlines are
escaped) and the level travels as a `<N>` syslog prefix that journald turns into the entry's
priority (only when `$JOURNAL_STREAM` says stdout is the journal). Invariant: every line passes
the `Redactor` after formatting, so a configured secret (API key, API secret, a PIN it was told
about) cannot appear in a message, an argument, an extra field or a traceback, and neither can
an `OPA-Auth` header's MAC or a PIN hash, whatever a caller logs.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
SYSLOG_PRIORITY = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}
REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 4  # shorter strings would blank out ordinary words and numbers
PATTERNS = (
    re.compile(r"(OPA-Auth:)[^\s\"',}]+"),  # an Authorization header: key, MAC, nonce, ...
    re.compile(r"(pbkdf2_sha256\$)[^\s\"',}]+"),  # a PIN hash (a short PIN is brute-forceable)
)
_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


class Redactor:
    """Replaces known secrets and secret-shaped text. Thread-safe to call; `add` at start-up."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        if len(secret) >= MIN_SECRET_LENGTH and secret not in self._secrets:
            # longest first, so a secret containing another is hidden whole
            self._secrets = sorted([*self._secrets, secret], key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        for pattern in PATTERNS:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        return text


def quote(value: object) -> str:
    """A logfmt value: bare when safe, else double-quoted with escapes; always one line."""
    text = str(value)
    if text and not any(c in text for c in ' "=\\\n\r\t') and text.isprintable():
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{escaped}"'


class KeyValueFormatter(logging.Formatter):
    """`level=info logger=kiosk.engine.runner msg="..." key=value ... exc="..."`, then redaction."""

    def __init__(self, redactor: Redactor, *, journald: bool) -> None:
        super().__init__()
        self._redact = redactor
        self._journald = journald

    def format(self, record: logging.LogRecord) -> str:
        fields: list[tuple[str, object]] = []
        if not self._journald:  # journald stamps entries itself
            fields.append(("ts", self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z")))
        fields += [
            ("level", record.levelname.lower()),
            ("logger", record.name),
            ("msg", record.getMessage()),
        ]
        fields += [(k, v) for k, v in record.__dict__.items() if k not in _STANDARD_ATTRS]
        if record.exc_info:
            fields.append(("exc", self.formatException(record.exc_info)))
        line = " ".join(f"{key}={quote(value)}" for key, value in fields)
        line = self._redact(line)
        if self._journald:
            return f"<{SYSLOG_PRIORITY.get(record.levelno, 6)}>{line}"
        return line


def setup_logging(
    level: str,
    redactor: Redactor,
    *,
    env: Mapping[str, str],
    stream: TextIO | None = None,
) -> logging.Handler:
    """Route every logger (and uncaught exceptions in threads) to ``stream`` via the
    redacting formatter. Returns the handler so a test or the CLI can remove it."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stdout)
    handler.setFormatter(KeyValueFormatter(redactor, journald=bool(env.get("JOURNAL_STREAM"))))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(LEVELS[level])
    logging.captureWarnings(True)
    threading.excepthook = _log_thread_exception
    return handler


def _log_thread_exception(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    exc_info: Any = (args.exc_type, args.exc_value, args.exc_traceback)
    name = args.thread.name if args.thread else "?"
    logging.getLogger("kiosk").critical("uncaught exception thread=%s", name, exc_info=exc_info)
