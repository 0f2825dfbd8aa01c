"""Journal benchmarks (issue 14): what a sale costs on disk, and what years of sales cost.

- archive_sales_per_s: a 100,000-sale journal archived 400 days after its newest sale, every
  archive read back, counts and totals checked exact;
- journal_bytes_per_sale, journal_fsyncs_per_sale: 100 ordinary paid sales (each shown ~12 s,
  polled, paid, vended) driven through the engine against the simulator in a child process
  under `strace -f -c` (fsync + fdatasync), minus a run with no sale; bytes are the file's
  used pages after a checkpoint, minus an empty journal's;
- startup_ms_1m_sales (warm, cold), journal_list_ms_1m_sales, export_peak_rss_mb_1m_sales: on
  a journal of 1,000,003 sales built with direct SQL inserts (bench.journal_build; cached in
  the temp dir by schema version, about a minute of CPU to build). Cold = the file's pages
  dropped from the page cache (posix_fadvise DONTNEED, which needs no root) before a fresh
  process opens it. Export runs `kiosk journal export` as a real process; its peak RSS is the
  child's ru_maxrss, and every row is counted.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench.common import ROOT, figure
from bench.journal_build import build
from kiosk.engine.journal import SCHEMA_VERSION, Journal
from kiosk.engine.retention import Retention, RetentionSettings, archived_records

SALES = 100
BIG = 1_000_003
BUILD_VERSION = 1  # bump when journal_build changes what it writes
RUNS = 5
ARCHIVED_BUILD = 100_000
LAUNCHER = (
    "import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)"
)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _fsyncs_and_pages(count: int, workdir: Path) -> tuple[int, int]:
    workdir.mkdir(parents=True, exist_ok=True)
    trace = workdir / "strace.txt"
    strace = ["strace", "-f", "-c", "-e", "trace=fsync,fdatasync", "-o", str(trace)]
    subprocess.run(
        [*strace, sys.executable, "-m", "bench.journal_sales", str(count), str(workdir)],
        check=True,
        env=_env(),
        stdout=subprocess.DEVNULL,
    )
    total = next(line for line in trace.read_text().splitlines() if line.endswith("total"))
    with sqlite3.connect(workdir / "journal.sqlite3") as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages, free = (
            db.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_count", "freelist_count")
        )
    return int(total.split()[3]), (pages - free) * 4096


def per_sale(workdir: Path) -> Iterator[dict[str, object]]:
    if shutil.which("strace") is None:
        yield {"name": "journal_fsyncs_per_sale", "skipped": "strace is not installed"}
        return
    fsyncs0, bytes0 = _fsyncs_and_pages(0, workdir / "empty")
    fsyncs, used = _fsyncs_and_pages(SALES, workdir / "sales")
    yield figure("journal_bytes_per_sale", (used - bytes0) / SALES, "bytes", sales=SALES)
    yield figure(
        "journal_fsyncs_per_sale",
        (fsyncs - fsyncs0) / SALES,
        "fsyncs",
        sales=SALES,
        note="4 commits per sale; the rest is WAL checkpoints",
    )


def big_journal() -> Path:
    path = Path(tempfile.gettempdir()) / f"kiosk-bench-{BIG}-s{SCHEMA_VERSION}-b{BUILD_VERSION}"
    journal = path / "state" / "journal.sqlite3"
    if not (path / "built").exists():
        shutil.rmtree(path, ignore_errors=True)
        build(journal, BIG)
        (path / "built").touch()
    return journal


def _drop_cache(journal: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        file = Path(f"{journal}{suffix}")
        if file.exists():
            fd = os.open(file, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def _probe(kind: str, journal: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.journal_probe", kind, str(journal)],
        check=True,
        env=_env(),
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, float] = json.loads(out)
    return result


def _spread(samples: list[float]) -> dict[str, object]:
    return {"min": round(min(samples), 3), "max": round(max(samples), 3), "runs": len(samples)}


def startup_and_list(journal: Path) -> Iterator[dict[str, object]]:
    _probe("start", journal)  # warm the page cache
    warm = [_probe("start", journal) for _ in range(RUNS)]
    ms = [w["ms"] for w in warm]
    yield figure(
        "startup_ms_1m_sales", statistics.median(ms), "ms", cache="warm", sales=BIG,
        open_ms=round(statistics.median(w["open_ms"] for w in warm), 3), **_spread(ms),
        found={k: warm[0][k] for k in ("unfinished", "held", "open_refunds", "recent")},
    )  # fmt: skip
    cold = []
    for _ in range(3):
        _drop_cache(journal)
        cold.append(_probe("start", journal)["ms"])
    yield figure(
        "startup_ms_1m_sales", statistics.median(cold), "ms", cache="cold", sales=BIG,
        **_spread(cold),
    )  # fmt: skip
    listed = [_probe("list", journal)["ms"] for _ in range(RUNS)]
    yield figure(
        "journal_list_ms_1m_sales", statistics.median(listed), "ms", rows=20, cache="warm",
        sales=BIG, **_spread(listed),
    )  # fmt: skip
    _drop_cache(journal)
    yield figure(
        "journal_list_ms_1m_sales", _probe("list", journal)["ms"], "ms", rows=20, cache="cold",
        sales=BIG,
    )  # fmt: skip


def export(journal: Path, workdir: Path, expected: int) -> tuple[float, float]:
    """`kiosk journal export` of `journal` as a real process: (peak RSS in MB, seconds); every
    row is counted and the command must say so."""
    target = workdir / "export.csv"
    config = workdir / "export.toml"
    config.write_text(f'state_dir = "{journal.parent}"\n', encoding="utf-8")
    command = [sys.executable, "-m", "kiosk", "journal", "export", "--csv", str(target)]
    started = time.perf_counter()
    # through a small launcher: a child forked straight from this (big) process would count
    # this process's pages in its peak until its exec
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *command, "--config", str(config)],
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    said = done.stderr.strip().splitlines()[-1]
    if done.returncode != 0:
        raise RuntimeError(f"export failed: {said}")
    peak_kb = int(done.stdout.split()[-1])
    with target.open("rb") as rows:
        written = sum(1 for _ in rows) - 1  # the header
    target.unlink()
    if written != expected or said != f"wrote {expected} sales to {target}":
        raise RuntimeError(f"export wrote {written} rows and said {said!r}")
    return peak_kb / 1024, elapsed


def archive_round_trip(workdir: Path) -> dict[str, object]:
    """Archive a 100,000-sale journal as the kiosk would 400 days after its newest sale (about
    two thirds of it), then read every archive back: the counts and totals must be exact."""
    journal_path = workdir / "archive-bench" / "journal.sqlite3"
    build(journal_path, ARCHIVED_BUILD, spacing_s=950.0)  # three years
    journal = Journal(journal_path)
    everything = journal.totals(0, 1e12)
    newest = journal.query("SELECT MAX(created_at) FROM sales", ())[0][0]
    retention = Retention(journal, journal_path.parent / "archive", RetentionSettings())
    started = time.perf_counter()
    while retention.archive_batch(newest - 400 * 86400, newest):
        pass
    elapsed = time.perf_counter() - started
    archived = list(archived_records(journal, journal_path.parent / "archive"))
    files = journal.query("SELECT SUM(paid), SUM(paid_yen), SUM(refunded_yen) FROM archives", ())
    left = journal.totals(0, 1e12)
    exact = (
        tuple(files[0]) == (everything.count - left.count, everything.amount_yen - left.amount_yen,
                            everything.refunded_yen - left.refunded_yen)
        and len(archived) + len(journal.query("SELECT 1 FROM sales", ())) == ARCHIVED_BUILD
    )  # fmt: skip
    archive_bytes = sum(p.stat().st_size for p in (journal_path.parent / "archive").iterdir())
    journal.close()
    if not exact:
        raise RuntimeError("archived totals do not add up")
    return figure(
        "archive_sales_per_s", len(archived) / elapsed, "sales/s", archived=len(archived),
        totals_exact=exact, archive_bytes_per_sale=round(archive_bytes / len(archived), 1),
    )  # fmt: skip


def run() -> Iterator[dict[str, object]]:
    with tempfile.TemporaryDirectory(prefix="bench-journal-") as tmp:
        workdir = Path(tmp)
        yield from per_sale(workdir)
        small_rss, _ = export(workdir / "sales" / "journal.sqlite3", workdir, SALES)
        journal = big_journal()
        yield from startup_and_list(journal)
        yield archive_round_trip(workdir)
        rss, seconds = export(journal, workdir, BIG)
        yield figure(
            "export_peak_rss_mb_1m_sales", rss, "MB", rows=BIG, seconds=round(seconds, 1),
            rss_mb_100_sales=round(small_rss, 1),
        )  # fmt: skip
