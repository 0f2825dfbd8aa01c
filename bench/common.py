"""Small helpers shared by the benchmark scripts."""

from __future__ import annotations

import statistics


def figure(name: str, value: float, unit: str, **extra: object) -> dict[str, object]:
    return {"name": name, "value": round(value, 3), "unit": unit, **extra}


def median_ms(samples_s: list[float]) -> float:
    return statistics.median(samples_s) * 1000.0


def percentile_ms(samples_s: list[float], pct: float) -> float:
    ordered = sorted(samples_s)
    index = min(len(ordered) - 1, round(pct / 100.0 * (len(ordered) - 1)))
    return ordered[index] * 1000.0
