"""PayPay API credentials: from the environment or systemd credentials, never from a TOML file.

Why: the configuration file is copied around and shown in bug reports; the API secret moves
money. Invariants: a credential file readable by group or others is refused (the operator must
`chmod 600` it), half a pair (a key without its secret) is refused, and no message or repr
ever contains a credential's value.

Where from, first match wins:
1. `PAYPAY_API_KEY` and `PAYPAY_API_SECRET` in the environment;
2. `$CREDENTIALS_DIRECTORY/paypay_api_key` and `paypay_api_secret` (kiosk.service loads the
   directory /etc/kiosk/credentials with `LoadCredential=paypay:...`, which names them so);
3. `/etc/kiosk/credentials/api_key` and `api_secret`, read directly when an operator runs a
   command such as `kiosk refund` by hand (as root). Never under systemd (when
   $CREDENTIALS_DIRECTORY is set, systemd is the only source), and a directory this user may not
   look into counts as none: the service user cannot see into the root-only directory, and a demo
   without credentials must come up instead of crashing on a permission error.
No credentials at all is not an error: the kiosk then runs in demo mode (sandbox and production
then refuse to start, saying where credentials go).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ENV_KEY = "PAYPAY_API_KEY"
ENV_SECRET = "PAYPAY_API_SECRET"
SYSTEMD_NAMES = ("paypay_api_key", "paypay_api_secret")
DIRECT_NAMES = ("api_key", "api_secret")
DEFAULT_CREDENTIALS_DIR = Path("/etc/kiosk/credentials")


class SecretError(Exception):
    """A credential exists but cannot be used. The message says what to do; never the value."""


@dataclass(frozen=True)
class Credentials:
    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)
    source: str

    @property
    def values(self) -> tuple[str, str]:
        """Everything a redaction filter must hide."""
        return (self.api_key, self.api_secret)


def _checked(value: str, where: str) -> str:
    value = value.strip()
    if not value:
        raise SecretError(f"{where} is empty; put the PayPay value there or remove it")
    if any(c.isspace() or c == ":" for c in value) or not value.isprintable():
        raise SecretError(
            f"{where} contains spaces, colons or control characters; copy the value again "
            "from the PayPay merchant panel"
        )
    return value


def read_secret_file(path: Path) -> str:
    """The file's text, refused unless it is a regular file only its owner can read."""
    try:
        info = path.stat()
    except PermissionError:
        raise SecretError(
            f"cannot read {path}: permission denied; run this command as root (sudo) or set "
            f"{ENV_KEY} and {ENV_SECRET}"
        ) from None
    except OSError as exc:  # a dangling or looping symlink, an I/O error
        raise SecretError(
            f"cannot read {path}: {exc.strerror or exc} (a broken symlink?); put the credential "
            "in a plain file"
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise SecretError(f"{path} is not a regular file; put the credential in a plain file")
    if info.st_mode & 0o077:
        mode = stat.S_IMODE(info.st_mode)
        raise SecretError(
            f"{path} is readable by group or others (mode {mode:04o}); "
            f"run: chmod 600 {path} (owner root), then restart the kiosk"
        )
    try:
        raw = path.read_bytes()
    except PermissionError:
        raise SecretError(f"cannot read {path}: permission denied; run as root (sudo)") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretError(f"{path} is not UTF-8 text") from None
    return _checked(text, str(path))


def _pair(directory: Path, names: tuple[str, str]) -> Credentials | None:
    paths = [directory / name for name in names]
    present = [p for p in paths if p.exists() or p.is_symlink()]
    if not present:
        return None
    if len(present) == 1:
        missing = next(p for p in paths if p not in present)
        raise SecretError(f"{present[0]} exists but {missing} does not; provide both or neither")
    key, secret = (read_secret_file(p) for p in paths)
    return Credentials(key, secret, source=str(directory))


def load_credentials(
    env: Mapping[str, str], fallback_dir: Path | None = DEFAULT_CREDENTIALS_DIR
) -> Credentials | None:
    """The PayPay key pair, or None when none is configured (demo mode). Raises SecretError."""
    key, secret = env.get(ENV_KEY, ""), env.get(ENV_SECRET, "")
    if key or secret:
        if not (key and secret):
            have, lack = (ENV_KEY, ENV_SECRET) if key else (ENV_SECRET, ENV_KEY)
            raise SecretError(f"{have} is set but {lack} is not; set both or neither")
        return Credentials(
            _checked(key, ENV_KEY), _checked(secret, ENV_SECRET), source="environment"
        )
    directory = env.get("CREDENTIALS_DIRECTORY")
    if directory:
        return _pair(Path(directory), SYSTEMD_NAMES)
    if fallback_dir is not None and _can_look_into(fallback_dir):
        return _pair(fallback_dir, DIRECT_NAMES)
    return None


def _can_look_into(directory: Path) -> bool:
    try:
        return directory.is_dir() and os.access(directory, os.X_OK)
    except PermissionError:
        return False


FLEET_ENV = "FLEET_MQTT_PASSWORD"
FLEET_SYSTEMD_NAME = "paypay_mqtt_password"  # kiosk.service loads the directory as "paypay"
FLEET_DIRECT_NAME = "mqtt_password"


def load_fleet_password(
    env: Mapping[str, str], fallback_dir: Path | None = DEFAULT_CREDENTIALS_DIR
) -> str:
    """This kiosk's broker password ("" when none is configured), found like the PayPay keys:
    $FLEET_MQTT_PASSWORD, then $CREDENTIALS_DIRECTORY/paypay_mqtt_password, then
    /etc/kiosk/credentials/mqtt_password (owner-only). Raises SecretError, never with it."""
    if env.get(FLEET_ENV):
        return _checked(env[FLEET_ENV], FLEET_ENV)
    if env.get("CREDENTIALS_DIRECTORY"):  # under systemd: only what the unit loaded
        path = Path(env["CREDENTIALS_DIRECTORY"]) / FLEET_SYSTEMD_NAME
    elif fallback_dir is not None and _can_look_into(fallback_dir):
        path = fallback_dir / FLEET_DIRECT_NAME
    else:
        return ""
    return read_secret_file(path) if path.exists() or path.is_symlink() else ""
