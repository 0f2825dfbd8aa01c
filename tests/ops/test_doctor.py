"""Each doctor check, made to fail for real and to pass."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from kiosk.engine.journal import Journal
from kiosk.opa.errors import AuthError, NotConnected, NotFound, ServerError
from kiosk.ops.doctor import (
    JOURNAL_FIX,
    Check,
    check_clock,
    check_disk,
    check_display,
    check_font,
    check_input,
    check_journal,
    check_paypay,
    guarded,
)
from tests.engine.small_disk import fill, small_disk


def test_display(tmp_path: Path) -> None:
    assert check_display({"SDL_VIDEODRIVER": "kmsdrm"}, tmp_path) == Check(
        "display",
        False,
        f"kmsdrm: no {tmp_path}/card*",
        "enable KMS: dtoverlay=vc4-kms-v3d in /boot/firmware/config.txt, reboot",
    )
    assert not check_display({"SDL_VIDEODRIVER": "dummy"}, tmp_path).ok
    assert not check_display({"SDL_VIDEODRIVER": "x11"}, tmp_path).ok
    (tmp_path / "card0").write_bytes(b"")
    assert check_display({}, tmp_path) == Check(
        "display", True, f"kmsdrm: {tmp_path}/card0 read/write"
    )


def test_input(tmp_path: Path) -> None:
    assert check_input(tmp_path).line() == (
        f"FAIL input      no {tmp_path}/event* devices; "
        "fix: connect the touchscreen or keypad (check its cable and dmesg)"
    )
    (tmp_path / "event0").write_bytes(b"")
    (tmp_path / "mice").write_bytes(b"")
    assert check_input(tmp_path).line() == "ok   input      1 of 1 input devices readable"


def test_font(tmp_path: Path) -> None:
    assert not check_font(tmp_path).ok
    (tmp_path / "broken.ttf").write_bytes(b"<html>")
    assert check_font(tmp_path).detail == f"{tmp_path}/broken.ttf is not a font file"
    (tmp_path / "broken.ttf").write_bytes(b"\x00\x01\x00\x00rest")
    assert check_font(tmp_path) == Check("font", True, "broken.ttf")


def test_bundled_font_passes() -> None:
    fonts = Path(__file__).resolve().parents[2] / "kiosk" / "assets" / "fonts"
    if fonts.exists():
        assert check_font(fonts).ok


def test_clock(tmp_path: Path) -> None:
    flag = tmp_path / "synchronized"
    assert not check_clock(flag, lambda: "no").ok
    assert not check_clock(flag, lambda: None).ok
    assert check_clock(flag, lambda: "yes\n").ok
    flag.write_bytes(b"")
    assert check_clock(flag, lambda: None).detail == "synchronised (systemd-timesyncd)"


def raising(error: Exception) -> object:
    def probe() -> object:
        raise error

    return probe


def test_paypay_answers() -> None:
    not_found = NotFound("x", status=400, code="DYNAMIC_QR_PAYMENT_NOT_FOUND")
    assert check_paypay("sandbox", raising(not_found)).ok  # type: ignore[arg-type]
    rejected = check_paypay("sandbox", raising(AuthError("x", status=401, code="UNAUTHORIZED")))  # type: ignore[arg-type]
    assert rejected.line() == (
        "FAIL paypay     sandbox: credentials rejected (UNAUTHORIZED); "
        "fix: check api_key, api_secret and merchant_id in the PayPay panel"
    )
    assert check_paypay("x", raising(NotConnected("x"))).detail == "x: not reachable"  # type: ignore[arg-type]
    assert not check_paypay("x", raising(ServerError("x", status=502))).ok  # type: ignore[arg-type]
    assert check_paypay("demo", None).ok


def test_disk(tmp_path: Path) -> None:
    assert check_disk(tmp_path / "not" / "yet", min_free_bytes=1).ok
    low = check_disk(tmp_path, min_free_bytes=1 << 62)
    assert not low.ok and low.fix.startswith("free space")


def test_journal(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    assert check_journal(path).ok  # not created yet
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE sale (id INTEGER PRIMARY KEY, amount_yen INTEGER)")
    db.close()
    assert check_journal(path).detail.endswith("schema ok (every page: kiosk doctor --deep)")
    assert check_journal(path, deep=True) == Check(
        "journal", True, f"{path}: integrity ok (every page)"
    )
    path.write_bytes(b"this is not a database" * 100)
    for deep in (False, True):
        broken = check_journal(path, deep)
        assert not broken.ok and "file is not a database" in broken.detail


def test_only_the_deep_journal_check_reads_every_page(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE sale (id INTEGER PRIMARY KEY, note TEXT)")
        db.executemany("INSERT INTO sale (note) VALUES (?)", [("x" * 500,)] * 400)
        db.commit()
    data = bytearray(path.read_bytes())
    data[4096 * 20 : 4096 * 20 + 64] = b"\xff" * 64  # a page of the table, not the schema
    path.write_bytes(bytes(data))
    assert check_journal(path).ok
    deep = check_journal(path, deep=True)
    assert not deep.ok and deep.fix == JOURNAL_FIX


def test_a_crashing_check_is_a_red_line() -> None:
    def boom() -> Check:
        raise OSError("device vanished")

    assert guarded("input", boom) == Check("input", False, "check failed: OSError: device vanished")


def test_a_journal_on_a_full_disk_is_not_called_damaged(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk") as disk:
        path = disk / "journal.sqlite3"
        Journal(path).close()  # a closed WAL journal: its -shm must be made again to read it
        filler = fill(disk)
        full = check_journal(path)
        assert not full.ok and full.detail.endswith("(its disk is full)"), full
        assert full.fix == "free space (see the disk line); the file is not damaged"
        filler.unlink()
        assert check_journal(path).ok
