"""Pure computation: what several annotators of one episode agree on.

Given every annotator's judgement of an episode, derive the majority rating and how strongly it
is held, a mean and spread per quality grade (1-5), and the anomaly ranges that at least two different
annotators marked at (roughly) the same time.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations

RATINGS: tuple[str, ...] = ("SUCCESS", "PARTIAL", "FAILURE", "UNKNOWN")
# Tie-break for the majority rating, most preferred first: a split vote about success must not
# read as success, so the more cautious rating wins.
CAUTION_ORDER: tuple[str, ...] = ("FAILURE", "PARTIAL", "UNKNOWN", "SUCCESS")
GRADE_NAMES: tuple[str, ...] = ("smoothness", "efficiency", "safety", "precision", "video_quality")
GRADE_RANGE = range(1, 6)  # a quality grade, 1-5
SEVERITIES: tuple[str, ...] = ("LOW", "MEDIUM", "HIGH", "CRITICAL")  # least to most severe


@dataclass(frozen=True)
class AnomalyMark:
    annotator_id: int
    type: str
    severity: str
    from_frame: int
    to_frame: int  # inclusive
    from_time: float
    to_time: float

    def __post_init__(self) -> None:
        # Fail at the boundary: an unknown severity cannot be ranked, a reversed range has no IoU.
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}, expected one of {SEVERITIES}")
        if self.to_frame < self.from_frame:
            raise ValueError(f"to_frame ({self.to_frame}) is before from_frame ({self.from_frame})")


@dataclass(frozen=True)
class Judgement:
    """One annotator's annotation of one episode."""

    annotator_id: int
    rating: str
    grades: dict[str, int | None] = field(default_factory=dict)  # 1-5 each; missing names count as None
    anomalies: tuple[AnomalyMark, ...] = ()

    def __post_init__(self) -> None:
        if self.rating not in RATINGS:
            raise ValueError(f"unknown rating {self.rating!r}, expected one of {RATINGS}")
        for name, value in self.grades.items():
            if name not in GRADE_NAMES:
                raise ValueError(f"unknown grade {name!r}, expected one of {GRADE_NAMES}")
            if value is not None and (isinstance(value, bool) or value not in GRADE_RANGE):
                raise ValueError(f"grade {name} must be an int 1..5 or None, got {value!r}")
        for mark in self.anomalies:
            if mark.annotator_id != self.annotator_id:
                raise ValueError(
                    f"anomaly of annotator {mark.annotator_id} inside judgement of {self.annotator_id}"
                )


@dataclass(frozen=True)
class GradeSummary:
    name: str
    mean: float | None  # None when nobody gave this grade
    spread: float | None  # population standard deviation; None when nobody gave it
    count: int  # how many annotators gave it


@dataclass(frozen=True)
class AgreedAnomaly:
    type: str  # most common type among the merged marks (ties: alphabetical first)
    severity: str  # the most severe among them
    from_frame: int  # union of the merged ranges
    to_frame: int
    from_time: float
    to_time: float
    annotator_ids: tuple[int, ...]  # sorted, distinct, at least 2
    mean_iou: float  # mean IoU over the agreeing pairs (graph edges) that joined the marks


@dataclass(frozen=True)
class Consensus:
    annotator_count: int
    rating: str | None  # majority rating, ties broken cautiously (see `consensus`)
    agreement: float | None  # share of annotators who chose `rating`
    rating_counts: dict[str, int]  # every rating, including zeros
    grades: tuple[GradeSummary, ...]  # in GRADE_NAMES order
    anomalies: tuple[AgreedAnomaly, ...]  # sorted by from_frame


def temporal_iou(a_from: int, a_to: int, b_from: int, b_to: int) -> float:
    """Intersection over union of two inclusive frame ranges; 0.0 when they are disjoint."""
    if a_to < a_from or b_to < b_from:
        raise ValueError("frame ranges must have to >= from")
    intersection = max(0, min(a_to, b_to) - max(a_from, b_from) + 1)
    union = (a_to - a_from + 1) + (b_to - b_from + 1) - intersection
    return intersection / union


def consensus(judgements: Sequence[Judgement], iou_threshold: float = 0.5) -> Consensus:
    """Combine the judgements of one episode, one per annotator.

    Majority rating: the rating chosen most often. When several ratings share the highest count the
    most cautious wins, in the order FAILURE, PARTIAL, UNKNOWN, SUCCESS, so that a disagreement about
    success never reads as success. `agreement` is the share of annotators who chose it.

    Agreed anomalies: marks are nodes; two marks of *different* annotators are joined when their
    temporal IoU is >= `iou_threshold`. Each connected component spanning >= 2 distinct annotators is
    one agreed anomaly; anomaly types need not match. The result does not depend on input order.
    """
    if not 0.0 < iou_threshold <= 1.0:
        raise ValueError(f"iou_threshold must be in (0, 1], got {iou_threshold}")
    ids = [j.annotator_id for j in judgements]
    if len(set(ids)) != len(ids):
        raise ValueError("each annotator may contribute at most one judgement per episode")

    counts = Counter(j.rating for j in judgements)
    rating_counts = {rating: counts[rating] for rating in RATINGS}
    rating: str | None = None
    agreement: float | None = None
    if judgements:
        top = max(rating_counts.values())
        rating = next(r for r in CAUTION_ORDER if rating_counts[r] == top)
        agreement = top / len(judgements)

    return Consensus(
        annotator_count=len(judgements),
        rating=rating,
        agreement=agreement,
        rating_counts=rating_counts,
        grades=tuple(_summarise(name, judgements) for name in GRADE_NAMES),
        anomalies=_agreed_anomalies([m for j in judgements for m in j.anomalies], iou_threshold),
    )


def _summarise(name: str, judgements: Sequence[Judgement]) -> GradeSummary:
    values = [v for j in judgements if (v := j.grades.get(name)) is not None]
    if not values:
        return GradeSummary(name, None, None, 0)
    # statistics works in exact arithmetic, so the result cannot depend on input order.
    return GradeSummary(name, float(statistics.mean(values)), statistics.pstdev(values), len(values))


def _agreed_anomalies(marks: list[AnomalyMark], threshold: float) -> tuple[AgreedAnomaly, ...]:
    # Union-find over marks; episodes carry few marks, so comparing all pairs is fine.
    parent = list(range(len(marks)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    edges: list[tuple[int, float]] = []  # (one endpoint, IoU); the component is found via root
    for i, j in combinations(range(len(marks)), 2):
        a, b = marks[i], marks[j]
        if a.annotator_id == b.annotator_id:
            continue
        iou = temporal_iou(a.from_frame, a.to_frame, b.from_frame, b.to_frame)
        if iou >= threshold:
            parent[root(i)] = root(j)
            edges.append((i, iou))

    members: dict[int, list[AnomalyMark]] = {}
    for i, mark in enumerate(marks):
        members.setdefault(root(i), []).append(mark)
    ious: dict[int, list[float]] = {}
    for i, iou in edges:
        ious.setdefault(root(i), []).append(iou)

    agreed = [
        _merge(group, ious[r]) for r, group in members.items() if len({m.annotator_id for m in group}) >= 2
    ]
    # A total order on every field keeps the output independent of the input order.
    return tuple(sorted(agreed, key=_sort_key))


def _merge(group: list[AnomalyMark], ious: list[float]) -> AgreedAnomaly:
    type_counts = Counter(m.type for m in group)
    return AgreedAnomaly(
        type=min(type_counts, key=lambda t: (-type_counts[t], t)),
        severity=max((m.severity for m in group), key=SEVERITIES.index),
        from_frame=min(m.from_frame for m in group),
        to_frame=max(m.to_frame for m in group),
        from_time=min(m.from_time for m in group),
        to_time=max(m.to_time for m in group),
        annotator_ids=tuple(sorted({m.annotator_id for m in group})),
        mean_iou=math.fsum(ious) / len(ious),  # fsum: exact, so edge order does not matter
    )


def _sort_key(a: AgreedAnomaly) -> tuple[object, ...]:
    return (a.from_frame, a.to_frame, a.from_time, a.to_time, a.annotator_ids, a.type, a.severity, a.mean_iou)
