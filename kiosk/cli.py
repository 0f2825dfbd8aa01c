"""The one composition root: `kiosk run | simulator | ...`.

Why here: every other module takes its collaborators as parameters; only this module reads
the environment, builds the real objects and wires them together.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def _add_simulator(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("simulator", help="run a local PayPay simulator (HTTP server)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8765, help="port to listen on (0: any free port)")
    p.add_argument("--public-url", help="base URL phones use to reach the pay page")
    p.add_argument("--state", help="file to keep the simulator's ledger in across restarts")
    p.add_argument("--control", action="store_true", help="enable the /_sim/ control API")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk", description="PayPay QR kiosk")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_simulator(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "simulator":
        from kiosk.simulator.command import run_simulator

        return run_simulator(args)
    raise AssertionError(f"unhandled command {args.command!r}")
