"""Credentials: from the environment or systemd's credential directory; never leaked."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from kiosk.ops.secrets import Credentials, SecretError, load_credentials

KEY = "key_4f1e9a7c2b"
SECRET = "secret_9d8c7b6a5f4e"


def creds_dir(tmp_path: Path, mode: int = 0o400, names: tuple[str, ...] = ()) -> Path:
    directory = tmp_path / "creds"
    directory.mkdir()
    for name, value in zip(
        names or ("paypay_api_key", "paypay_api_secret"), (KEY, SECRET), strict=True
    ):
        path = directory / name
        path.write_text(value + "\n", encoding="utf-8")
        os.chmod(path, mode)
    return directory


def test_environment_pair() -> None:
    found = load_credentials({"PAYPAY_API_KEY": KEY, "PAYPAY_API_SECRET": SECRET}, None)
    assert found == Credentials(KEY, SECRET, "environment")
    assert KEY not in repr(found) and SECRET not in repr(found)


def test_none_configured_means_demo(tmp_path: Path) -> None:
    assert load_credentials({}, tmp_path / "absent") is None


def test_half_a_pair_is_refused_naming_the_missing_variable() -> None:
    with pytest.raises(SecretError) as caught:
        load_credentials({"PAYPAY_API_KEY": KEY}, None)
    assert (
        str(caught.value)
        == "PAYPAY_API_KEY is set but PAYPAY_API_SECRET is not; set both or neither"
    )
    assert KEY not in str(caught.value)


def test_systemd_credentials_directory(tmp_path: Path) -> None:
    directory = creds_dir(tmp_path)
    found = load_credentials({"CREDENTIALS_DIRECTORY": str(directory)}, None)
    assert found == Credentials(KEY, SECRET, str(directory))


def test_file_readable_by_others_is_refused_with_the_fix(tmp_path: Path) -> None:
    directory = creds_dir(tmp_path, mode=0o644)
    with pytest.raises(SecretError) as caught:
        load_credentials({"CREDENTIALS_DIRECTORY": str(directory)}, None)
    path = directory / "paypay_api_key"
    assert str(caught.value) == (
        f"{path} is readable by group or others (mode 0644); "
        f"run: chmod 600 {path} (owner root), then restart the kiosk"
    )
    assert KEY not in str(caught.value)


def test_group_readable_is_refused_too(tmp_path: Path) -> None:
    directory = creds_dir(tmp_path, mode=0o640)
    with pytest.raises(SecretError, match="mode 0640"):
        load_credentials({"CREDENTIALS_DIRECTORY": str(directory)}, None)


def test_operator_fallback_directory(tmp_path: Path) -> None:
    directory = creds_dir(tmp_path, mode=0o600, names=("api_key", "api_secret"))
    assert load_credentials({}, directory) == Credentials(KEY, SECRET, str(directory))


def test_one_file_without_the_other(tmp_path: Path) -> None:
    directory = creds_dir(tmp_path)
    (directory / "paypay_api_secret").unlink()
    with pytest.raises(SecretError, match=r"exists but .*paypay_api_secret does not"):
        load_credentials({"CREDENTIALS_DIRECTORY": str(directory)}, None)


def test_value_with_a_colon_is_refused_without_echo() -> None:
    with pytest.raises(SecretError) as caught:
        load_credentials({"PAYPAY_API_KEY": KEY, "PAYPAY_API_SECRET": "a:b"}, None)
    assert "PAYPAY_API_SECRET contains spaces, colons" in str(caught.value)
    assert "a:b" not in str(caught.value)


def test_systemd_directory_is_the_only_source_under_systemd(tmp_path: Path) -> None:
    """Under the service, an empty credentials directory means demo; the operator's root-only
    directory is not probed (as user kiosk that raised PermissionError and crash-looped)."""
    empty = tmp_path / "systemd"
    empty.mkdir()
    fallback = creds_dir(tmp_path, names=("api_key", "api_secret"))
    assert load_credentials({"CREDENTIALS_DIRECTORY": str(empty)}, fallback) is None


def as_nobody(probe: Callable[[], object]) -> str:
    """``repr(probe())`` computed in a child that dropped root for nobody (uid 65534), like
    the service user kiosk; or in this process when it is not root."""
    if os.geteuid() != 0:
        return repr(probe())
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns into pytest
        try:
            os.setgid(65534)
            os.setuid(65534)
            answer = repr(probe())
        except BaseException as exc:
            answer = f"raised {exc!r}"
        os.write(write, answer.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        answer = pipe.read()
    os.waitpid(pid, 0)
    return answer


def test_a_directory_this_user_cannot_enter_means_no_credentials(tmp_path: Path) -> None:
    """The installed layout: /etc/kiosk/credentials is root's, mode 0700, with both files; an
    unprivileged user (the service user, or an admin without sudo) sees demo, no crash."""
    directory = creds_dir(tmp_path, names=("api_key", "api_secret"))
    directory.chmod(0o700 if os.geteuid() == 0 else 0o000)
    tmp_path.chmod(0o755)
    try:
        assert as_nobody(lambda: load_credentials({}, directory)) == "None"
    finally:
        directory.chmod(0o700)
