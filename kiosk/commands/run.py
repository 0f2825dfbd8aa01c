"""`kiosk run`: configuration -> (demo simulator) -> PayPay client -> journal -> runner -> UI.

Why / invariants:
- nothing is sold before the configuration, the credentials, the run lock and the journal are
  all good: each failure ends with its own exit code and a line that says what to do;
- the UI loop owns the main thread; SIGTERM/SIGINT only set a flag the loop checks between
  turns (at most a quarter second), then the runner withdraws a live QR and records the
  outcome (`Runner.stop`) within `STOP_BUDGET_S`, well inside the unit's TimeoutStopSec=60;
- the status file and systemd's STATUS= follow the loop: every notify call from the UI (READY,
  STATUS, WATCHDOG every 2 s) also refreshes the status file, so a frozen loop shows as stale
  both to systemd's watchdog and to `kiosk status`.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import astuple, dataclass, field, replace
from functools import partial
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Protocol

from kiosk.commands.common import (
    CommandError,
    ExitCode,
    load_secrets,
    require_credentials,
    state_source,
)
from kiosk.commands.fleetrun import fleet_sink, load_fleet_secret, start_fleet, take_catalogue
from kiosk.commands.mdb import MdbParts, MdbRunner, StartMachine, open_mdb
from kiosk.commands.paypay import DemoAuth, make_client
from kiosk.commands.settings import (
    ARCHIVE_DIRNAME,
    attendant_pin_hash,
    retention_of,
    to_sale_settings,
)
from kiosk.commands.uisettings import to_ui_settings
from kiosk.config import Config, Mode, VendAdapter
from kiosk.domain import ServiceIssue
from kiosk.engine.clock import ClockGuard, SystemClock
from kiosk.engine.journal import Journal, JournalError
from kiosk.engine.journal_schema import JournalDiskFull
from kiosk.engine.retention import Retention
from kiosk.engine.runner import Runner
from kiosk.hardware.mdb.feeder import Feeder
from kiosk.hardware.vend import Vendor, build_vendor
from kiosk.opa import ResponseInfo
from kiosk.ops.lock import KioskLock
from kiosk.ops.logs import Redactor, setup_logging
from kiosk.ops.notify import Notifier
from kiosk.ops.secrets import Credentials
from kiosk.ops.status import (
    HEARTBEAT_S,
    HealthServer,
    Status,
    StatusKeeper,
    place_status,
)
from kiosk.resources import FONT_FILE
from kiosk.ui.settings import UiSettings

if TYPE_CHECKING:
    from kiosk.fleet.link import FleetLink

log = logging.getLogger(__name__)

JOURNAL_FILENAME = "journal.sqlite3"
JOURNAL = ServiceIssue.JOURNAL
STOP_BUDGET_S = 45.0  # DELETE the QR (15 s), maybe cancel (15 s), record; TimeoutStopSec=60
TOTALS_EVERY_S = HEARTBEAT_S  # the README promises today's totals within 10 s


class DemoSimulator(Protocol):
    @property
    def base_url(self) -> str: ...

    def stop(self) -> None: ...


StartSimulator = Callable[[Config, Credentials | None], DemoSimulator]
AfterStart = Callable[[Runner], None]


@dataclass
class StopFlag:
    """Set by SIGTERM/SIGINT; the loop polls it. Signal handlers only set the event."""

    event: threading.Event = field(default_factory=threading.Event)
    signal_name: str = ""

    def install(self) -> None:
        def on_signal(signum: int, frame: FrameType | None) -> None:
            self.signal_name = signal.Signals(signum).name
            self.event.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)


class LoopNotify:
    """The `notify` callable the UI gets: forwards to systemd and keeps the status file in
    step with the runner whenever the loop speaks."""

    def __init__(
        self,
        notifier: Notifier,
        keeper: StatusKeeper,
        runner: Runner,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.notifier, self.keeper, self.runner = notifier, keeper, runner
        self.clock = clock
        self._totals_at = float("-inf")

    def __call__(self, message: str) -> None:
        if message == "WATCHDOG=1" and not self.runner.engine_alive():
            return  # a dead engine must not look alive: systemd's watchdog restarts us
        self.notifier(message)
        self.refresh()

    def refresh(self) -> None:
        sale = self.runner.current_sale()
        issue = self.runner.service_issue()
        state = "out_of_service" if issue and not sale else (sale.phase.value if sale else "idle")
        changes: dict[str, object] = {
            "state": state,
            "issue": issue.value if issue else None,
            "merchant_payment_id": sale.merchant_payment_id if sale else None,
            "journal": "cannot be written: run kiosk doctor" if issue is JOURNAL else "ok",
        }
        now = self.clock()
        if now - self._totals_at >= TOTALS_EVERY_S or (sale and sale.phase.value != "creating"):
            changes["totals"] = self.runner.totals_today()
            self._totals_at = now
        self.keeper.update(**changes)
        self.keeper.heartbeat()


def _on_response(
    guard: ClockGuard, keeper_box: list[StatusKeeper]
) -> Callable[[ResponseInfo], None]:
    def observe(info: ResponseInfo) -> None:
        guard.observe(info)
        if not keeper_box or not 200 <= info.status < 500:
            return
        # PayPay answered and we understood it; the file is rewritten at most every heartbeat
        last = keeper_box[0].current.last_paypay_ok_at
        if last is None or info.local_epoch - last >= HEARTBEAT_S:
            keeper_box[0].update(last_paypay_ok_at=info.local_epoch)

    return observe


def run_kiosk(
    config: Config,
    redactor: Redactor,
    *,
    env: dict[str, str] | os._Environ[str],
    demo: Callable[[], DemoAuth],
    start_simulator: StartSimulator,
    after_start: AfterStart | None = None,
    start_machine: StartMachine | None = None,
) -> int:
    """The whole kiosk, until SIGTERM (0), the attendant's exit (0) or a start-up error."""
    credentials = load_secrets(env)
    require_credentials(config, credentials)
    fleet_password = load_fleet_secret(config, env)
    for value in (*(credentials.values if credentials else ()), fleet_password):
        if value:
            redactor.add(value)
    setup_logging(config.log_level, redactor, env=env)
    state, why = state_source(config, env)
    log.info("state_dir path=%s source=%s", state, why)
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock = KioskLock(state)
    if not lock.acquire():
        raise CommandError(
            ExitCode.FAILED,
            f"another kiosk is already running with {state}; see systemctl status kiosk",
        )
    stop = StopFlag()
    stop.install()  # before SDL starts: SDL only installs its own handlers over SIG_DFL
    notifier = Notifier.from_env(env, os.getpid())
    started = time.time()
    keeper = StatusKeeper(
        place_status(state, env.get("RUNTIME_DIRECTORY")),
        Status("starting", os.getpid(), config.mode.value, started, started),
        clock=time.time,
    )
    try:
        ui_settings = to_ui_settings(config, attendant_pin_hash(config))
        _show_starting(ui_settings)  # "Starting…" on screen before the slower parts are built
        with _Parts(
            config,
            state,
            credentials_demo=(credentials, demo),
            start=start_simulator,
            start_machine=start_machine,
            fleet_password=fleet_password,
        ) as p:
            p.keeper_box.append(keeper)
            return _serve(config, p, ui_settings, keeper, notifier, stop, after_start)
    finally:
        keeper.update(state="stopped", merchant_payment_id=None)
        lock.release()


def _serve(
    config: Config,
    parts: _Parts,
    ui_settings: UiSettings,
    keeper: StatusKeeper,
    notifier: Notifier,
    stop: StopFlag,
    after_start: AfterStart | None,
) -> int:
    runner = parts.runner
    if parts.mdb is not None:
        driver = parts.mdb.driver
        ui_settings = replace(ui_settings, hardware_status=lambda: astuple(driver.view()))
    runner.start()
    health = _health(config, keeper)
    log.info("kiosk_started mode=%s paypay=%s", config.mode.value, parts.target)
    try:
        notify = LoopNotify(notifier, keeper, runner)
        code = _loop(runner, parts.journal, ui_settings, notify, stop, after_start, parts.fleet)
    finally:
        log.info("kiosk_stopping signal=%s", stop.signal_name or "-")
        notifier.stopping("stopping: withdrawing any live QR")
        keeper.update(state="stopping")
        parts.before_stop()
        runner.stop(STOP_BUDGET_S)
        if health is not None:
            health.shutdown()
            health.server_close()
    log.info("kiosk_stopped code=%d", code)
    return code


def _show_starting(ui_settings: UiSettings) -> None:
    from kiosk.ui.app import show_starting
    from kiosk.ui.theme import ASSETS

    font = Path(ui_settings.assets_dir or ASSETS) / FONT_FILE
    if not font.is_file():  # not the display's fault: say what is missing
        raise CommandError(
            ExitCode.FAILED,
            f"the bundled font {font} is missing: this install lacks the package's assets; "
            "reinstall (sudo systemd/install.sh, or pip install the wheel)",
        )
    try:
        show_starting(ui_settings)  # pygame closes the display itself at exit
    except Exception as exc:  # pygame.error, and whatever a missing driver raises
        driver = os.environ.get("SDL_VIDEODRIVER", "default")
        raise CommandError(
            ExitCode.FAILED,
            f"cannot open the display (SDL_VIDEODRIVER={driver}): {exc}; run kiosk doctor",
        ) from None


def _loop(
    runner: Runner,
    journal: Journal,
    ui_settings: UiSettings,
    notify: LoopNotify,
    stop: StopFlag,
    after_start: AfterStart | None,
    fleet: FleetLink | None = None,
) -> int:
    from kiosk.ui.app import App, wait_for_events

    app = App(
        runner,
        ui_settings,
        notify=notify,
        clock=time.monotonic,
        event_source=wait_for_events,
        lockouts=journal,  # the PIN pad's lockout survives a restart
    )
    if after_start is not None:
        after_start(runner)
    while not stop.event.is_set():
        take_catalogue(app, fleet, runner)
        code = app.turn()
        if code is not None:
            return code  # the attendant chose "Exit kiosk"
        if not runner.engine_alive():
            log.error("kiosk_engine_stopped fault=%s", runner.worker.fault or "-")
            return int(ExitCode.ENGINE)  # non-zero: systemd restarts the kiosk
    return int(ExitCode.OK)


def _health(config: Config, keeper: StatusKeeper) -> HealthServer | None:
    if not config.healthz_port:
        return None
    server = HealthServer(config.healthz_port, lambda: keeper.current, time.time)
    server.start()
    return server


class _Parts:
    """Simulator (demo), client, journal and runner; closed in reverse order on exit."""

    def __init__(
        self,
        config: Config,
        state: Path,
        *,
        credentials_demo: tuple[Credentials | None, Callable[[], DemoAuth]],
        start: StartSimulator,
        start_machine: StartMachine | None = None,
        fleet_password: str = "",
    ) -> None:
        self.config, self.state, self.start = config, state, start
        self.start_machine = start_machine
        self.credentials, self.demo = credentials_demo
        self.fleet_password = fleet_password
        self.keeper_box: list[StatusKeeper] = []
        self.simulator: DemoSimulator | None = None
        self.mdb: MdbParts | None = None
        self.fleet: FleetLink | None = None

    def __enter__(self) -> _Parts:
        config = self.config
        settings = to_sale_settings(config)
        guard = ClockGuard(settings.clock_skew_limit_s)
        base_url = None
        if config.mode is Mode.DEMO and not config.simulator.url:
            self.simulator = self.start(config, self.credentials)
            base_url = self.simulator.base_url
        client, self.target = make_client(
            config,
            self.credentials,
            self.demo,
            base_url=base_url,
            on_response=_on_response(guard, self.keeper_box),
        )
        if client is None:
            raise CommandError(ExitCode.CONFIG, "no PayPay client could be built")
        self.client = client
        try:
            self.journal = Journal(self.state / JOURNAL_FILENAME, facts=fleet_sink(config))
        except JournalError as exc:
            self.close_network()
            keep = "" if isinstance(exc, JournalDiskFull) else ", keep a copy of the file"
            raise CommandError(ExitCode.JOURNAL, f"{exc}; run kiosk doctor{keep}") from None
        vendor: Vendor
        feeder: Feeder | None = None
        if config.vend.adapter is VendAdapter.MDB:
            self.mdb = open_mdb(config, self.start_machine)
            vendor = self.mdb.driver
            if config.mdb.mode == "selection":  # the machine's selections start the sales
                feeder = Feeder(self.mdb.driver)
        else:
            vendor = build_vendor(settings)
        runner = partial(MdbRunner, feeder=feeder) if feeder is not None else Runner
        self.runner = runner(
            client=client,
            journal=self.journal,
            vendor=vendor,
            settings=settings,
            clock=SystemClock(),
            clock_guard=guard,
            retention=Retention(self.journal, self.state / ARCHIVE_DIRNAME, retention_of(config)),
        )
        self.journal.check_in_background()  # the whole file, beside selling: never before it
        if config.fleet.url:
            self.fleet = start_fleet(
                config, self.fleet_password, self.journal, self.runner, self.state
            )
        return self

    def before_stop(self) -> None:
        """SIGTERM: end the vending machine's session first, so a vend waiting on it is
        answered and the sale engine records the money going back before it stops."""
        if self.mdb is not None:
            self.mdb.close()

    def close_network(self) -> None:
        self.client.close()
        if self.simulator is not None:
            self.simulator.stop()

    def __exit__(self, *exc_info: object) -> None:
        self.before_stop()  # idempotent
        if self.fleet is not None:
            self.fleet.stop()
        self.journal.close()
        self.close_network()
