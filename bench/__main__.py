"""`python -m bench [NAME ...]`: run every benchmark (or the named ones), one JSON line a figure."""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from collections.abc import Iterator
from typing import Protocol

import bench


class Benchmark(Protocol):
    def run(self) -> Iterator[dict[str, object]]: ...


def main(argv: list[str]) -> int:
    names = sorted(
        m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_")
    )
    wanted = [n for n in names if not argv or n.removeprefix("bench_") in argv or n in argv]
    for name in wanted:
        module: Benchmark = importlib.import_module(f"bench.{name}")  # type: ignore[assignment]
        for figure in module.run():
            print(json.dumps(figure), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
