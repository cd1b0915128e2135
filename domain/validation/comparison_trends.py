"""A project's dashboard of its test sessions: the best session per metric, and each metric over time.

Read from what each evaluated session stored (test_session.metrics), so nothing is recomputed and a
session's numbers stay those of its own evaluation (its frames, its matchIou). Sessions not evaluated
yet, and metrics a session could not define (None), are left out. Higher is better for AP50, AP50:95,
F1, precision and recall; lower for latency p95. Ties go to the earlier session.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from domain.validation.comparison_bootstrap import METRICS
from persistence.documents import SessionMetrics
from persistence.tables import TestSessionRow

LOWER_IS_BETTER = {"LATENCY_P95"}


def metric_value(metrics: SessionMetrics, metric: str) -> float | None:
    """A metric of METRICS from a stored evaluation (fractions 0..1; latency p95 in ms)."""
    overall = metrics.overall
    return {
        "AP50": overall.ap50,
        "AP50_95": overall.ap50_95,
        "F1": overall.f1,
        "PRECISION": overall.precision,
        "RECALL": overall.recall,
        "LATENCY_P95": metrics.latency.p95,
    }[metric]


@dataclass(frozen=True)
class TrendPoint:
    session: TestSessionRow
    at: datetime  # when the session started (created, if it never started)
    value: float


@dataclass(frozen=True)
class MetricTrend:
    metric: str
    points: list[TrendPoint]  # oldest first
    best: TrendPoint | None  # the best value (None: no session defines it)


def session_trends(rows: Sequence[TestSessionRow]) -> list[MetricTrend]:
    """Per metric of METRICS, in that order: the evaluated sessions' values by time, and the best."""
    evaluated = sorted(
        (r for r in rows if r.metrics is not None), key=lambda r: (r.started_at or r.created_at, r.id)
    )
    out = []
    for metric in METRICS:
        points = []
        for row in evaluated:
            assert row.metrics is not None  # filtered above
            value = metric_value(row.metrics, metric)
            if value is not None:
                points.append(TrendPoint(row, row.started_at or row.created_at, value))
        sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
        best = max(points, key=lambda p: sign * p.value, default=None)  # max keeps the first of equals
        out.append(MetricTrend(metric, points, best))
    return out
