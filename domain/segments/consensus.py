"""Segment consensus, derived and never stored: which annotators' segments agree, and where.

Two segments agree when they carry the same label, come from different annotators and overlap in time
with an IoU of at least `min_iou` over frames (ranges inclusive: frames a..b hold b - a + 1 frames).
Per label, the pairs above the threshold are merged greedily, highest IoU first (ties by the segments'
order), into groups holding at most one segment per annotator whose every pair reaches `min_iou`
(complete linkage: a group never chains two segments that do not agree). A group of two or more is an
agreed segment: its boundaries are the medians of its members' first and last frames (and times), its
spread the range (max - min) of each boundary, in frames and in seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from domain.core.errors import BadUserInput

DEFAULT_MIN_IOU = 0.5


@dataclass(frozen=True)
class SegmentMark:
    """One annotator's segment as consensus sees it: frames inclusive, times in seconds."""

    segment_id: int
    annotator_id: int
    label_id: int
    from_frame: int
    to_frame: int
    from_time: float
    to_time: float


@dataclass(frozen=True)
class AgreedSegment:
    label_id: int
    from_frame: float  # median first frame (x.5 for an even number of annotators)
    to_frame: float  # median last frame
    from_time: float  # median of the members' start times, seconds
    to_time: float
    from_spread_frames: int  # max - min of the first frames
    to_spread_frames: int
    from_spread_seconds: float  # max - min of the start times
    to_spread_seconds: float
    mean_iou: float  # mean IoU over the group's pairs
    annotator_ids: tuple[int, ...]
    segment_ids: tuple[int, ...]


@dataclass(frozen=True)
class SegmentConsensus:
    min_iou: float
    annotator_count: int  # annotators with at least one segment on the episode
    marked: int  # segments marked
    agreed_marks: int  # of them, those in an agreed segment
    segments: tuple[AgreedSegment, ...]  # by median first frame, then label


@dataclass(frozen=True)
class SegmentAgreement:
    """Over the episodes two or more annotators marked segments on."""

    min_iou: float
    episodes: int
    marked: int
    agreed_marks: int
    agreed_share: float | None  # agreed_marks / marked; None without such episodes
    mean_iou: float | None  # mean of the agreed segments' mean IoU


def check_min_iou(min_iou: float, field: str = "min_iou") -> float:
    if not (0.0 < min_iou <= 1.0):
        raise BadUserInput(f"{field} must be above 0 and at most 1, got {min_iou!r}", field=field)
    return float(min_iou)


def iou_matrix(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """IoU over inclusive frame ranges, every pair: an (n, n) float array."""
    inter = np.minimum(ends[:, None], ends[None, :]) - np.maximum(starts[:, None], starts[None, :]) + 1
    inter = np.clip(inter, 0, None)
    lengths = ends - starts + 1
    union = lengths[:, None] + lengths[None, :] - inter
    return inter / union


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return float(ordered[middle]) if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _groups(marks: Sequence[SegmentMark], min_iou: float) -> tuple[list[list[int]], list[list[float]]]:
    """Greedy complete-linkage groups of two or more (indexes into `marks`, which are sorted by label),
    and the IoU matrix as lists. One IoU matrix for the episode: segments of different labels or of one
    annotator never pair."""
    starts = np.fromiter((m.from_frame for m in marks), dtype=np.int64, count=len(marks))
    ends = np.fromiter((m.to_frame for m in marks), dtype=np.int64, count=len(marks))
    labels = np.fromiter((m.label_id for m in marks), dtype=np.int64, count=len(marks))
    annotators = [m.annotator_id for m in marks]
    who = np.array(annotators, dtype=np.int64)
    iou = iou_matrix(starts, ends)
    candidate = (iou >= min_iou) & (labels[:, None] == labels[None, :]) & (who[:, None] != who[None, :])
    rows, cols = np.nonzero(np.triu(candidate, k=1))
    # Highest IoU first; stable, so ties keep the marks' order (row, then column).
    order = np.argsort(-iou[rows, cols], kind="stable")
    table = iou.tolist()
    group_of = list(range(len(marks)))
    members: dict[int, list[int]] = {}
    for row, col in zip(rows[order].tolist(), cols[order].tolist(), strict=True):
        a, b = group_of[row], group_of[col]
        if a == b:
            continue
        left, right = members.get(a, [a]), members.get(b, [b])
        if {annotators[i] for i in left} & {annotators[i] for i in right}:
            continue
        if any(table[i][j] < min_iou for i in left for j in right):
            continue
        members[a] = left + right
        members.pop(b, None)
        for i in right:
            group_of[i] = a
    return [sorted(g) for g in members.values()], table


def segment_consensus(marks: Sequence[SegmentMark], min_iou: float = DEFAULT_MIN_IOU) -> SegmentConsensus:
    """The agreed segments of one episode's marks (any annotators, any labels)."""
    ordered = sorted(marks, key=lambda m: (m.label_id, m.from_frame, m.to_frame, m.segment_id))
    agreed: list[AgreedSegment] = []
    groups, iou = _groups(ordered, min_iou) if len(ordered) >= 2 else ([], [])
    for group in groups:
        chosen = [ordered[i] for i in group]
        first = [m.from_frame for m in chosen]
        last = [m.to_frame for m in chosen]
        start = [m.from_time for m in chosen]
        end = [m.to_time for m in chosen]
        pairs = [iou[i][j] for k, i in enumerate(group) for j in group[k + 1 :]]
        agreed.append(
            AgreedSegment(
                label_id=chosen[0].label_id,
                from_frame=_median(first),
                to_frame=_median(last),
                from_time=_median(start),
                to_time=_median(end),
                from_spread_frames=max(first) - min(first),
                to_spread_frames=max(last) - min(last),
                from_spread_seconds=max(start) - min(start),
                to_spread_seconds=max(end) - min(end),
                mean_iou=sum(pairs) / len(pairs),
                annotator_ids=tuple(m.annotator_id for m in chosen),
                segment_ids=tuple(m.segment_id for m in chosen),
            )
        )
    agreed.sort(key=lambda s: (s.from_frame, s.to_frame, s.label_id))
    return SegmentConsensus(
        min_iou=min_iou,
        annotator_count=len({m.annotator_id for m in marks}),
        marked=len(marks),
        agreed_marks=sum(len(s.segment_ids) for s in agreed),
        segments=tuple(agreed),
    )


def segment_agreement(
    episodes: Sequence[Sequence[SegmentMark]], min_iou: float = DEFAULT_MIN_IOU
) -> SegmentAgreement:
    """Pooled over the episodes with marks of two or more annotators; the others do not count."""
    counted = marked = agreed_marks = 0
    ious: list[float] = []
    for marks in episodes:
        if len({m.annotator_id for m in marks}) < 2:
            continue
        result = segment_consensus(marks, min_iou)
        counted += 1
        marked += result.marked
        agreed_marks += result.agreed_marks
        ious.extend(s.mean_iou for s in result.segments)
    return SegmentAgreement(
        min_iou=min_iou,
        episodes=counted,
        marked=marked,
        agreed_marks=agreed_marks,
        agreed_share=agreed_marks / marked if marked else None,
        mean_iou=float(np.mean(ious)) if ious else None,
    )
