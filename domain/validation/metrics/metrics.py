"""The entry point: `evaluate` a detector's boxes against the ground truth of a set of frames.

Only rows whose frame is in `images` and whose label is in `labels` take part; the others are left out
of everything, comparisons included (a detection of a label the project does not validate is not an
error of the detector). Counts come from the optimal assignment at `match_iou` and use every
detection; AP50 and AP50:95 are COCOeval's (greedy matching, at most `max_detections` detections per
frame and label, COCO's maxDets, default 100, its own IoU thresholds), so the two can disagree on which
detection is a TP. `beyond_limit` says how many detections that limit left out of AP, on how many frames.
Ignored ground truth (difficult, crowd: see data.py) counts nowhere: a detection on it is neither TP
nor FP, and it is never an FN (`ignored` counts those detections).

Undefined values are None, never 0 or NaN: precision when TP + FP = 0 (no detection), recall when
TP + FN = 0 (no ground truth), F1 = 2 TP / (2 TP + FP + FN) when all three are 0 (F1 is 0, not None, when
TP = 0 and there is anything else), AP when the label has no ground truth (the overall AP when no label
has any), a confidence interval when its statistic is None or `bootstrap` is 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from domain.validation.metrics.average_precision import IOU_THRESHOLDS, MAX_DETECTIONS, average_precision
from domain.validation.metrics.bootstrap import resample
from domain.validation.metrics.data import Detections, GroundTruth
from domain.validation.metrics.intervals import Interval, percentile_interval, wilson
from domain.validation.metrics.matching import Comparisons, comparisons, ignored_matches, optimal_matches
from domain.validation.metrics.pairs import candidate_pairs, group_rows


@dataclass(frozen=True)
class Metrics:
    """Detection quality over all frames, for one label or for all of them.

    Intervals are 95 %: Wilson's for precision (TP out of TP + FP) and recall (TP out of TP + FN); the
    bootstrap percentile interval over images for F1 and AP50 (see bootstrap.py).
    """

    tp: int
    fp: int
    fn: int
    precision: float | None
    recall: float | None
    f1: float | None
    ap50: float | None
    ap50_95: float | None
    precision_ci: Interval | None
    recall_ci: Interval | None
    f1_ci: Interval | None
    ap50_ci: Interval | None


@dataclass(frozen=True)
class Evaluation:
    overall: Metrics
    per_label: dict[int, Metrics]  # label id -> metrics, in the order of `labels`
    comparisons: Comparisons
    images: int  # frames evaluated
    match_iou: float  # the IoU a detection needs to match a box
    bootstrap: int  # resamples drawn (0: no bootstrap interval)
    ignored_boxes: int = 0  # ground truth ignored (difficult, crowd) on the frames evaluated
    ignored: int = 0  # detections on an ignored box at `match_iou`: neither TP nor FP
    max_detections: int = MAX_DETECTIONS  # per frame and label in AP (COCO's maxDets)
    beyond_limit: int = 0  # detections that limit left out of AP
    frames_beyond_limit: int = 0  # frames where it left some out


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole > 0 else None


def _metrics(
    tp: int,
    fp: int,
    fn: int,
    ap50: float | None,
    ap50_95: float | None,
    f1_samples: np.ndarray | None,
    ap50_samples: np.ndarray | None,
) -> Metrics:
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    return Metrics(
        tp=tp,
        fp=fp,
        fn=fn,
        precision=_ratio(tp, tp + fp),
        recall=_ratio(tp, tp + fn),
        f1=f1,
        ap50=ap50,
        ap50_95=ap50_95,
        precision_ci=wilson(tp, tp + fp),
        recall_ci=wilson(tp, tp + fn),
        f1_ci=None if f1 is None or f1_samples is None else percentile_interval(f1_samples),
        ap50_ci=None if ap50 is None or ap50_samples is None else percentile_interval(ap50_samples),
    )


def evaluate(
    gt: GroundTruth,
    det: Detections,
    images: np.ndarray,
    labels: list[int] | np.ndarray,
    *,
    match_iou: float = 0.5,
    bootstrap: int = 200,
    seed: int = 0,
    max_detections: int = MAX_DETECTIONS,
) -> Evaluation:
    """Compare `det` with `gt` on the frames `images` (image indices, duplicates ignored) for `labels`.

    Deterministic for a given input and seed. Cost: about linear in boxes, plus the pairs of boxes of one
    label on one frame, plus `bootstrap` x detections for the intervals.
    """
    if not 0 < match_iou <= 1:
        raise ValueError("match_iou must be in (0, 1]")
    if bootstrap < 0:
        raise ValueError("bootstrap must be >= 0")
    if max_detections < 1:
        raise ValueError("max_detections must be >= 1")
    grouped = group_rows(gt, det, images, np.asarray(labels))
    n_images, n_labels = len(grouped.images), len(grouped.labels)
    # one join serves both matchings: COCO needs pairs from IoU 0.5, ours from the threshold
    pairs = candidate_pairs(grouped, min(match_iou, float(IOU_THRESHOLDS[0])))
    matches = optimal_matches(grouped, pairs, match_iou)
    ignored = ignored_matches(grouped, pairs, match_iou, matches)
    ap = average_precision(grouped, pairs, max_detections)

    groups = grouped.n_groups
    tp = np.bincount(grouped.det_group[matches.det], minlength=groups)
    per_group = np.bincount(grouped.det_group, minlength=groups)
    fp = per_group - tp - np.bincount(grouped.det_group[ignored.det], minlength=groups)
    fn = np.bincount(grouped.gt_group[~grouped.gt_ignore], minlength=groups) - tp
    beyond = np.maximum(per_group - max_detections, 0)
    counts = np.stack([tp, fp, fn], axis=-1).reshape(n_images, n_labels, 3)
    per_label_counts = counts.sum(axis=0)
    samples = resample(counts, ap.ranked, bootstrap, seed) if bootstrap else None

    per_label = {}
    for k, label in enumerate(grouped.labels.tolist()):
        l_tp, l_fp, l_fn = (int(v) for v in per_label_counts[k])
        per_label[label] = _metrics(
            l_tp,
            l_fp,
            l_fn,
            ap.ap50[k],
            ap.ap50_95[k],
            None if samples is None else samples.f1[:, k],
            None if samples is None else samples.ap50[:, k],
        )
    o_tp, o_fp, o_fn = (int(v) for v in per_label_counts.sum(axis=0))
    overall = _metrics(
        o_tp,
        o_fp,
        o_fn,
        ap.overall_ap50,
        ap.overall_ap50_95,
        None if samples is None else samples.overall_f1,
        None if samples is None else samples.overall_ap50,
    )
    return Evaluation(
        overall=overall,
        per_label=per_label,
        comparisons=comparisons(grouped, matches, ignored),
        images=n_images,
        match_iou=match_iou,
        bootstrap=bootstrap,
        ignored_boxes=int(grouped.gt_ignore.sum()),
        ignored=len(ignored.det),
        max_detections=max_detections,
        beyond_limit=int(beyond.sum()),
        frames_beyond_limit=int((beyond.reshape(n_images, n_labels) > 0).any(axis=1).sum()),
    )
