"""A real small filesystem that can really fill up: a tmpfs mounted for one test.

Root (here and in CI) may mount; anywhere mounting is not permitted the test is skipped, and
the skip says so. `fill` writes a file until the kernel answers ENOSPC; deleting that file is
the attendant freeing the space."""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

FILLER = "filler"


@contextmanager
def small_disk(where: Path, size: str = "8m") -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as exc:  # no mount(8) at all
        pytest.skip(f"mounting a small tmpfs is not possible here: {exc}")
    if done.returncode != 0:
        pytest.skip(f"mounting a small tmpfs is not permitted here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "--lazy", str(where)], check=True)


def free_bytes(disk: Path) -> int:
    stats = os.statvfs(disk)
    return stats.f_bavail * stats.f_frsize


def fill(disk: Path) -> Path:
    """Write `disk`/filler until the kernel refuses: the disk is then really full."""
    filler = disk / FILLER
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (1 << 20, 1 << 12, 1):
            chunk = b"\0" * size
            while True:
                try:
                    os.write(fd, chunk)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC, exc
                    break
    finally:
        os.close(fd)
    assert free_bytes(disk) == 0
    return filler


def truncate_wal(journal: Path) -> None:
    """Give back the space SQLite's write-ahead log already holds (it reuses it without asking
    the filesystem), so the journal's next write needs new space: a real disk fills at some
    write, this makes it the next one. The same checkpoint any reader of the journal may run."""
    with closing(sqlite3.connect(journal, timeout=10)) as db:
        for _ in range(100):
            busy, log, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if not busy and log == 0:
                return
        raise AssertionError(f"the journal's WAL could not be checkpointed: busy={busy}")


def integrity(journal: Path) -> str:
    with closing(sqlite3.connect(f"file:{journal}?mode=ro", uri=True)) as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])
