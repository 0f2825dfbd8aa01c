"""Atomic save and load of the simulator's ledger (``--state FILE``).

Why atomic: a crash test kills the simulator at any moment; the file must then hold either the
previous state or the new one, never half of each. Write a temp file beside it, fsync, rename
over the old file, fsync the directory.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def save_atomically(path: Path, data: dict[str, Any]) -> None:
    text = json.dumps(data, separators=(",", ":"), sort_keys=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def load(path: Path) -> dict[str, Any] | None:
    """The saved state, or None when there is no file yet. A corrupt file raises ValueError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    data = json.loads(text)
    if not isinstance(data, dict) or data.get("version") != 1:
        raise ValueError(f"{path} is not a simulator state file (version 1)")
    return data
