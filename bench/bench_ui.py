"""UI benchmarks: tap to QR, idle CPU in a real 1920x1080 X window, memory, first frame.

- tap_to_qr_ms_median: in this process, SDL dummy driver at 1920x1080, the real runner and OPA
  client, the simulator in its own process on loopback: from a touch release on a product to
  the QR frame flipped. Alongside: the same with the simulator embedded (demo mode), the UI's
  own share (QR matrix -> Surface), and the bar it must stay under, measured in the same run:
  tap_to_qr_conventional_ms_median, the conventional approach (PayPay's official SDK, which
  uses requests, then qrcode.make and Pillow, a full-screen draw and flip; no journal).
- idle_cpu_pct_1080p (screen=attract and screen=qr), rss_mb, first_frame_ms: a child process
  (`python -m bench.bench_ui --child SCREEN`) runs the kiosk as `kiosk run` does in demo mode
  (embedded simulator, runner, UI) full screen on an Xvfb display this benchmark starts and
  stops; CPU is the whole process's, measured with time.process_time over a few seconds.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame

from bench.common import figure, median_ms, simulator_process
from kiosk.domain import Item, Order, Phase, SaleSettings
from kiosk.ops.pin import hash_pin
from kiosk.resources import FONT_FILE, assets_dir
from kiosk.ui.app import App, open_display, show_starting, wait_for_events
from kiosk.ui.qr import QrCache
from kiosk.ui.settings import UiSettings
from kiosk.ui.views import AttractView, MenuView, SaleScreenView

ROOT = Path(__file__).resolve().parent.parent
SIZE = (1920, 1080)
TAPS = 25
IDLE_MEASURE_S = 8.0
CATALOGUE = (
    Item("coffee", "ブレンドコーヒー", "Blend coffee", 350),
    Item("latte", "カフェラテ", "Caffè latte", 420),
)


def _settings(fullscreen: bool) -> UiSettings:
    pin_hash = hash_pin("2468", b"bench-salt-0001", iterations=1000)
    return UiSettings(pin_hash=pin_hash, catalogue=CATALOGUE, size=SIZE, fullscreen=fullscreen)


def _demo_runner(
    state_dir: Path, grace_s: float, base_url: str | None = None
) -> tuple[Any, Callable[[], None]]:
    """The stack `kiosk run` builds: client, journal, runner, talking to the simulator at
    `base_url`, or (None) to one embedded in this process as in demo mode."""
    from kiosk.engine.clock import ClockGuard, SystemClock
    from kiosk.engine.journal import Journal
    from kiosk.engine.runner import Runner
    from kiosk.hardware.vend import NoVendor
    from kiosk.opa import Client
    from kiosk.simulator import (
        DEMO_API_KEY,
        DEMO_API_SECRET,
        SimulatorConfig,
        start_simulator,
    )

    sim = None
    if base_url is None:
        sim = start_simulator(SimulatorConfig(control=True), port=0)
        base_url = sim.base_url
    guard = ClockGuard()
    journal = Journal(state_dir / "journal.sqlite3")
    client = Client(
        auth=(DEMO_API_KEY, DEMO_API_SECRET),
        base_url=base_url,
        on_response=guard.observe,
    )
    runner = Runner(
        client=client,
        journal=journal,
        vendor=NoVendor(),
        settings=SaleSettings(terminal_id="BENCH", grace_s=grace_s),
        clock=SystemClock(),
        clock_guard=guard,
    )
    runner.start()

    def close() -> None:
        runner.stop(5.0)
        journal.close()
        if sim is not None:
            sim.stop()

    return runner, close


class _Events:
    """Queued taps, else a real wait of the loop's own timeout (as the SDL queue would)."""

    def __init__(self) -> None:
        self.batches: deque[list[pygame.event.Event]] = deque()

    def __call__(self, timeout_s: float) -> list[pygame.event.Event]:
        if self.batches:
            return self.batches.popleft()
        time.sleep(timeout_s)
        return []

    def tap(self, app: App, action: str, arg: str = "") -> None:
        rect = next(h.rect for h in app.hits if h.action == action and h.arg == arg)
        x, y = rect.centerx / SIZE[0], rect.centery / SIZE[1]
        touch = {"touch_id": 1, "finger_id": 1, "dx": 0.0, "dy": 0.0, "pressure": 1.0}
        self.batches.append(
            [
                pygame.event.Event(pygame.FINGERDOWN, x=x, y=y, **touch),
                pygame.event.Event(pygame.FINGERUP, x=x, y=y, **touch),
            ]
        )


def _until(app: App, done: Callable[[object], bool], limit_s: float = 20.0) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        app.turn()
        if app.frame is not None and done(app.frame.screen):
            return
    raise RuntimeError(f"bench stuck on {app.frame}")


def _awaiting(screen: object) -> bool:
    return isinstance(screen, SaleScreenView) and screen.sale.phase is Phase.AWAITING_PAYMENT


def _final(screen: object) -> bool:
    return isinstance(screen, SaleScreenView) and screen.sale.phase in (
        Phase.CANCELLED,
        Phase.EXPIRED,
        Phase.FAILED,
        Phase.SUCCEEDED,
    )


def tap_to_qr() -> Iterator[dict[str, object]]:
    """Headline: PayPay (the simulator) in its own process on loopback, as a real PayPay is
    another machine; alongside, the demo set-up with the simulator embedded in this process,
    where its request handling competes with the kiosk for the interpreter lock."""
    with simulator_process(control=True) as base_url:
        conventional: list[float] = []
        samples, engine = _tap_to_qr_samples(base_url, _conventional_tap(base_url, conventional))
    embedded, _ = _tap_to_qr_samples(None)
    yield figure("tap_to_qr_ms_median", median_ms(samples), "ms", samples=len(samples))
    yield figure(
        "tap_to_qr_conventional_ms_median",
        median_ms(conventional),
        "ms",
        samples=len(conventional),
        how="official SDK + qrcode.make + Pillow, full draw, no journal; interleaved with ours",
    )
    yield figure("tap_to_qr_ms_max", max(samples) * 1000, "ms", samples=len(samples))
    yield figure("tap_to_qr_engine_only_ms_median", median_ms(engine), "ms", samples=len(engine))
    yield figure(
        "tap_to_qr_embedded_simulator_ms_median",
        median_ms(embedded),
        "ms",
        samples=len(embedded),
        simulator="in the kiosk process (demo mode)",
    )
    yield from _qr_build()


def _tap_to_qr_samples(
    base_url: str | None, between: Callable[[], None] | None = None
) -> tuple[list[float], list[float]]:
    """Our taps; `between` runs after each (the conventional tap, so both see the same load on
    this shared machine)."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    with tempfile.TemporaryDirectory() as tmp:
        runner, close = _demo_runner(Path(tmp), grace_s=0.2, base_url=base_url)
        try:
            settings = _settings(fullscreen=False)
            open_display(settings)
            events = _Events()
            app = App(
                runner, settings, notify=lambda _: None, clock=time.monotonic, event_source=events
            )
            _until(app, lambda s: isinstance(s, AttractView))
            samples: list[float] = []
            for index in range(TAPS):
                events.tap(app, "start")
                _until(app, lambda s: isinstance(s, MenuView))
                events.tap(app, "item", CATALOGUE[index % 2].sku)
                started = time.perf_counter()
                _until(app, _awaiting)
                samples.append(time.perf_counter() - started)
                events.tap(app, "cancel")
                _until(app, _final)
                events.tap(app, "done")
                _until(app, lambda s: isinstance(s, AttractView))
                if between is not None:
                    between()
            engine = _engine_only(runner)
        finally:
            close()
    return samples, engine


def _conventional_tap(base_url: str, samples: list[float]) -> Callable[[], None]:
    """The bar: how a plain kiosk would do it. Tap -> PayPay's official SDK creates the order
    (no journal) -> qrcode.make -> Pillow image -> a pygame surface scaled into a freshly drawn
    1080p screen with the amount -> flip. Started at the tap, ended at the flip; each call of
    the returned function adds one sample."""
    import warnings

    import qrcode

    from kiosk.simulator import DEMO_API_KEY, DEMO_API_SECRET

    with warnings.catch_warnings():  # the SDK imports pkg_resources
        warnings.simplefilter("ignore")
        import paypayopa

    pygame.font.init()
    screen = pygame.Surface(SIZE)  # drawn off the display, then copied to it and flipped
    font = pygame.font.Font(str(assets_dir() / FONT_FILE), 120)
    sdk = paypayopa.Client(
        auth=(DEMO_API_KEY, DEMO_API_SECRET), production_mode=False, base_url=base_url
    )

    def tap() -> None:
        index = len(samples)
        started = time.perf_counter()
        answer = sdk.Code.create_qr_code(
            {
                "merchantPaymentId": f"CONVENTIONAL-{time.time_ns()}-{index}",
                "codeType": "ORDER_QR",
                "amount": {"amount": 350, "currency": "JPY"},
                "orderDescription": CATALOGUE[0].name_en,
            }
        )
        image = qrcode.make(answer["data"]["url"]).get_image().convert("RGB")
        code = pygame.image.frombytes(image.tobytes(), image.size, "RGB")
        screen.fill((245, 245, 245))
        screen.blit(pygame.transform.scale(code, (900, 900)), (90, 90))
        screen.blit(font.render("¥350", True, (0, 0, 0)), (1100, 400))
        pygame.display.get_surface().blit(screen, (0, 0))
        pygame.display.flip()
        samples.append(time.perf_counter() - started)
        sdk.Code.delete_qr_code(answer["data"]["codeId"])

    return tap


def _engine_only(runner: Any) -> list[float]:
    """The same sale start without the UI: begin_sale -> the QR's URL visible through pump(),
    polled every 0.2 ms; what is left of tap_to_qr is the UI's share."""
    samples: list[float] = []
    for index in range(TAPS):
        started = time.perf_counter()
        runner.begin_sale(Order.of_amount(100 + index))
        while runner.current_sale().phase is not Phase.AWAITING_PAYMENT:
            time.sleep(0.0002)
            runner.pump()
        samples.append(time.perf_counter() - started)
        runner.cancel_sale()
        while runner.current_sale().phase is not Phase.CANCELLED:
            time.sleep(0.002)
            runner.pump()
        runner.acknowledge()
    return samples


def _qr_build() -> Iterator[dict[str, object]]:
    """The UI's own share of tap-to-QR, against the conventional Pillow route."""
    urls = [f"http://127.0.0.1:8765/pay/{i:032x}" for i in range(40)]
    ours, usual = [], []
    screen = pygame.Surface(SIZE)
    for url in urls:  # as the kiosk does it: build the code, scale it straight into the screen
        started = time.perf_counter()
        QrCache().draw(screen, url, 900, (SIZE[0] // 4, SIZE[1] // 2))
        ours.append(time.perf_counter() - started)
    import qrcode

    for url in urls:
        started = time.perf_counter()
        image = qrcode.make(url).get_image().convert("RGB")
        surface = pygame.image.frombytes(image.tobytes(), image.size, "RGB")
        pygame.transform.scale(surface, (900, 900))
        usual.append(time.perf_counter() - started)
    yield figure(
        "qr_surface_ms_median", median_ms(ours), "ms", how="qrcode (mask 2), scaled into the screen"
    )
    yield figure("qr_surface_conventional_ms_median", median_ms(usual), "ms", how="qrcode.make+PIL")


# ----- the X window half: a child process per screen, on an Xvfb display we own -----------


def _free_display() -> int:
    for number in range(91, 140):
        if (
            not Path(f"/tmp/.X11-unix/X{number}").exists()
            and not Path(f"/tmp/.X{number}-lock").exists()
        ):
            return number
    raise RuntimeError("no free X display number")


def _start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    number = _free_display()
    screen = f"{SIZE[0]}x{SIZE[1]}x24"
    proc = subprocess.Popen(
        ["Xvfb", f":{number}", "-screen", "0", screen, "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("Xvfb did not start")
        time.sleep(0.05)
    return proc, f":{number}"


def _child_run(screen: str, display: str) -> dict[str, float]:
    env = dict(os.environ, DISPLAY=display, SDL_VIDEODRIVER="x11", PYTHONPATH=str(ROOT))
    env.pop("SDL_AUDIODRIVER", None)
    spawned_at = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-m", "bench.bench_ui", "--child", screen, str(spawned_at)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        timeout=90,
        check=True,
    )
    return dict(json.loads(out.stdout.decode().strip().splitlines()[-1]))


def x_window() -> Iterator[dict[str, object]]:
    if shutil.which("Xvfb") is None:
        yield figure("idle_cpu_pct_1080p", -1, "%", error="Xvfb is not installed")
        return
    xvfb, display = _start_xvfb()
    try:
        results = {screen: _child_run(screen, display) for screen in ("attract", "qr")}
    finally:
        xvfb.terminate()
        xvfb.wait(10)
    for screen, result in results.items():
        yield figure(
            "idle_cpu_pct_1080p", result["cpu_pct"], "%", screen=screen, seconds=IDLE_MEASURE_S
        )
    yield figure("rss_mb", max(r["rss_mb"] for r in results.values()), "MB")
    yield figure("first_frame_ms", results["attract"]["first_frame_ms"], "ms", shows="starting")
    yield figure("ready_ms", results["attract"]["ready_ms"], "ms", shows="first kiosk frame")


def child(screen: str, spawned_at: float) -> int:
    """Run the demo kiosk full screen; report first frame, then idle CPU on `screen`."""
    ready: list[float] = []

    def notify(message: str) -> None:
        if message == "READY=1" and not ready:
            ready.append(time.monotonic())

    settings = _settings(fullscreen=True)
    show_starting(settings)  # as `kiosk run` should: a frame before the engine is built
    first_at = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        runner, close = _demo_runner(Path(tmp), grace_s=8.0)
        try:
            app = App(
                runner, settings, notify=notify, clock=time.monotonic, event_source=wait_for_events
            )
            app.turn()
            _until(app, lambda s: isinstance(s, AttractView))
            if screen == "qr":
                runner.begin_sale(Order.of_items(((CATALOGUE[0], 1),)))
                _until(app, _awaiting)
            settle_at = time.monotonic() + 1.0
            while time.monotonic() < settle_at:
                app.turn()
            cpu0, wall0 = time.process_time(), time.monotonic()
            while time.monotonic() - wall0 < IDLE_MEASURE_S:
                app.turn()
            cpu_pct = 100.0 * (time.process_time() - cpu0) / (time.monotonic() - wall0)
            still_there = app.frame is not None and (screen != "qr" or _awaiting(app.frame.screen))
        finally:
            close()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "first_frame_ms": (first_at - spawned_at) * 1000,
        "ready_ms": (ready[0] - spawned_at) * 1000,
        "cpu_pct": cpu_pct,
        "rss_mb": rss_mb,
        "screen_held": still_there,
    }
    print(json.dumps(result))
    return 0


def run() -> Iterator[dict[str, object]]:
    yield from tap_to_qr()
    yield from x_window()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        raise SystemExit(child(sys.argv[2], float(sys.argv[3])))
    for row in run():
        print(json.dumps(row), flush=True)
