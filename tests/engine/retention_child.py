"""The retention worker in a child process for the kill test: at each boundary it prints the
point and waits for a line on stdin, so the parent can SIGKILL it exactly there.

`python -m tests.engine.retention_child JOURNAL ARCHIVE_DIR NOW`
"""

from __future__ import annotations

import sys
from pathlib import Path

from kiosk.engine.journal import Journal
from kiosk.engine.retention import Retention, RetentionSettings


def pause(point: str) -> None:
    print(point, flush=True)
    sys.stdin.readline()


def main(journal_path: Path, directory: Path, now: float) -> int:
    journal = Journal(journal_path)
    settings = RetentionSettings(archive_after_days=400, prune_steps_after_days=90)
    Retention(journal, directory, settings, boundary=pause, batch=40).run_all(now)
    journal.close()
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])))
