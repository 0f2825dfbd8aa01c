"""Hostile input at the command line, table-driven, each case a real `python -m kiosk` process:
every configuration-file shape (nesting, garbage and non-UTF-8 bytes, directories, wrong types,
huge numbers, unknown keys, paths out of the allowed places) and every subcommand's arguments.
Each must end with ONE error line on stderr naming the problem (beside the note of which state
directory a command reads), its documented exit code (`kiosk
--help`), nothing on stdout, and never a traceback."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kiosk.commands.common import ExitCode
from kiosk.engine.journal import Journal
from tests.ops.cli_helpers import clean_env, kiosk

USAGE, CONFIG, JOURNAL, FAILED = ExitCode.USAGE, ExitCode.CONFIG, ExitCode.JOURNAL, ExitCode.FAILED
ITEM = '[[catalogue]]\nsku = "cola"\nname_ja = "コーラ"\nname_en = "Cola"\nprice_yen = 150\n'


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    code: int
    says: str  # a phrase the one stderr line must contain
    files: dict[str, bytes] = field(default_factory=dict)  # written under tmp_path first
    env: dict[str, str] = field(default_factory=dict)
    setup: Callable[[Path], None] | None = None


def toml(text: str) -> dict[str, bytes]:
    return {"kiosk.toml": text.encode("utf-8")}


def check(text: str, says: str) -> Case:
    """`kiosk check-config` on a kiosk.toml holding `text`: exit 3."""
    return Case(("check-config", "--config", "{tmp}/kiosk.toml"), CONFIG, says, toml(text))


def empty_journal(tmp_path: Path) -> None:
    Journal(tmp_path / "state" / "journal.sqlite3").close()


def garbage_journal(tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "journal.sqlite3").write_bytes(bytes(range(256)) * 16)


def status_file(text: str) -> Callable[[Path], None]:
    def write(tmp_path: Path) -> None:
        (tmp_path / "state").mkdir()
        (tmp_path / "state" / "status.json").write_text(text)

    return write


DEEP = 3000
CONFIG_FILES = {
    "toml-arrays-nested-3000-deep": check(
        "x = " + "[" * DEEP + "]" * DEEP + "\n", "tables or arrays nested too deeply"
    ),
    "toml-tables-nested-3000-deep": check(
        "[display]\nwidth = " + "{a = " * DEEP + "1" + "}" * DEEP + "\n", "nested too deeply"
    ),
    "garbage-bytes": Case(
        ("check-config", "--config", "{tmp}/kiosk.toml"),
        CONFIG,
        "file: not UTF-8 text (byte 128 is 0x80)",
        {"kiosk.toml": bytes(range(256)) * 4},
    ),
    "latin-1-text": Case(
        ("check-config", "--config", "{tmp}/kiosk.toml"),
        CONFIG,
        "file: not UTF-8 text (byte 18 is 0xe9)",
        {"kiosk.toml": 'terminal_id = "caf\xe9"\n'.encode("latin-1")},
    ),
    "not-toml": check("this is not = = toml\n", "file: not valid TOML"),
    "directory": Case(("check-config", "--config", "{tmp}"), CONFIG, "file: is a directory"),
    "directory-from-environment": Case(
        ("check-config",), CONFIG, "file: is a directory", env={"KIOSK_CONFIG": "{tmp}"}
    ),
    "device": Case(("check-config", "--config", "/dev/null"), CONFIG, "not a regular file"),
    "missing": Case(("check-config", "--config", "{tmp}/none.toml"), CONFIG, "file: not found"),
    "too-large": check("# padding\n" * 120_000, "too large for a kiosk.toml"),
    "text-for-a-number": check(
        'qr_timeout_s = "abc"\n',
        "qr_timeout_s: 'abc' is not allowed; allowed: a whole number from 30 to 290",
    ),
    "boolean-for-a-number": check("[display]\nwidth = true\n", "display.width: True is not"),
    "table-for-a-number": check("[display]\nwidth = {a = 1}\n", "display.width: {'a': 1} is"),
    "huge-integer": check(
        "qr_timeout_s = 99999999999999999999999999\n", "qr_timeout_s: 99999999999999999999999999"
    ),
    "integer-beyond-toml": check(
        "qr_timeout_s = 999999999999999999999999999999999999999\n", "qr_timeout_s: 9999"
    ),
    "huge-float": check("poll_interval_s = 1e400\n", "poll_interval_s: inf is not allowed"),
    "nan": check("poll_interval_s = nan\n", "poll_interval_s: nan is not allowed"),
    "negative-port": check("healthz_port = -1\n", "healthz_port: -1 is out of range"),
    "unknown-key": check("colour = 1\n", "colour: unknown option"),
    "unknown-section": check("[nosuch]\nx = 1\n", "nosuch: unknown option"),
    "typo-in-a-section": check(
        "[display]\nwidht = 800\n", 'display.widht: unknown option (did you mean "display.width"?)'
    ),
    "section-as-a-number": check("display = 5\n", "display: 5 is not a [display] table"),
    "section-as-an-array": check("[[vend]]\nadapter = 'none'\n", "is not a [vend] table"),
    "secret-in-the-file": check('api_secret = "x"\n', "secrets are never read from"),
    "catalogue-not-a-list": check("catalogue = 7\n", "catalogue: must be a list"),
    "catalogue-image-climbs-out": check(
        ITEM + 'image = "../../../../etc/passwd"\n',
        "catalogue[0].image: '../../../../etc/passwd' climbs out of the configuration's directory",
    ),
    "catalogue-image-climbs-out-midway": check(
        ITEM + 'image = "images/../../secret.png"\n', "climbs out of the configuration's"
    ),
    "catalogue-image-control-character": check(
        ITEM + 'image = "a\\u0000b.png"\n', "catalogue[0].image: 'a\\x00b.png' is not a file name"
    ),
    "catalogue-huge-price": check(
        ITEM.replace("150", "1e300"), "price of 'cola' must be a whole number of yen"
    ),
    "catalogue-nested-sku": check(
        ITEM.replace('"cola"', "[[[[1]]]]"), "catalogue[0].sku: [[[[1]]]] is not text"
    ),
    "catalogue-huge-sku": check(
        ITEM.replace('"cola"', "[" + "1," * 50_000 + "]"), "catalogue[0].sku: [1, 1, 1"
    ),
    "catalogue-unknown-key": check(ITEM + "colour = 'red'\n", "catalogue[0].colour: unknown"),
    "vend-command-placeholder": check(
        '[vend]\nadapter = "command"\ncommand = "vend {sku}"\n',
        "vend.command: 'vend {sku}' is not usable: {sku} is not one of",
    ),
    "environment-text-for-a-number": Case(
        ("check-config",), CONFIG, "KIOSK_QR_TIMEOUT_S: 'abc'", env={"KIOSK_QR_TIMEOUT_S": "abc"}
    ),
    "environment-unknown-variable": Case(
        ("check-config",), CONFIG, "KIOSK_COLOUR: unknown variable", env={"KIOSK_COLOUR": "1"}
    ),
    "half-a-credential-pair": Case(
        ("check-config",), CONFIG, "PAYPAY_API_KEY is set but", env={"PAYPAY_API_KEY": "k_1234"}
    ),
}

ARGUMENTS = {
    "unknown-command": Case(("frobnicate",), USAGE, "invalid choice: 'frobnicate'"),
    "journal-without-action": Case(("journal",), USAGE, "required: ACTION"),
    "simulator-port-too-big": Case(
        ("simulator", "--port", "99999"), USAGE, "argument --port: 99999 is out of range"
    ),
    "simulator-port-negative": Case(("simulator", "--port", "-1"), USAGE, "-1 is out of range"),
    "simulator-port-text": Case(
        ("simulator", "--port", "http"), USAGE, "'http' is not a whole number"
    ),
    "simulator-state-in-missing-directory": Case(
        ("simulator", "--port", "0", "--state", "{tmp}/missing/ledger.json"),
        USAGE,
        "argument --state: directory '{tmp}/missing' does not exist",
    ),
    "simulator-state-is-a-directory": Case(
        ("simulator", "--port", "0", "--state", "{tmp}"), USAGE, "is a directory; name a file"
    ),
    "simulator-state-corrupt": Case(
        ("simulator", "--port", "0", "--state", "{tmp}/ledger.json"),
        USAGE,
        "cannot start",
        {"ledger.json": b"\xff not json"},
    ),
    "simulator-public-url-not-http": Case(
        ("simulator", "--public-url", "ftp://x"), USAGE, "'ftp://x' is not an http(s) URL"
    ),
    "simulator-host-unknown": Case(
        ("simulator", "--host", "999.1.1.1", "--port", "0"), USAGE, "cannot start on 999.1.1.1:0"
    ),
    "journal-list-negative-limit": Case(
        ("journal", "list", "--limit", "-5"), USAGE, "argument --limit: -5 is out of range"
    ),
    "journal-list-zero-limit": Case(("journal", "list", "--limit", "0"), USAGE, "0 is out of"),
    "journal-list-huge-limit": Case(
        ("journal", "list", "--limit", "9" * 30), USAGE, "is out of range"
    ),
    "journal-list-bad-since": Case(
        ("journal", "list", "--since", "soonish"),
        USAGE,
        "--since 'soonish' is not a date",
        env={"KIOSK_STATE_DIR": "{tmp}/state"},
        setup=empty_journal,
    ),
    "journal-list-garbage-journal": Case(
        ("journal", "list"),
        JOURNAL,
        "is not a readable journal",
        env={"KIOSK_STATE_DIR": "{tmp}/state"},
        setup=garbage_journal,
    ),
    "journal-export-into-a-directory": Case(
        ("journal", "export", "--csv", "{tmp}"),
        FAILED,
        "cannot write",
        env={"KIOSK_STATE_DIR": "{tmp}/state"},
        setup=empty_journal,
    ),
    "refund-negative-amount": Case(
        ("refund", "K1", "--amount", "-100"), USAGE, "argument --amount: -100 is out of range"
    ),
    "refund-text-amount": Case(("refund", "K1", "--amount", "ten"), USAGE, "'ten' is not a whole"),
    "refund-unknown-sale": Case(
        ("refund", "K-none"),
        FAILED,
        "no sale K-none in the journal",
        env={"KIOSK_STATE_DIR": "{tmp}/state", "KIOSK_SIMULATOR_URL": "http://127.0.0.1:9"},
        setup=empty_journal,
    ),
    "run-bad-window": Case(("run", "--windowed", "5x"), USAGE, "expected WIDTHxHEIGHT"),
    "doctor-bad-colour": Case(("doctor", "--color", "purple"), USAGE, "invalid choice: 'purple'"),
    "status-not-json": Case(
        ("status",),
        FAILED,
        "is not a kiosk status file",
        env={"KIOSK_STATE_DIR": "{tmp}/state"},
        setup=status_file("[1, 2]"),
    ),
    "status-wrong-types": Case(
        ("status",),
        FAILED,
        "is not a kiosk status file (pid is 'x'",
        env={"KIOSK_STATE_DIR": "{tmp}/state"},
        setup=status_file(
            '{"state": "idle", "pid": "x", "mode": "demo", "started_at": 1, "updated_at": 1}'
        ),
    ),
    "status-time-beyond-any-calendar": Case(
        ("status",),
        FAILED,
        "(updated_at is 1e+300, not a time)",
        env={"KIOSK_STATE_DIR": "{tmp}/state"},
        setup=status_file(
            '{"state": "idle", "pid": 1, "mode": "demo", "started_at": 1, "updated_at": 1e300}'
        ),
    ),
}

# one broken file given to every subcommand that reads the configuration
BROKEN = {"kiosk.toml": b"[display]\nwidth = " + b"[" * DEEP + b"]" * DEEP}
EVERY_SUBCOMMAND = {
    " ".join(words): Case(
        (*words, "--config", "{tmp}/kiosk.toml"), CONFIG, "nested too deeply", BROKEN
    )
    for words in (
        ("run",),
        ("check-config",),
        ("journal", "list"),
        ("journal", "export", "--csv", "-"),
        ("refund", "K1"),
        ("reconcile",),
        ("doctor",),
        ("status",),
    )
}

CASES = {**CONFIG_FILES, **ARGUMENTS, **EVERY_SUBCOMMAND}


def error_lines(stderr: str) -> list[str]:
    """stderr without the note saying which state directory a command uses (not an error)."""
    assert stderr.endswith("\n"), stderr
    return [line for line in stderr.splitlines() if not line.startswith("state dir: ")]


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_naming_the_problem_with_its_exit_code(
    name: str, tmp_path: Path
) -> None:
    case = CASES[name]
    for filename, data in case.files.items():
        (tmp_path / filename).write_bytes(data)
    if case.setup is not None:
        case.setup(tmp_path)

    def fill(text: str) -> str:
        return text.replace("{tmp}", str(tmp_path))

    env = clean_env(tmp_path / "home", **{k: fill(v) for k, v in case.env.items()})
    done = kiosk(*map(fill, case.args), env=env, timeout=30)
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert (done.returncode, done.stdout) == (case.code, ""), done.stderr
    [line] = error_lines(done.stderr)
    assert fill(case.says) in line
    assert len(line) < 400, "a huge value is named, not dumped"
