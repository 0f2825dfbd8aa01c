"""When the hub reconciles: once a night, at `hour` JST, the day before.

Why its own small piece: the schedule is pure arithmetic on a clock parameter (tested exactly)
and the thread only waits and calls; a failed run is logged and retried the next night (or
by hand with `kiosk hub reconcile --day`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta

from kiosk.domain import JST

log = logging.getLogger(__name__)


def next_run(now: float, hour: int) -> tuple[float, date]:
    """(when, which day to reconcile) of the next nightly run after `now`."""
    local = datetime.fromtimestamp(now, JST)
    at = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if at <= local:
        at += timedelta(days=1)
    return at.timestamp(), (at - timedelta(days=1)).date()


class Nightly:
    def __init__(
        self,
        hour: int,
        run: Callable[[date], object],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.hour = hour
        self.run = run
        self.clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="hub-nightly", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _loop(self) -> None:
        while True:
            at, day = next_run(self.clock(), self.hour)
            if self._stop.wait(max(0.0, at - self.clock())):
                return
            try:
                self.run(day)
            except Exception:
                log.exception("nightly reconciliation failed day=%s", day)
