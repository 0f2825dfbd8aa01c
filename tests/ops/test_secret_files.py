"""Credential files at the edges, as a real `kiosk check-config` process meets them: a symlink
to a file others can read, a symlink to a directory, an empty or blank secret, a key without its
secret. Each is refused with exit 3 and one line saying what to run, never echoing a value."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from kiosk.commands.common import ExitCode
from tests.ops.cli_helpers import clean_env, kiosk
from tests.ops.test_bad_input import error_lines

KEY = "edge-key-61c0d2"
SECRET = "edge-secret-a93f7e51"


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)
    return path


def symlink_to_loose_file(directory: Path) -> str:
    write(directory / "paypay_api_key", KEY)
    loose = write(directory.parent / "elsewhere", SECRET, mode=0o644)
    (directory / "paypay_api_secret").symlink_to(loose)
    return f"{directory}/paypay_api_secret is readable by group or others (mode 0644); run: chmod"


def symlink_to_a_directory(directory: Path) -> str:
    write(directory / "paypay_api_key", KEY)
    (directory / "paypay_api_secret").symlink_to(directory.parent)
    return "paypay_api_secret is not a regular file"


def empty_secret(directory: Path) -> str:
    write(directory / "paypay_api_key", KEY)
    write(directory / "paypay_api_secret", "")
    return "paypay_api_secret is empty"


def blank_secret(directory: Path) -> str:
    write(directory / "paypay_api_key", KEY)
    write(directory / "paypay_api_secret", " \n\t\n")
    return "paypay_api_secret is empty"


def key_without_secret(directory: Path) -> str:
    write(directory / "paypay_api_key", KEY)
    return "paypay_api_key exists but"


def dangling_symlink(directory: Path) -> str:
    write(directory / "paypay_api_key", KEY)
    (directory / "paypay_api_secret").symlink_to(directory / "gone")
    return "paypay_api_secret: No such file or directory (a broken symlink?)"


SHAPES: dict[str, Callable[[Path], str]] = {
    f.__name__: f
    for f in (
        symlink_to_loose_file,
        symlink_to_a_directory,
        empty_secret,
        blank_secret,
        key_without_secret,
        dangling_symlink,
    )
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_unusable_credential_files_are_refused_in_one_line(shape: str, tmp_path: Path) -> None:
    directory = tmp_path / "credentials"
    directory.mkdir()
    says = SHAPES[shape](directory)
    env = clean_env(tmp_path, KIOSK_MODE="sandbox", KIOSK_MERCHANT_ID="M1")
    env["CREDENTIALS_DIRECTORY"] = str(directory)
    done = kiosk("check-config", env=env)
    assert (done.returncode, done.stdout) == (ExitCode.CONFIG, ""), done.stderr
    [line] = error_lines(done.stderr)
    assert says in line and "Traceback" not in done.stderr
    assert KEY not in done.stderr and SECRET not in done.stderr


@pytest.mark.parametrize(
    ("variables", "says"),
    [
        ({"PAYPAY_API_KEY": KEY, "PAYPAY_API_SECRET": ""}, "PAYPAY_API_SECRET is not; set both"),
        ({"PAYPAY_API_KEY": KEY, "PAYPAY_API_SECRET": "  "}, "PAYPAY_API_SECRET is empty"),
        ({"PAYPAY_API_SECRET": SECRET}, "PAYPAY_API_SECRET is set but PAYPAY_API_KEY is not"),
    ],
)
def test_half_or_blank_pairs_in_the_environment_are_refused(
    variables: dict[str, str], says: str, tmp_path: Path
) -> None:
    env = clean_env(tmp_path, **variables)
    done = kiosk("check-config", env=env)
    assert done.returncode == ExitCode.CONFIG and says in done.stderr, done.stderr
    assert len(error_lines(done.stderr)) == 1
    assert KEY not in done.stderr and SECRET not in done.stderr
