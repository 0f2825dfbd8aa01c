"""A full sale and a refund with known credentials and a known attendant PIN, through the real
processes (`kiosk run`, `kiosk refund`, `kiosk journal list/export`, `kiosk status`, `kiosk
doctor`), with PayPay faults that make errors and exceptions get logged, and a vend command that
dumps its own environment. Then every log line, error message, status snapshot, /healthz answer,
CSV export, the vend program's environment and the journal with its WAL are searched: none may
contain a secret, whole, sliced or base64-encoded at any alignment."""

from __future__ import annotations

import base64
import json
import stat
import sys
import urllib.request
from pathlib import Path

from kiosk.engine.journal import Journal
from kiosk.ops.pin import hash_pin
from kiosk.simulator import SimulatorConfig, SimulatorControl, start_simulator
from tests.ops.cli_helpers import clean_env, kiosk, wait_for
from tests.ops.test_sigterm import free_port, start_kiosk, stop_kiosk

API_KEY = "scan-key-7f3a9c41e2"
API_SECRET = "scan-secret-5d2e8b41a09f"
PIN = "91734628"
PIN_HASH = hash_pin(PIN, b"scan-salt-16byte", iterations=1000)
VEND_ENV_DUMP = "import json,os,sys; open(sys.argv[1],'a').write(json.dumps(dict(os.environ)))"


def base64_cores(secret: str) -> list[str]:
    """The base64 text of `secret` at each of the three alignments it can have inside a longer
    encoded string, less the characters its neighbours would change."""
    cores = []
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + secret.encode()).decode()
        cores.append(encoded[-(-8 * shift // 6) : -4])
    return cores


def forms(secret: str) -> list[str]:
    """The secret whole, its two halves, and base64 (also of the key:secret pair)."""
    half = len(secret) // 2
    return [secret, secret[:half], secret[half:], *base64_cores(secret)]


SECRETS = (
    *forms(API_KEY),
    *forms(API_SECRET),
    *base64_cores(f"{API_KEY}:{API_SECRET}"),
    PIN,
    PIN_HASH,
    *forms(PIN_HASH.split("$")[3]),
)


def sale_of(state: Path) -> tuple[str, str]:
    journal = Journal(state / "journal.sqlite3")
    try:
        sales = journal.all_sales()
        return (sales[0].merchant_payment_id, sales[0].state.value) if sales else ("", "")
    finally:
        journal.close()


def test_no_secret_in_any_log_message_snapshot_or_record(tmp_path: Path) -> None:
    sim = start_simulator(
        SimulatorConfig(api_key=API_KEY, api_secret=API_SECRET, control=True), port=0
    )
    control = SimulatorControl(sim.base_url)
    state = tmp_path / "state"
    config = tmp_path / "kiosk.toml"
    (tmp_path / "vend.py").write_text(VEND_ENV_DUMP, encoding="utf-8")
    vend_env = tmp_path / "vend-env.json"
    health = free_port()
    config.write_text(
        f'state_dir = "{state}"\nentry = "amount"\nlog_level = "debug"\npoll_interval_s = 2\n'
        f"healthz_port = {health}\n"
        "[display]\nwidth = 800\nheight = 480\nfullscreen = false\n"
        f'[vend]\nadapter = "command"\ncommand = "{sys.executable} {tmp_path}/vend.py {vend_env}"\n'
        f'[attendant]\npin_hash = "{PIN_HASH}"\n[simulator]\nurl = "{sim.base_url}"\n',
        encoding="utf-8",
    )
    env = clean_env(tmp_path, PAYPAY_API_KEY=API_KEY, PAYPAY_API_SECRET=API_SECRET)
    texts: list[str] = []
    snapshots: list[str] = []
    try:
        control.add_fault("get_code_payment", status=500, code="INTERNAL_SERVER_ERROR", times=2)
        control.add_fault("refund", drop_response=True, applied=True, times=1)
        process = start_kiosk(tmp_path, config, 480, TEST_TYPE_PIN=PIN, **env)
        try:
            [code] = wait_for(
                "a payable QR", lambda: [c for c in control.ledger()["codes"] if c["payable"]]
            )
            # The code is payable at PayPay a moment before the kiosk publishes the QR screen.
            snapshots.append(
                wait_for(
                    "the QR screen in /healthz",
                    lambda: (
                        (text := healthz(health))
                        and json.loads(text)["state"] == "awaiting_payment"
                        and text
                    ),
                )
            )
            snapshots.append((state / "status.json").read_text(encoding="utf-8"))
            control.pay(code["code_id"])
            mpid = wait_for(
                "the paid sale", lambda: sale_of(state)[1] == "SUCCEEDED" and sale_of(state)[0]
            )
            log = tmp_path / "kiosk.log"
            wait_for("the PIN", lambda: "action=pin_accepted" in log.read_text(errors="replace"))
            snapshots.append((state / "status.json").read_text(encoding="utf-8"))
            refund = kiosk("refund", mpid, "--amount", "200", "--config", str(config), env=env)
            assert refund.returncode == 0, refund.stderr
            assert refund.stdout.startswith(f"refund {mpid}-R1 of 200 yen:")
            texts += [refund.stdout, refund.stderr]
            commands = (
                ["journal", "list"],
                ["journal", "export", "--csv", "-"],
                ["journal", "export", "--csv", str(tmp_path / "sales.csv")],
                ["status"],
                ["doctor"],
                ["check-config"],
            )
            for words in commands:
                done = kiosk(*words, "--config", str(config), env=env)
                texts += [done.stdout, done.stderr]
            assert "reachable, credentials accepted" in texts[-4]  # doctor's signed probe
            assert mpid in texts[2] and mpid in (tmp_path / "sales.csv").read_text()
            texts.append((tmp_path / "sales.csv").read_text(encoding="utf-8"))
            snapshots.append((state / "status.json").read_text(encoding="utf-8"))
            snapshots.append(healthz(health))
        finally:
            returncode, _ = stop_kiosk(process)
        assert returncode == 0
        [payment] = control.ledger()["payments"]
        assert payment["refunded"] == 200  # the secrets really signed every call
    finally:
        control.close()
        sim.stop()
    log_text = (tmp_path / "kiosk.log").read_text(encoding="utf-8", errors="replace")
    assert "status=500" in log_text and "ConnectionLost" in log_text  # the faults were logged
    assert "action=pin_accepted" in log_text
    assert stat.S_IMODE(state.stat().st_mode) == 0o700  # the journal's folder is the kiosk's
    records = b"".join(p.read_bytes() for p in state.glob("journal.sqlite3*"))
    snapshots.append((state / "status.json").read_text(encoding="utf-8"))
    assert json.loads(snapshots[-1])["state"] == "stopped"
    child = json.loads(vend_env.read_text(encoding="utf-8"))  # the vend program's own view
    child.pop("LC_CTYPE", None)  # Python may add it itself (PEP 538)
    assert sorted(child) == sorted(
        ["PATH", "LANG", "KIOSK_MERCHANT_PAYMENT_ID", "KIOSK_AMOUNT_YEN", "KIOSK_DESCRIPTION"]
    )
    assert child["KIOSK_AMOUNT_YEN"] == "480"
    haystacks = {
        "log": log_text,
        "commands": "\n".join(texts),
        "status and health": "\n".join(snapshots),
        "vend environment": vend_env.read_text(encoding="utf-8"),
    }
    for secret in SECRETS:
        for name, text in haystacks.items():
            assert secret not in text, f"{name} contains a secret"
        assert secret.encode() not in records, "the journal contains a secret"


def healthz(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
        return str(answer.read().decode("utf-8"))
