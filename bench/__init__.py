"""Benchmark scripts. Each `bench/bench_*.py` has `run() -> Iterator[Figure]`; figures print as
JSON lines. Figures are medians and ratios, never pass/fail assertions: the machines are shared."""
