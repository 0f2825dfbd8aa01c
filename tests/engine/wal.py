"""Count the commits in a SQLite WAL file: with synchronous=FULL each is one fsync of the log."""

from __future__ import annotations

import struct
from pathlib import Path

HEADER = 32
FRAME_HEADER = 24


def wal_commits(path: Path) -> int:
    """Commit frames (a non-zero "database size after commit") of the WAL's current
    generation (frames whose salts match the header's)."""
    data = Path(f"{path}-wal").read_bytes()
    if len(data) < HEADER:
        return 0
    page_size = struct.unpack(">I", data[8:12])[0]
    salts = data[16:24]
    commits, offset = 0, HEADER
    while offset + FRAME_HEADER + page_size <= len(data):
        frame = data[offset : offset + FRAME_HEADER]
        if frame[8:16] != salts:
            break
        commits += struct.unpack(">I", frame[4:8])[0] != 0
        offset += FRAME_HEADER + page_size
    return commits
