"""Pure evaluation of detection test sessions (numpy/scipy, no I/O): matching detections to ground
truth, precision / recall / F1, COCO AP, confidence intervals, latency and the pass/fail verdict."""

from domain.evaluation.data import Detections, GroundTruth
from domain.evaluation.intervals import Interval, wilson
from domain.evaluation.latency import LatencyStats, latency_stats
from domain.evaluation.matching import Comparisons, Kind
from domain.evaluation.metrics import Evaluation, Metrics, evaluate
from domain.evaluation.verdict import Criteria, DetectionLimit, Verdict, judge

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
