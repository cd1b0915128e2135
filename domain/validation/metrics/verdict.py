"""Pass / fail of a test session against a project's criteria, with a reason for every failure.

A bound is inclusive (precision 0.80 passes min_precision 0.80). A criterion that is set but whose
metric is unavailable (None: e.g. no detection for precision, no ground truth for recall or AP, no
latency measured) fails: a session cannot prove what it did not measure.

When the detections-per-frame limit of AP (COCO's maxDets, the session's maxDetections) left detections
out, the verdict says so in a note, and a failed AP criterion's reason names the limit: a frame with
more objects than the limit caps AP below 1 even for a perfect detector.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.validation.metrics.latency import LatencyStats
from domain.validation.metrics.metrics import Metrics


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
    notes: tuple[str, ...] = ()  # what the numbers must be read with, passed or not


@dataclass(frozen=True)
class DetectionLimit:
    """The detections-per-frame-and-label limit of AP and what it left out."""

    max_detections: int
    beyond_limit: int = 0  # detections left out of AP
    frames_beyond_limit: int = 0

    def note(self) -> str | None:
        if not self.beyond_limit:
            return None
        return (
            f"AP counted at most {self.max_detections} detections per frame and label (maxDetections): "
            f"{self.beyond_limit} detection(s) on {self.frames_beyond_limit} frame(s) were left out of "
            "AP50 and AP50:95; precision, recall and F1 count every detection"
        )


def _pair(value: float, bound: float, least: int = 2) -> tuple[str, str]:
    """Both numbers with `least` decimals, or more when those print them equal (0.799 < 0.80 reads oddly)."""
    for digits in range(least, 7):
        a, b = f"{value:.{digits}f}", f"{bound:.{digits}f}"
        if a != b:
            return a, b
    return f"{value:.6g}", f"{bound:.6g}"


def judge(
    criteria: Criteria,
    metrics: Metrics,
    latency: LatencyStats | None = None,
    limit: DetectionLimit | None = None,
) -> Verdict:
    reasons: list[str] = []
    cut = limit.note() if limit is not None else None
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
            reason = f"{name} {shown} < {required}"
            if name == "AP50" and cut is not None and limit is not None:
                reason += (
                    f" ({limit.beyond_limit} detection(s) beyond maxDetections {limit.max_detections} "
                    "per frame and label were left out of AP)"
                )
            reasons.append(reason)
    max_latency = criteria.max_p95_latency_ms
    if max_latency is not None:
        p95 = None if latency is None else latency.p95_ms
        if p95 is None:
            reasons.append(f"p95 latency unavailable (required <= {max_latency:.1f} ms)")
        elif p95 > max_latency:
            shown, required = _pair(p95, max_latency, least=1)
            reasons.append(f"p95 latency {shown} ms > {required} ms")
    return Verdict(passed=not reasons, reasons=tuple(reasons), notes=(cut,) if cut else ())
