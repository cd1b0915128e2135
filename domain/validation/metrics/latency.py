"""Latency of a detector over a test session: percentiles and the share within a tolerance.

Percentiles are numpy's default (linear interpolation between order statistics). A latency that is
NaN or infinite (not measured) is left out, so `count` can be lower than the input length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LatencyStats:
    """Milliseconds; every value None when no latency was measured."""

    count: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    within_tolerance: float | None  # share of latencies <= tolerance_ms, 0..1; None without a tolerance


def latency_stats(latencies_ms: np.ndarray, tolerance_ms: float | None = None) -> LatencyStats:
    values = np.asarray(latencies_ms, dtype=np.float64).reshape(-1)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return LatencyStats(0, None, None, None, None, None)
    p50, p95, p99 = (float(v) for v in np.percentile(values, [50, 95, 99]))
    within = None if tolerance_ms is None else float(np.mean(values <= tolerance_ms))
    return LatencyStats(len(values), p50, p95, p99, float(values.max()), within)
