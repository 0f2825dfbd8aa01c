"""`kiosk doctor`: one green or red line per thing a kiosk needs, each red line with a fix.

Why: the operator at a vending machine has a shell and no idea which of a dozen parts broke.
Each check is a small function of explicit inputs (paths, environment, a probe callable), so
tests can make each one fail for real (an empty /dev/dri, a corrupt journal, a rejected key)
without touching the machine. Checks never raise: a crash in a check is itself a red line.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from kiosk.opa.errors import AuthError, NotConnected, NotFound, OpaError

MIN_FREE_BYTES = 200 * 1024 * 1024
FONT_SUFFIXES = (".ttf", ".otf", ".ttc")
FONT_MAGIC = (b"\x00\x01\x00\x00", b"OTTO", b"true", b"ttcf")
JOURNAL_FIX = "stop the kiosk, keep a copy of the file, see the troubleshooting table"
JOURNAL_SPACE_BYTES = 1 << 20  # below this SQLite may not make its -wal and -shm files


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self, color: bool = False) -> str:
        mark = "ok  " if self.ok else "FAIL"
        text = f"{mark} {self.name:<10} {self.detail}"
        if self.fix:
            text += f"; fix: {self.fix}"
        if color:
            return f"\033[{'32' if self.ok else '31'}m{text}\033[0m"
        return text


def check_display(env: Mapping[str, str], dri_dir: Path) -> Check:
    """The service sets SDL_VIDEODRIVER=kmsdrm; unset in a shell means the same."""
    driver = env.get("SDL_VIDEODRIVER") or "kmsdrm"
    if driver in ("dummy", "offscreen"):
        return Check(
            "display",
            False,
            f"SDL_VIDEODRIVER={driver} draws nowhere",
            "unset SDL_VIDEODRIVER or set it to kmsdrm",
        )
    if driver in ("x11", "wayland"):
        var = "DISPLAY" if driver == "x11" else "WAYLAND_DISPLAY"
        if env.get(var):
            return Check("display", True, f"{driver} on {env[var]}")
        return Check(
            "display",
            False,
            f"{driver} but ${var} is not set",
            "use kmsdrm on a Pi without a desktop",
        )
    cards = sorted(dri_dir.glob("card*"))
    if not cards:
        return Check(
            "display",
            False,
            f"{driver}: no {dri_dir}/card*",
            "enable KMS: dtoverlay=vc4-kms-v3d in /boot/firmware/config.txt, reboot",
        )
    usable = [c for c in cards if os.access(c, os.R_OK | os.W_OK)]
    if not usable:
        return Check(
            "display",
            False,
            f"{driver}: {cards[0]} not read/write for this user",
            "add the user to the video group (install.sh does it for kiosk)",
        )
    return Check("display", True, f"{driver}: {usable[0]} read/write")


def check_input(input_dir: Path) -> Check:
    devices = sorted(input_dir.glob("event*"))
    if not devices:
        return Check(
            "input",
            False,
            f"no {input_dir}/event* devices",
            "connect the touchscreen or keypad (check its cable and dmesg)",
        )
    readable = [d for d in devices if os.access(d, os.R_OK)]
    if not readable:
        return Check(
            "input",
            False,
            f"none of {len(devices)} input devices readable",
            "add the user to the input group (install.sh does it for kiosk)",
        )
    return Check("input", True, f"{len(readable)} of {len(devices)} input devices readable")


def check_font(fonts_dir: Path) -> Check:
    fonts = sorted(p for p in fonts_dir.glob("*") if p.suffix.lower() in FONT_SUFFIXES)
    if not fonts:
        return Check(
            "font",
            False,
            f"no bundled font in {fonts_dir}",
            "reinstall: the package carries kiosk/assets (sudo systemd/install.sh, or pip install)",
        )
    for font in fonts:
        with font.open("rb") as handle:
            if handle.read(4) not in FONT_MAGIC:
                return Check(
                    "font",
                    False,
                    f"{font} is not a font file",
                    "reinstall the release; the file is damaged",
                )
    return Check("font", True, ", ".join(f.name for f in fonts))


def check_clock(sync_flag: Path, timedatectl: Callable[[], str | None]) -> Check:
    """systemd-timesyncd touches the flag file once synchronised; timedatectl covers others."""
    if sync_flag.exists():
        return Check("clock", True, "synchronised (systemd-timesyncd)")
    answer = timedatectl()
    if answer is not None and answer.strip() == "yes":
        return Check("clock", True, "synchronised (timedatectl)")
    return Check(
        "clock",
        False,
        "not synchronised; PayPay rejects requests >2 min off",
        "check the network and `systemctl status systemd-timesyncd`",
    )


def check_paypay(target: str, probe: Callable[[], object] | None) -> Check:
    """A harmless signed call: the status of a payment that does not exist. NotFound means
    PayPay answered and accepted the signature; 401 means the keys are wrong."""
    if probe is None:
        return Check("paypay", True, f"{target}: not used")
    try:
        probe()
    except NotFound:
        return Check("paypay", True, f"{target}: reachable, credentials accepted")
    except AuthError as exc:
        return Check(
            "paypay",
            False,
            f"{target}: credentials rejected ({exc.code})",
            "check api_key, api_secret and merchant_id in the PayPay panel",
        )
    except NotConnected:
        return Check(
            "paypay",
            False,
            f"{target}: not reachable",
            "check the network, DNS and firewall (HTTPS to PayPay)",
        )
    except OpaError as exc:
        return Check(
            "paypay",
            False,
            f"{target}: {type(exc).__name__} status={exc.status}",
            "try again later; see PayPay's status page",
        )
    return Check("paypay", True, f"{target}: reachable, credentials accepted")


def check_disk(path: Path, min_free_bytes: int = MIN_FREE_BYTES) -> Check:
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    usage = shutil.disk_usage(existing)
    free_mb = usage.free // (1024 * 1024)
    if usage.free < min_free_bytes:
        return Check(
            "disk",
            False,
            f"{free_mb} MB free at {existing}",
            "free space (journalctl --vacuum-size=100M, apt clean)",
        )
    return Check("disk", True, f"{free_mb} MB free at {existing}")


def check_journal(path: Path, deep: bool = False) -> Check:
    """The schema table (quick, what the kiosk checks at start), or with `deep` every page
    (`integrity_check`: minutes on years of sales on an SD card)."""
    if not path.exists():
        return Check("journal", True, f"{path} not created yet (no sale so far)")
    pragma = "integrity_check" if deep else "quick_check(sqlite_schema)"
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
            rows = db.execute(f"PRAGMA {pragma}").fetchall()
    except sqlite3.Error as exc:
        if shutil.disk_usage(path.parent).free < JOURNAL_SPACE_BYTES:
            fix = "free space (see the disk line); the file is not damaged"
            return Check("journal", False, f"{path}: {exc} (its disk is full)", fix)
        return Check("journal", False, f"{path}: {exc}", JOURNAL_FIX)
    if rows != [("ok",)]:
        first = rows[0][0] if rows else "no answer"
        return Check("journal", False, f"{path}: {pragma}: {first}", JOURNAL_FIX)
    if deep:
        return Check("journal", True, f"{path}: integrity ok (every page)")
    return Check("journal", True, f"{path}: schema ok (every page: kiosk doctor --deep)")


def guarded(name: str, check: Callable[[], Check]) -> Check:
    """A check that crashes is a red line, not a traceback."""
    try:
        return check()
    except Exception as exc:
        return Check(name, False, f"check failed: {type(exc).__name__}: {exc}")


def check_mdb(port: str, ask_version: Callable[[], str | None]) -> Check:
    """vend.adapter = mdb: the HAT's serial port exists, opens, and the HAT answers `V`."""
    if port == "sim":
        return Check("mdb", True, "simulated vending machine (demo)")
    if not Path(port).exists():
        return Check(
            "mdb",
            False,
            f"{port} does not exist",
            "enable the serial port (raspi-config: serial hardware on, login shell off), "
            "seat the HAT, or set mdb.port",
        )
    if not os.access(port, os.R_OK | os.W_OK):
        return Check("mdb", False, f"no read/write access to {port}", "add the kiosk user to "
                     "the dialout group")  # fmt: skip
    try:
        answer = ask_version()
    except OSError as exc:
        return Check("mdb", False, f"cannot open {port}: {exc}", "stop other users of the port")
    if answer is None:
        return Check(
            "mdb",
            False,
            f"the HAT on {port} did not answer",
            "check the HAT has power (the machine's MDB 24 V) and that no console uses the port",
        )
    return Check("mdb", True, f"HAT on {port} answers: {answer}")
