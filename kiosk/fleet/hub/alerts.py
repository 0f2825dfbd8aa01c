"""Alerts: a silent kiosk and a held sale, raised once, cleared once, told to a person.

Why / invariants: the alert's state lives in the ledger (`alerts`, one open row per kiosk,
kind and subject), so a hub restart neither repeats nor forgets an alert; every raise and
clear is one log line (`fleet alert ...`) and, when configured, an apprise notification sent
from its own thread, so a slow mail or chat service never delays the ledger.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kiosk.fleet.hub.ledger import Db, ts

log = logging.getLogger(__name__)
SILENT = "silent"
HELD = "held"
GAP = "gap"


@dataclass(frozen=True)
class Alert:
    kiosk: str
    kind: str
    subject: str
    detail: str
    raised: bool  # False: cleared

    def line(self) -> str:
        verb = "raised" if self.raised else "cleared"
        subject = self.subject or "-"
        return (
            f"fleet alert {verb} kind={self.kind} kiosk={self.kiosk} subject={subject}"
            f" detail={self.detail}"
        )


def raise_alert(
    db: Db, kiosk: str, kind: str, subject: str, detail: str, at: float
) -> Alert | None:
    row = db.execute(
        "INSERT INTO alerts (kiosk, kind, subject, detail, raised_at) VALUES (%s,%s,%s,%s,%s)"
        " ON CONFLICT (kiosk, kind, subject) WHERE cleared_at IS NULL DO NOTHING RETURNING id",
        (kiosk, kind, subject, detail, ts(at)),
    ).fetchone()
    return Alert(kiosk, kind, subject, detail, True) if row else None


def clear_alert(
    db: Db, kiosk: str, kind: str, subject: str, detail: str, at: float
) -> Alert | None:
    row = db.execute(
        "UPDATE alerts SET cleared_at=%s WHERE kiosk=%s AND kind=%s AND subject=%s"
        " AND cleared_at IS NULL RETURNING id",
        (ts(at), kiosk, kind, subject),
    ).fetchone()
    return Alert(kiosk, kind, subject, detail, False) if row else None


def check_silent(db: Db, now: float, silent_s: float) -> list[Alert]:
    """Raise for kiosks not heard from for `silent_s`; clear for those heard again."""
    changes: list[Alert] = []
    cutoff = ts(now - silent_s)
    with db.transaction():
        quiet = db.execute(
            "SELECT kiosk, last_seen FROM kiosks WHERE last_seen < %s", (cutoff,)
        ).fetchall()
        for kiosk, last_seen in quiet:
            detail = f"no message since {last_seen.isoformat(timespec='seconds')}"
            alert = raise_alert(db, kiosk, SILENT, "", detail, now)
            if alert:
                changes.append(alert)
        back = db.execute(
            "SELECT a.kiosk FROM alerts a JOIN kiosks k USING (kiosk) WHERE a.kind=%s"
            " AND a.cleared_at IS NULL AND k.last_seen >= %s",
            (SILENT, cutoff),
        ).fetchall()
        for (kiosk,) in back:
            alert = clear_alert(db, kiosk, SILENT, "", "heard again", now)
            if alert:
                changes.append(alert)
    return changes


def open_alerts(db: Db) -> list[tuple[str, str, str, str, Any]]:
    return db.execute(
        "SELECT kiosk, kind, subject, detail, raised_at FROM alerts WHERE cleared_at IS NULL"
        " ORDER BY raised_at"
    ).fetchall()


Send = Callable[[str, str], bool]  # (title, body) -> delivered


def apprise_sender(urls: Sequence[str]) -> Send | None:
    """An apprise notifier for the operator's targets (mail, chat, ...); None without any."""
    if not urls:
        return None
    import warnings

    with warnings.catch_warnings():  # apprise's PGP helper imports the deprecated imghdr
        warnings.simplefilter("ignore", DeprecationWarning)
        import apprise
        import apprise.utils.pgp

    targets = apprise.Apprise()
    for url in urls:
        if not targets.add(url):
            raise ValueError("an alert target URL is not understood by apprise (check its scheme)")

    def send(title: str, body: str) -> bool:
        return bool(targets.notify(title=title, body=body))

    return send


class Announcer:
    """Logs each alert at once and hands it to `send` on its own thread."""

    def __init__(self, send: Send | None) -> None:
        self.send = send
        self.sent: list[Alert] = []  # delivered (tests read it)
        self._queue: queue.SimpleQueue[Alert | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="fleet-alerts", daemon=True)
        if send is not None:
            self._thread.start()

    def announce(self, alert: Alert) -> None:
        (log.warning if alert.raised else log.info)(alert.line())
        if self.send is not None:
            self._queue.put(alert)

    def close(self) -> None:
        if self.send is not None:
            self._queue.put(None)
            self._thread.join(10)

    def _run(self) -> None:
        assert self.send is not None
        while (alert := self._queue.get()) is not None:
            title = f"kiosk {alert.kiosk}: {alert.kind} {'raised' if alert.raised else 'cleared'}"
            try:
                if self.send(title, alert.line()):
                    self.sent.append(alert)
                else:
                    log.warning(
                        "fleet alert not delivered kiosk=%s kind=%s", alert.kiosk, alert.kind
                    )
            except Exception as exc:  # a notification service's failure is not the hub's
                log.warning(
                    "fleet alert delivery failed kiosk=%s error=%s", alert.kiosk, type(exc).__name__
                )
