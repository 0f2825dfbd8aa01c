"""``kiosk vmc-sim``: a scripted vending machine behind a simulated HAT, on a pseudo-terminal,
until SIGINT or SIGTERM. The first stdout line is the port to put in `mdb.port`; `--link`
also makes a stable symlink to it. `--transcript` prints every line both ways.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from kiosk.simulator.vmc.machine import PROFILES, SCRIPTS, Vmc
from kiosk.simulator.vmc.serial_pair import VmcOnPty


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:  # the CLI's parser class
    p = sub.add_parser(
        "vmc-sim",
        help="play a vending machine behind an MDB HAT on a pseudo-terminal (no hardware)",
        description="Play a vending machine (VMC) and its Qibixx HAT on a pseudo-terminal, "
        'from a script and a quirk profile. Point the kiosk at it: vend.adapter = "mdb", '
        "mdb.port = the printed path (or --link).",
    )
    p.add_argument("--script", choices=sorted(SCRIPTS), default="demo", help="what happens")
    p.add_argument("--profile", choices=sorted(PROFILES), default="plain", help="quirks")
    p.add_argument("--link", type=Path, help="also make this symlink to the port")
    p.add_argument("--transcript", action="store_true", help="print every line both ways")


def run_vmc_sim(args: argparse.Namespace) -> int:
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def show(way: str, line: str) -> None:
        if args.transcript:
            sys.stdout.write(f"{way} {line}\n")
            sys.stdout.flush()

    sim = VmcOnPty(Vmc(SCRIPTS[args.script], PROFILES[args.profile]), transcript=show)
    if args.link is not None:
        with contextlib.suppress(FileNotFoundError):
            args.link.unlink()
        os.symlink(sim.path, args.link)
    sys.stdout.write(sim.path + "\n")
    sys.stdout.flush()
    sim.start()
    try:
        stop.wait()
    finally:
        sim.stop()
        if args.link is not None:
            with contextlib.suppress(FileNotFoundError):
                args.link.unlink()
    return 0
