"""The kiosk's side of the fleet: its publisher, its health snapshot and the hub's commands.

Why / invariants:
- built only when `fleet.url` is set; a kiosk alone never imports paho;
- every command is answered by a `reply` fact through the outbox (so the answer survives a
  broker outage like any fact) and logged here; a command older than `COMMAND_MAX_AGE_S`, one
  that would interrupt a sale in progress, or one we cannot read is refused with the reason;
- commands arrive on paho's thread and only set flags or queue messages for the runner: they
  never wait for the engine, and the engine never waits for them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from kiosk.config import Config
from kiosk.domain import SaleView, ServiceIssue
from kiosk.engine.journal import Journal
from kiosk.fleet.catalogue import Catalogue, CatalogueStore, parse_catalogue
from kiosk.fleet.outbox import OutboxReader
from kiosk.fleet.publisher import BrokerSettings, Publisher
from kiosk.fleet.schema import KIND_REPLY, Command, PayloadError, parse_command

log = logging.getLogger(__name__)
COMMAND_MAX_AGE_S = 300.0
POLL_MAX_AGE_S = 30.0  # an older nudge is about a sale long decided


class Engine(Protocol):
    """What the link needs of kiosk.engine.runner.Runner."""

    def current_sale(self) -> SaleView | None: ...

    def service_issue(self) -> ServiceIssue | None: ...

    def set_out_of_service(self, on: bool, reason: str = ...) -> None: ...

    def reconcile_now(self) -> None: ...

    def poll_now(self, merchant_payment_id: str) -> None: ...

    def held_sales(self) -> list[Any]: ...


def broker_settings(config: Config, password: str) -> BrokerSettings:
    f = config.fleet
    return BrokerSettings(
        url=f.url,
        kiosk=config.terminal_id,
        prefix=f.topic_prefix,
        username=f.username or config.terminal_id,
        password=password,
        ca_file=f.ca_file,
        max_rate_per_s=f.max_rate_per_s,
        health_s=f.health_s,
    )


class FleetLink:
    def __init__(
        self,
        settings: BrokerSettings,
        journal: Journal,
        engine: Engine,
        *,
        clock: Callable[[], float] = time.time,
        store: CatalogueStore | None = None,
    ) -> None:
        self.journal = journal
        self.engine = engine
        self.clock = clock
        self.store = store  # None: this kiosk takes keyed amounts, no catalogue
        self.catalogue = self._kept()
        self._pending = self.catalogue  # the screen takes it between sales
        self._lock = threading.Lock()
        self.publisher = Publisher(
            settings,
            OutboxReader(journal.path),
            record=journal.record_fact,
            health=self.health,
            on_command=self.on_command,
            clock=clock,
        )

    def _kept(self) -> Catalogue | None:
        try:
            return self.store.load() if self.store else None
        except PayloadError as exc:
            log.error("fleet catalogue not used error=%s", exc)
            return None

    def take_catalogue(self) -> Catalogue | None:
        """A catalogue to show from now on (the UI thread asks between sales), once."""
        with self._lock:
            pending, self._pending = self._pending, None
        return pending

    def start(self) -> None:
        self.publisher.start()

    def stop(self, drain_s: float = 2.0) -> None:
        """After the engine stopped: its last facts get `drain_s` to reach the broker."""
        self.publisher.stop(drain_s=drain_s)

    def health(self) -> dict[str, Any]:
        sale = self.engine.current_sale()
        issue = self.engine.service_issue()
        return {
            "screen": sale.phase.value if sale else ("out_of_service" if issue else "idle"),
            "issue": issue.value if issue else None,
            "held": len(self.engine.held_sales()),
        }

    # ---- commands (paho's thread) -------------------------------------------------------------

    def on_command(self, payload: bytes) -> None:
        try:
            command = parse_command(payload)
        except PayloadError as exc:
            log.warning("fleet command refused error=%s", exc)
            self._reply("?", "rejected", str(exc))
            return
        age = self.clock() - command.issued_at
        if command.kind == "poll":  # a hint (the hub saw the payment): no reply, mid-sale is fine
            if age <= POLL_MAX_AGE_S:
                self.engine.poll_now(command.merchant_payment_id)
            log.info("fleet nudge mpid=%s age_s=%.1f", command.merchant_payment_id, age)
            return
        log.info("fleet command received id=%s kind=%s", command.command_id, command.kind)
        if age > COMMAND_MAX_AGE_S:
            self._reply(command.command_id, "refused", f"stale: issued {age:.0f} s ago")
            return
        if self.engine.current_sale() is not None:
            self._reply(command.command_id, "refused", "a sale is in progress")
            return
        if command.kind == "catalogue":
            self._catalogue(command)
            return
        if command.kind == "reconcile":
            self.engine.reconcile_now()
        else:
            off = command.kind == "out_of_service"
            self.engine.set_out_of_service(off, reason=command.reason or "remote")
        self._reply(command.command_id, "applied", "")

    def _catalogue(self, command: Command) -> None:
        if self.store is None:
            self._reply(command.command_id, "refused", "this kiosk takes keyed amounts")
            return
        try:
            new = parse_catalogue(command.document)
        except PayloadError as exc:
            self._reply(command.command_id, "rejected", str(exc))
            return
        current = self.catalogue.version if self.catalogue else 0
        if new.version <= current:
            reason = f"version {new.version} is not newer than {current}"
            self._reply(command.command_id, "refused", reason)
            return
        self.store.save(new)  # the last good one, kept across restarts
        with self._lock:
            self.catalogue = self._pending = new
        self._reply(command.command_id, "applied", f"version {new.version}")

    def _reply(self, command_id: str, result: str, reason: str) -> None:
        (log.info if result == "applied" else log.warning)(
            "fleet command %s id=%s reason=%s", result, command_id, reason or "-"
        )
        data = {"command_id": command_id, "result": result, "reason": reason}
        self.journal.record_fact(KIND_REPLY, data, self.clock())
