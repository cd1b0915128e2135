"""Pass / fail of a test session against a project's criteria, with a reason for every failure.

A bound is inclusive (precision 0.80 passes min_precision 0.80). A criterion that is set but whose
metric is unavailable (None: e.g. no detection for precision, no ground truth for recall or AP, no
latency measured) fails: a session cannot prove what it did not measure.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.evaluation.latency import LatencyStats
from domain.evaluation.metrics import Metrics


@dataclass(frozen=True)
class Criteria:
    """Each bound is optional (None: not checked). Scores are fractions 0..1, latency milliseconds."""

    min_precision: float | None = None
    min_recall: float | None = None
    min_f1: float | None = None
    min_ap50: float | None = None
    max_p95_latency_ms: float | None = None


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reasons: tuple[str, ...]  # one per failed criterion, in the order of Criteria's fields


def _pair(value: float, bound: float, least: int = 2) -> tuple[str, str]:
    """Both numbers with `least` decimals, or more when those print them equal (0.799 < 0.80 reads oddly)."""
    for digits in range(least, 7):
        a, b = f"{value:.{digits}f}", f"{bound:.{digits}f}"
        if a != b:
            return a, b
    return f"{value:.6g}", f"{bound:.6g}"


def judge(criteria: Criteria, metrics: Metrics, latency: LatencyStats | None = None) -> Verdict:
    reasons: list[str] = []
    for name, bound, value in (
        ("precision", criteria.min_precision, metrics.precision),
        ("recall", criteria.min_recall, metrics.recall),
        ("F1", criteria.min_f1, metrics.f1),
        ("AP50", criteria.min_ap50, metrics.ap50),
    ):
        if bound is None:
            continue
        if value is None:
            reasons.append(f"{name} unavailable (required >= {bound:.2f})")
        elif value < bound:
            shown, required = _pair(value, bound)
            reasons.append(f"{name} {shown} < {required}")
    limit = criteria.max_p95_latency_ms
    if limit is not None:
        p95 = None if latency is None else latency.p95_ms
        if p95 is None:
            reasons.append(f"p95 latency unavailable (required <= {limit:.1f} ms)")
        elif p95 > limit:
            shown, required = _pair(p95, limit, least=1)
            reasons.append(f"p95 latency {shown} ms > {required} ms")
    return Verdict(passed=not reasons, reasons=tuple(reasons))
