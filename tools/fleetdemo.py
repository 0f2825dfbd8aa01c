"""`python -m tools.fleetdemo` (`make fleet-demo`): a whole fleet on this machine.

Starts a Mosquitto and a PostgreSQL in a temporary directory, the PayPay simulator, the hub
(`kiosk hub run`, with its status page and nightly reconciliation against the simulator) and
`--kiosks` headless kiosks on the real engine, each selling every few seconds. Prints the
status page's address and its demo password, then runs until Ctrl-C (or `--seconds`).
Nothing here is for production: the password is printed, the servers trust everyone local.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time

from kiosk.fleet.hub.migrate import migrate
from kiosk.fleet.hub.web import hash_password
from kiosk.simulator import SimulatorConfig, start_simulator
from tools.fleetservers import Mosquitto, Postgres, free_port, remove, scratch_dir

PASSWORD = "fleet-demo-password"


def out(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _wait_listening(port: int, hub: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    """The hub serves its status page once it has started its broker connection, which
    subscribes within moments. Kiosks started earlier (a slow machine starts the hub last)
    sold before that, and the hub saw their sales only after its next check for missing facts,
    a minute later: nothing lost, but the demo looked empty."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if hub.poll() is not None:
            raise SystemExit(f"the hub exited ({hub.returncode}) before its status page came up")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise SystemExit(f"the hub's status page did not come up on port {port} within {timeout_s} s")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.fleetdemo", description=__doc__)
    p.add_argument("--kiosks", type=int, default=4)
    p.add_argument("--every-s", type=float, default=6.0, help="mean seconds between sales")
    p.add_argument("--port", type=int, default=0, help="status page port (0: a free one)")
    p.add_argument("--seconds", type=float, default=0, help="stop after this long (0: Ctrl-C)")
    args = p.parse_args(argv)
    # Ctrl-C (and SIGTERM) stop the demo and everything it started, even when it was launched
    # with SIGINT ignored (a background job of a script inherits that, and Python keeps it)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    work, pg_dir = scratch_dir("fleet-demo-"), scratch_dir("fleet-demo-pg-")
    broker, pg = Mosquitto(work / "broker"), Postgres(pg_dir)
    broker.start()
    pg.start()
    dsn = pg.create_db("fleet")
    migrate(dsn)
    sim = start_simulator(SimulatorConfig(control=True, seed=11), port=0)
    port = args.port or free_port()
    (work / "hub.toml").write_text(
        f'[hub]\nbroker_url = "{broker.url}"\ndatabase = "{dsn}"\ntopic_prefix = "demo"\n'
        f'client_id = "demo-hub"\nhttp_port = {port}\n'
        f'password_hash = "{hash_password(PASSWORD, os.urandom(16))}"\n'
        f'paypay_mode = "simulator"\npaypay_url = "{sim.base_url}"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYPAY_")}
    hub = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "hub", "run", "--config", str(work / "hub.toml")], env=env
    )
    _wait_listening(port, hub)  # before the kiosks sell: their first facts find it subscribed
    kiosks = [f"demo-{n + 1}" for n in range(args.kiosks)]
    stop_file = work / "stop-selling"
    children = subprocess.Popen(
        [
            *(sys.executable, "-m", "tools.fleetkiosks", "full", *kiosks, "--dir", str(work)),
            *("--broker", broker.url, "--prefix", "demo", "--sim", sim.base_url),
            *("--stop-file", str(stop_file), "--every-s", str(args.every_s), "--health-s", "10"),
        ]
    )
    out(f"status page: http://127.0.0.1:{port}/  (password: {PASSWORD})")
    out(f"kiosks: {', '.join(kiosks)}; PayPay simulator: {sim.base_url}; broker: {broker.url}")
    out(
        "send a command: kiosk hub command demo-1 out_of_service --config " + str(work / "hub.toml")
    )
    try:
        if args.seconds:
            time.sleep(args.seconds)
        else:
            signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        for proc in (children, hub):
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
        sim.stop()
        broker.stop()
        pg.stop()
        remove(work)
        remove(pg_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
