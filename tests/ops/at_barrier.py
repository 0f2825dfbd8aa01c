"""`python -m tests.ops.at_barrier ARGS...`: the `kiosk ARGS` command, its imports done, held
at a barrier: it says "ready" on stdout and runs when a line arrives on stdin. Two of these
released together race for real (process start-up no longer spreads them apart)."""

from __future__ import annotations

import sys

import kiosk.commands.refundcmd  # noqa: F401  (the command's own imports, before the barrier)
from kiosk import cli


def main() -> int:
    print("ready", flush=True)
    sys.stdin.readline()
    return cli.main(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
