"""The `kiosk` command as an operator meets it: help, exit codes, messages that say what next."""

from __future__ import annotations

import io
import json
import logging
import os
import sqlite3
import time
from pathlib import Path

import pytest

from kiosk.cli import build_parser
from kiosk.commands.common import CommandError, ExitCode
from kiosk.commands.hashpin import run_hash_pin
from kiosk.ops.pin import verify_pin
from kiosk.ops.status import FILENAME, Status, StatusKeeper
from tests.ops.cli_helpers import REPO, clean_env, kiosk

SUBCOMMANDS = [
    ["run"],
    ["check-config"],
    ["journal"],
    ["journal", "list"],
    ["journal", "export"],
    ["refund"],
    ["reconcile"],
    ["hash-pin"],
    ["doctor"],
    ["status"],
]


def test_every_subcommand_has_help_with_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    for words in SUBCOMMANDS:
        with pytest.raises(SystemExit) as done:
            parser.parse_args([*words, "--help"])
        assert done.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith(f"usage: kiosk {' '.join(words)}"), words
        assert "3  configuration or credentials problem" in out, words


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    result = kiosk("frobnicate", env=clean_env(tmp_path))
    assert result.returncode == ExitCode.USAGE
    assert "invalid choice: 'frobnicate'" in result.stderr
    assert kiosk("refund", env=clean_env(tmp_path)).returncode == ExitCode.USAGE


def test_check_config_ok(tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text('language = "en"\nentry = "amount"\n')
    result = kiosk("check-config", "--config", str(config), env=clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "configuration OK"
    assert f"  read from:   defaults; {config}" in lines
    assert "  sale:        amount entry up to 50000 yen; QR 120 s, poll 4.0 s" in lines
    own = "not installed: the user's own directory"
    assert f"  state dir:   {tmp_path}/.local/state/kiosk ({own})" in lines


def test_check_config_reports_every_problem_and_exits_3(tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text("qr_timeout = 90\npoll_interval_s = 0.5\n")
    result = kiosk("check-config", "--config", str(config), env=clean_env(tmp_path))
    assert result.returncode == ExitCode.CONFIG
    assert result.stdout == ""
    assert result.stderr == (
        "kiosk: error: 2 configuration problems:\n"
        f'  {config}: qr_timeout: unknown option (did you mean "qr_timeout_s"?)\n'
        f"  {config}: poll_interval_s: 0.5 is out of range; allowed: a number from 2 to 30\n"
        "fix them, then run: kiosk check-config\n"
    )


def test_config_path_from_environment(tmp_path: Path) -> None:
    result = kiosk("check-config", env=clean_env(tmp_path, KIOSK_CONFIG=str(tmp_path / "x.toml")))
    assert result.returncode == ExitCode.CONFIG
    assert f"{tmp_path}/x.toml: file: not found" in result.stderr


def test_production_without_credentials_says_where_to_put_them(tmp_path: Path) -> None:
    env = clean_env(tmp_path, KIOSK_MODE="sandbox", KIOSK_MERCHANT_ID="M1")
    result = kiosk("check-config", env=env)
    assert result.returncode == ExitCode.CONFIG
    assert "mode is sandbox but no PayPay credentials were found; put api_key" in result.stderr


def test_loose_credential_file_is_refused(tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    for name, value in (("paypay_api_key", "k_1234"), ("paypay_api_secret", "s_987654")):
        (creds / name).write_text(value)
        os.chmod(creds / name, 0o644)
    env = clean_env(tmp_path, KIOSK_MODE="sandbox", KIOSK_MERCHANT_ID="M1")
    env["CREDENTIALS_DIRECTORY"] = str(creds)
    result = kiosk("check-config", env=env)
    assert result.returncode == ExitCode.CONFIG
    assert "is readable by group or others (mode 0644); run: chmod 600" in result.stderr
    assert "s_987654" not in result.stderr + result.stdout
    os.chmod(creds / "paypay_api_key", 0o400)
    os.chmod(creds / "paypay_api_secret", 0o400)
    ok = kiosk("check-config", env=env)
    assert ok.returncode == 0, ok.stderr
    assert f"  credentials: found in {creds}" in ok.stdout.splitlines()


def test_print_example_is_the_committed_example(tmp_path: Path) -> None:
    result = kiosk("check-config", "--print-example", env=clean_env(tmp_path))
    assert result.stdout == (REPO / "kiosk" / "assets" / "kiosk.example.toml").read_text(
        encoding="utf-8"
    )


def test_hash_pin_from_stdin(tmp_path: Path) -> None:
    result = kiosk("hash-pin", env=clean_env(tmp_path), stdin="739184\n")
    assert result.returncode == 0, result.stderr
    stored = result.stdout.strip()
    assert verify_pin("739184", stored) and not verify_pin("739185", stored)
    assert "[attendant]" in result.stderr and "739184" not in result.stderr
    bad = kiosk("hash-pin", env=clean_env(tmp_path), stdin="12ab\n")
    assert bad.returncode == ExitCode.FAILED
    assert bad.stderr == "kiosk: error: a PIN is 4 to 12 digits; run kiosk hash-pin again\n"


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_hash_pin_on_a_terminal_asks_twice(capsys: pytest.CaptureFixture[str]) -> None:
    answers = iter(["2468", "2468"])
    prompts: list[str] = []

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        return next(answers)

    assert run_hash_pin(Tty(), ask, salt=lambda n: b"s" * n) == 0
    assert prompts == ["New attendant PIN (4 to 12 digits): ", "The same PIN again: "]
    assert verify_pin("2468", capsys.readouterr().out.strip())
    answers = iter(["2468", "2469"])
    with pytest.raises(CommandError) as caught:
        run_hash_pin(Tty(), lambda _: next(answers), salt=lambda n: b"s" * n)
    assert caught.value.code == ExitCode.FAILED
    assert caught.value.message == "the two PINs differ; run kiosk hash-pin again"


def test_status_of_a_running_and_a_stopped_kiosk(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    env = clean_env(tmp_path, KIOSK_STATE_DIR=str(state))
    missing = kiosk("status", env=env)
    assert missing.returncode == ExitCode.FAILED
    assert "does not exist: the kiosk has not run" in missing.stderr
    now = time.time()
    initial = Status("idle", 77, "demo", started_at=now, updated_at=now, last_paypay_ok_at=now)
    StatusKeeper(state / FILENAME, initial, clock=time.time)
    running = kiosk("status", env=env)
    assert running.returncode == 0, running.stderr
    assert running.stdout.splitlines()[0] == "kiosk:            running, pid 77, mode demo"
    assert json.loads(kiosk("status", "--json", env=env).stdout)["pid"] == 77
    StatusKeeper(state / FILENAME, initial, clock=lambda: now - 3600)
    stopped = kiosk("status", env=env)
    assert stopped.returncode == ExitCode.FAILED
    assert "NOT RUNNING" in stopped.stdout
    assert "systemctl status kiosk" in stopped.stderr


def test_doctor_prints_a_red_line_with_a_fix_and_exits_1(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "journal.sqlite3").write_bytes(b"garbage" * 200)
    result = kiosk(
        "doctor", "--color", "never", env=clean_env(tmp_path, KIOSK_STATE_DIR=str(state))
    )
    assert result.returncode == ExitCode.FAILED
    lines = result.stdout.splitlines()
    assert [line.split()[1] for line in lines] == [
        "display",
        "input",
        "font",
        "clock",
        "paypay",
        "disk",
        "journal",
    ]
    assert lines[0].startswith("FAIL display    SDL_VIDEODRIVER=dummy draws nowhere; fix:")
    assert lines[4] == "ok   paypay     demo mode (built-in simulator): not used"
    assert lines[6] == (
        f"FAIL journal    {state}/journal.sqlite3: file is not a database; "
        "fix: stop the kiosk, keep a copy of the file, see the troubleshooting table"
    )
    assert "journal" in result.stderr.splitlines()[-1]


def test_doctor_journal_line_goes_green_on_a_sound_journal(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    db = sqlite3.connect(state / "journal.sqlite3")
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    env = clean_env(tmp_path, KIOSK_STATE_DIR=str(state))
    result = kiosk("doctor", env=env)
    line = f"ok   journal    {state}/journal.sqlite3: schema ok (every page: kiosk doctor --deep)"
    assert line in result.stdout.splitlines()
    result = kiosk("doctor", "--deep", env=env)
    assert f"ok   journal    {state}/journal.sqlite3: integrity ok (every page)" in (
        result.stdout.splitlines()
    )


def test_a_crash_is_one_redacted_line_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from kiosk import cli

    secret = "sk_crash_secret_42"
    monkeypatch.setenv("PAYPAY_API_KEY", "k_crash_1234")
    monkeypatch.setenv("PAYPAY_API_SECRET", secret)
    monkeypatch.setenv("HOME", str(tmp_path))

    def boom(args: object) -> int:
        from kiosk.ops.secrets import load_credentials

        creds = load_credentials(os.environ, None)
        assert creds is not None
        raise RuntimeError(f"exploded while holding {creds.api_secret}")

    monkeypatch.setattr(cli, "_check_config", boom)
    root = logging.getLogger()
    saved = list(root.handlers)
    try:
        assert cli.main(["check-config"]) == ExitCode.FAILED
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved:
            root.addHandler(handler)
    err = capsys.readouterr().err
    assert "kiosk: error: internal error RuntimeError: exploded while holding" in err
    assert "Traceback" in err  # the log line on stderr carries it, on one line
    assert secret not in err


def test_run_windowed_takes_a_size_and_refuses_nonsense(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = build_parser()
    assert parser.parse_args(["run", "--windowed", "800x480"]).windowed == (800, 480)
    assert parser.parse_args(["run"]).windowed is None
    for bad in ("800", "800x", "wide", "10x10", "99999x480"):
        with pytest.raises(SystemExit) as done:
            parser.parse_args(["run", "--windowed", bad])
        assert done.value.code == 2
        assert "--windowed" in capsys.readouterr().err
