"""``kiosk simulator``: run the simulator in the foreground until SIGINT or SIGTERM.

Why here: the only place that reads the environment for the simulator's credentials and
prints (the base URL, so scripts can wait for it).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from types import FrameType

from kiosk.simulator.app import (
    DEMO_API_KEY,
    DEMO_API_SECRET,
    DEMO_MERCHANT_ID,
    SimulatorConfig,
    start_simulator,
)


def config_from(
    args: argparse.Namespace, environ: dict[str, str] | os._Environ[str]
) -> SimulatorConfig:
    return SimulatorConfig(
        api_key=environ.get("PAYPAY_API_KEY") or DEMO_API_KEY,
        api_secret=environ.get("PAYPAY_API_SECRET") or DEMO_API_SECRET,
        merchant_id=environ.get("PAYPAY_MERCHANT_ID") or DEMO_MERCHANT_ID,
        control=bool(args.control),
        public_url=args.public_url,
        state_file=args.state,
        webhook_url=environ.get("PAYPAY_SIM_WEBHOOK_URL") or None,
    )


def run_simulator(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    sim = start_simulator(config_from(args, os.environ), host=args.host, port=args.port)
    sys.stdout.write(sim.base_url + "\n")
    sys.stdout.flush()
    try:
        stop.wait()
    finally:
        sim.stop()
    return 0
