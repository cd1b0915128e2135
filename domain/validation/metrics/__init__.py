"""Pure evaluation of detection test sessions (numpy/scipy, no I/O): matching detections to ground
truth, precision / recall / F1, COCO AP, confidence intervals, latency and the pass/fail verdict."""

from domain.validation.metrics.data import Detections, GroundTruth
from domain.validation.metrics.intervals import Interval, wilson
from domain.validation.metrics.latency import LatencyStats, latency_stats
from domain.validation.metrics.matching import Comparisons, Kind
from domain.validation.metrics.metrics import Evaluation, Metrics, evaluate
from domain.validation.metrics.verdict import Criteria, DetectionLimit, Verdict, judge

__all__ = [
    "Comparisons",
    "Criteria",
    "DetectionLimit",
    "Detections",
    "Evaluation",
    "GroundTruth",
    "Interval",
    "Kind",
    "LatencyStats",
    "Metrics",
    "Verdict",
    "evaluate",
    "judge",
    "latency_stats",
    "wilson",
]
