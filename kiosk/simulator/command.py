"""``kiosk simulator``: run the simulator in the foreground until SIGINT or SIGTERM.

Why here: the only place that reads the environment for the simulator's credentials and
writes to stdout (the base URL, so scripts can wait for it). A bad state file or a busy port
ends the command with a one-line message and a non-zero status, not a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Mapping
from types import FrameType

from kiosk.simulator.app import (
    DEMO_API_KEY,
    DEMO_API_SECRET,
    DEMO_MERCHANT_ID,
    Simulator,
    SimulatorConfig,
    start_simulator,
)

log = logging.getLogger(__name__)
WILDCARDS = ("0.0.0.0", "::", "")


def config_from(args: argparse.Namespace, environ: Mapping[str, str]) -> SimulatorConfig:
    public_url = args.public_url
    # Listening on the LAN without --public-url: guess the address a phone can reach.
    lan = not public_url and args.host in WILDCARDS and args.port
    if lan and (lan_ip := guess_lan_ip()) is not None:
        public_url = f"http://{lan_ip}:{args.port}"
    return SimulatorConfig(
        api_key=environ.get("PAYPAY_API_KEY") or DEMO_API_KEY,
        api_secret=environ.get("PAYPAY_API_SECRET") or DEMO_API_SECRET,
        merchant_id=environ.get("PAYPAY_MERCHANT_ID") or DEMO_MERCHANT_ID,
        control=bool(args.control),
        public_url=public_url,
        state_file=args.state,
        webhook_url=environ.get("PAYPAY_SIM_WEBHOOK_URL") or None,
    )


def guess_lan_ip() -> str | None:
    """The local address of the default route (a UDP connect sends no packet)."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed anywhere real
        address = str(probe.getsockname()[0])
        return None if address.startswith("127.") else address
    return None


def run_simulator(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    config = config_from(args, os.environ)
    try:
        sim: Simulator = start_simulator(config, host=args.host, port=args.port)
    except (OSError, ValueError) as error:
        sys.stderr.write(f"kiosk simulator: cannot start on {args.host}:{args.port}: {error}\n")
        return 2
    if config.control:
        log.warning("control API enabled at %s/_sim/ (tests and demos only)", sim.base_url)
    log.info("pay pages at %s/qr/<codeId>", sim.qr_base)
    sys.stdout.write(sim.base_url + "\n")
    sys.stdout.flush()
    try:
        stop.wait()
    finally:
        sim.stop()
    return 0
