"""`python -m tools.fleetsoak` (`make fleet-soak`): a fleet under trouble, then a full audit.

Why: the fleet's promise is that no fact is lost and none counted twice, whatever fails. This
starts a real Mosquitto, PostgreSQL, the PayPay simulator and the hub (`kiosk hub run`, its own
process), then `--kiosks` kiosks in child processes (tools.fleetkiosks): `--full` of them on the
real engine and simulator, the rest with a sale generator, all on the real journal, outbox and
publisher. Meanwhile it SIGKILLs random kiosks (and restarts them later), SIGKILLs the hub and
restarts it, stops the broker for `--outage-s`, and re-publishes a share of the events
(duplicated deliveries). Then selling stops, every backlog drains, and each kiosk's journal is
compared with the ledger:

    kiosks: N, sales: S, ledger lost: 0, duplicated: 0, yen difference: 0, silent alert max s: A,
    backlog drain max msg/s per kiosk: R

The exit status is 1 on any loss, duplicate or yen difference, or a silent alert slower than
90 s after a kiosk was killed.
"""

from __future__ import annotations

import argparse
import random
import signal
import subprocess
import sys
import threading
import time

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from kiosk.fleet.hub.migrate import migrate
from kiosk.simulator import SimulatorConfig, start_simulator
from tools.fleetaudit import audit
from tools.fleetservers import Mosquitto, Postgres, remove, scratch_dir

PY = sys.executable


def out(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Soak:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.dir = scratch_dir("fleet-soak-")
        self.rng = random.Random(args.seed)
        self.broker = Mosquitto(self.dir / "broker")
        self.pg = Postgres(scratch_dir("fleet-soak-pg-"))  # nobody must reach it (root runs)
        self.stop_file = self.dir / "stop-selling"
        self.kiosk_dir = self.dir / "kiosks"
        self.kiosk_dir.mkdir()
        self.children: dict[str, tuple[list[str], subprocess.Popen[bytes]]] = {}
        self.killed_at: dict[str, float] = {}
        self.hub: subprocess.Popen[bytes] | None = None
        self.duplicated = 0
        self.started = time.time()

    def say(self, text: str) -> None:
        out(f"[{time.time() - self.started:6.1f}s] {text}")

    # ---- parts ------------------------------------------------------------------------------

    def start_servers(self) -> None:
        self.broker.start()
        self.pg.start()
        self.dsn = self.pg.create_db("fleet")
        migrate(self.dsn)
        self.sim = start_simulator(SimulatorConfig(control=True, seed=5), port=0)
        config = self.dir / "hub.toml"
        config.write_text(
            f'[hub]\nbroker_url = "{self.broker.url}"\ndatabase = "{self.dsn}"\n'
            f'topic_prefix = "soak"\nclient_id = "soak-hub"\nsilent_s = {self.args.silent_s}\n'
        )
        self.hub_config = config
        self.start_hub()
        deadline = time.monotonic() + 60
        while b"hub subscribed" not in (self.dir / "hub.log").read_bytes():
            if time.monotonic() > deadline:
                raise RuntimeError("the hub did not subscribe within 60 s: see hub.log")
            time.sleep(0.2)

    def start_hub(self) -> None:
        log = (self.dir / "hub.log").open("ab")
        self.hub = subprocess.Popen(
            [PY, "-m", "kiosk", "hub", "run", "--config", str(self.hub_config)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def start_group(self, name: str, mode: str, kiosks: list[str]) -> None:
        a = self.args
        argv = [PY, "-m", "tools.fleetkiosks", mode, *kiosks, "--dir", str(self.kiosk_dir)]
        argv += ["--broker", self.broker.url, "--sim", self.sim.base_url, "--seed", str(a.seed)]
        argv += ["--stop-file", str(self.stop_file), "--rate", str(a.rate)]
        argv += ["--every-s", str(a.every_s if mode == "gen" else a.every_s / 3)]
        log = (self.dir / f"{name}.log").open("ab")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        self.children[name] = (kiosks, proc)

    def kill_group(self, name: str) -> None:
        kiosks, proc = self.children[name]
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        now = time.time()
        for k in kiosks:
            self.killed_at.setdefault(k, now)
        self.say(f"SIGKILL {name} ({len(kiosks)} kiosks)")

    def duplicate(self) -> mqtt.Client:
        """Re-publish a share of all events: the hub must count each fact once."""
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="soak-duplicator")
        rng = random.Random(self.args.seed)

        def on_message(c: mqtt.Client, userdata: object, m: mqtt.MQTTMessage) -> None:
            if rng.random() < self.args.duplicate_share:
                c.publish(m.topic, m.payload, qos=1)
                self.duplicated += 1

        client.on_message = on_message
        client.on_connect = lambda c, u, f, rc, p: c.subscribe("soak/v1/+/events", qos=1)
        client.reconnect_delay_set(1, 5)
        client.connect_async("127.0.0.1", self.broker.port)
        client.loop_start()
        return client

    # ---- the run ----------------------------------------------------------------------------

    def run(self) -> int:
        a = self.args
        self.start_servers()
        ids = [f"s{n:04d}" for n in range(a.kiosks)]
        full, gen = ids[: a.full], ids[a.full :]
        groups: list[tuple[str, str, list[str]]] = []
        for n in range(0, len(full), 10):
            groups.append((f"full{n // 10}", "full", full[n : n + 10]))
        victims = gen[: a.victims]
        groups.append(("victims", "gen", victims))
        rest = gen[a.victims :]
        per = max(1, -(-len(rest) // a.processes))
        for n in range(0, len(rest), per):
            groups.append((f"gen{n // per}", "gen", rest[n : n + per]))
        for name, mode, kiosks in groups:
            self.start_group(name, mode, kiosks)
        self.say(f"{a.kiosks} kiosks in {len(groups)} processes ({a.full} on the real engine)")
        dup = self.duplicate()
        try:
            self.trouble()
            self.stop_file.write_text("stop")
            self.say("selling stopped; the kiosks finish and the hub repairs what the broker lost")
            time.sleep(15)  # sales in progress on the real engine end (or are withdrawn)
            self.repaired(ids)
        finally:
            dup.loop_stop()
            dup.disconnect()
            for _, proc in self.children.values():
                proc.send_signal(signal.SIGTERM)
            for _, proc in self.children.values():
                try:
                    proc.wait(120)
                except subprocess.TimeoutExpired:
                    proc.kill()
        self.drain(ids)
        report = audit(self.kiosk_dir, self.dsn, ids, self.killed_at)
        if self.hub is not None:
            self.hub.send_signal(signal.SIGTERM)
            self.hub.wait(30)
        self.sim.stop()
        self.broker.stop()
        self.pg.stop()
        out(f"duplicated deliveries sent: {self.duplicated}")
        out(report.line())
        if report.ok and not a.keep:
            remove(self.dir)
            remove(self.pg.directory)
        else:
            out(f"kept for inspection: {self.dir}")
        return 0 if report.ok else 1

    def trouble(self) -> None:
        a = self.args
        t0 = time.monotonic()

        def at(seconds: float) -> None:
            time.sleep(max(0.0, t0 + seconds - time.monotonic()))

        at(a.warmup_s)
        self.kill_group("victims")
        victim_full = next(n for n in self.children if n.startswith("full"))
        self.kill_group(victim_full)
        at(a.warmup_s + 10)
        assert self.hub is not None
        self.hub.send_signal(signal.SIGKILL)
        self.hub.wait()
        self.say("SIGKILL hub")
        at(a.warmup_s + 15)
        self.start_hub()
        self.say("hub restarted")
        at(a.warmup_s + 25)
        self.broker.stop(signal.SIGKILL)
        self.say(f"broker down for {a.outage_s:.0f} s")
        at(a.warmup_s + 25 + a.outage_s)
        self.broker.start()
        self.say("broker back")
        at(a.warmup_s + max(a.silent_s + 30, 25 + a.outage_s + 10))
        for name in ("victims", victim_full):
            kiosks, _ = self.children[name]
            mode = "full" if name.startswith("full") else "gen"
            self.start_group(name, mode, kiosks)
        self.say("killed kiosks restarted")
        at(a.warmup_s + max(a.silent_s + 30, 25 + a.outage_s + 10) + a.after_s)

    def repaired(self, ids: list[str]) -> None:
        """With the kiosks still running (they answer the hub's replays): wait until the hub
        holds every row each kiosk had written by now (its gap repair at work)."""
        from tools.fleetaudit import outbox_rows

        target = {
            k: max(
                (int(str(r[0])) for r in outbox_rows(self.kiosk_dir / f"{k}.sqlite3")), default=0
            )
            for k in ids
        }
        deadline = time.monotonic() + self.args.drain_s
        while time.monotonic() < deadline:
            with psycopg.connect(self.dsn) as db:
                rows = db.execute("SELECT kiosk, contiguous_seq FROM kiosks").fetchall()
            have: dict[str, int] = {str(k): int(v) for k, v in rows}
            behind = [k for k, seq in target.items() if have.get(k, 0) < seq]
            self.say(f"kiosks whose facts are not all in the ledger yet: {len(behind)}")
            if not behind:
                return
            time.sleep(10)

    def drain(self, ids: list[str]) -> None:
        """Wait until the hub has written every fact the (stopped) kiosks' outboxes hold."""
        from tools.fleetaudit import outbox_rows

        deadline = time.monotonic() + self.args.drain_s
        while time.monotonic() < deadline:
            time.sleep(5)
            expected = sum(len(outbox_rows(self.kiosk_dir / f"{k}.sqlite3")) for k in ids)
            with psycopg.connect(self.dsn) as db:
                got = db.execute("SELECT count(*) FROM events").fetchone()
            self.say(f"outbox rows {expected}, in the ledger {got[0] if got else 0}")
            if got is not None and got[0] >= expected:
                return


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.fleetsoak", description=__doc__)
    p.add_argument("--kiosks", type=int, default=1000)
    p.add_argument("--full", type=int, default=50, help="kiosks on the real engine")
    p.add_argument("--victims", type=int, default=10, help="generator kiosks SIGKILLed")
    p.add_argument("--processes", type=int, default=8, help="processes for the generator kiosks")
    p.add_argument("--every-s", type=float, default=30.0, help="mean seconds between sales")
    p.add_argument("--rate", type=float, default=5.0, help="fleet.max_rate_per_s of each kiosk")
    p.add_argument("--outage-s", type=float, default=60.0)
    p.add_argument("--silent-s", type=float, default=60.0, help="the hub's silent_s")
    p.add_argument("--warmup-s", type=float, default=30.0)
    p.add_argument("--after-s", type=float, default=30.0)
    p.add_argument("--drain-s", type=float, default=600.0)
    p.add_argument("--duplicate-share", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--keep", action="store_true", help="keep the working directory")
    args = p.parse_args(argv)
    return Soak(args).run()


if __name__ == "__main__":
    threading.current_thread().name = "soak"
    raise SystemExit(main())
