"""The curves of a test-session report, pure numpy (no I/O): the precision-recall curve per label at the
session's IoU, and precision, recall and F1 against a score threshold.

Precision-recall (`pr_curves`): COCOeval's precision array for one IoU threshold, computed as
pycocotools does it with `params.iouThrs = [match_iou]`, area 'all' and `maxDets = [max_detections]`:
per frame and label the `max_detections` best-scored detections are matched greedily by score to the
unmatched box of highest IoU >= the threshold (the last of equals; ignored boxes, difficult or crowd,
after the others, taking any number of detections, whose detections count neither as TP nor FP);
the detections of all frames are ranked by score (ties by frame, then input order) and the interpolated
precision is sampled at COCO's 101 recall points (0 where the curve never reaches the point), with the
score of the detection at each point (COCOeval's `eval['scores']`). A label without a box that counts
has no curve (COCO's -1: None here). Its mean is that label's AP at this IoU (AP50 when it is 0.5).

Threshold sweep (`threshold_sweep`): at each threshold t, only the detections with score >= t are kept
and matched again exactly as the session's evaluation matches (the optimal assignment at the session's
IoU, every detection counted, ignored boxes ignored); TP, FP, FN, precision, recall and F1 follow, overall
and per label. At the lowest threshold (the lowest score) every detection is kept, so those figures are
the evaluation's own. Thresholds are the detections' distinct scores when there are at most
`max_thresholds`, else that many score quantiles (each an actual score, so every cut is exact).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from domain.validation.metrics.average_precision import RECALL_THRESHOLDS, interpolated_precision
from domain.validation.metrics.data import Detections, GroundTruth
from domain.validation.metrics.matching import ignored_matches, optimal_matches
from domain.validation.metrics.pairs import Grouped, Pairs, candidate_pairs, group_rows

MAX_THRESHOLDS = 100


@dataclass(frozen=True)
class LabelCurve:
    """One label's COCO precision at the 101 recall points (None: the label has no box that counts)."""

    precision: list[float] | None  # (101,) interpolated precision, 0 where the recall is never reached
    scores: list[float] | None  # (101,) score of the detection at each recall point, 0 where unreached
    ap: float | None  # mean of `precision`: COCO AP at this IoU


@dataclass(frozen=True)
class PrCurves:
    iou: float
    recall: list[float]  # COCO's 101 recall points 0, 0.01, ..., 1
    labels: list[LabelCurve]  # in the order of the labels given


@dataclass(frozen=True)
class SweepCounts:
    """Counts and rates at each threshold (lists as long as the thresholds; None where undefined)."""

    tp: list[int]
    fp: list[int]
    fn: list[int]
    precision: list[float | None]
    recall: list[float | None]
    f1: list[float | None]


@dataclass(frozen=True)
class Sweep:
    thresholds: list[float]  # ascending scores: a detection is kept when its score >= the threshold
    overall: SweepCounts
    per_label: list[SweepCounts]  # in the order of the labels given
    best: int | None  # position of the highest overall F1 (the lowest threshold of equals); None: no F1


def _greedy_at(grouped: Grouped, pairs: Pairs, limit: float) -> tuple[np.ndarray, np.ndarray]:
    """COCO's greedy match at one IoU threshold: (matched to a box that counts, on an ignored box), bool
    per grouped detection. `pairs` hold the candidate pairs (IoU >= `limit`) of the kept detections."""
    n = len(grouped.det_group)
    matched, ignored = np.zeros(n, bool), np.zeros(n, bool)
    d, g, iou = pairs.det, pairs.gt, pairs.iou
    if len(d) == 0:
        return matched, ignored
    ig = grouped.gt_ignore[g]
    d_degree = np.bincount(d, minlength=n)
    g_degree = np.bincount(g, minlength=len(grouped.gt_group))
    # a pair whose detection has no other candidate, and whose box has none (or is never used up:
    # ignored), decides alone
    isolated = (d_degree[d] == 1) & ((g_degree[g] == 1) | ig)
    matched[d[isolated & ~ig]] = True
    ignored[d[isolated & ig]] = True
    rest = ~isolated
    rd, rg, riou = d[rest], g[rest], iou[rest]
    if len(rd) == 0:
        return matched, ignored
    group = grouped.det_group[rd]
    bounds = np.flatnonzero(np.diff(group)) + 1
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(rd)], strict=True):
        dets, di = np.unique(rd[lo:hi], return_inverse=True)  # positions: by score, as COCO ranks
        gts, gi = np.unique(rg[lo:hi], return_inverse=True)  # positions: boxes that count first
        ious = np.full((len(dets), len(gts)), -1.0)  # -1: not a candidate
        ious[di, gi] = riou[lo:hi]
        counts = ~grouped.gt_ignore[gts]
        taken = np.zeros(len(gts), bool)
        for k in range(len(dets)):
            candidate = (ious[k] >= limit) & ~taken & counts
            if candidate.any():
                masked = np.where(candidate, ious[k], -1.0)
                best = len(gts) - 1 - int(masked[::-1].argmax())  # the last of equal IoUs, as COCO
                taken[best] = True
                matched[dets[k]] = True
            elif ((ious[k] >= limit) & ~counts).any():
                ignored[dets[k]] = True
    return matched, ignored


def pr_curves(
    gt: GroundTruth,
    det: Detections,
    images: np.ndarray,
    labels: list[int],
    match_iou: float,
    max_detections: int,
) -> PrCurves:
    """COCOeval's `eval['precision'][0, :, k, 0, -1]` and `eval['scores'][...]` for each label k, with
    `iouThrs = [match_iou]` and `maxDets = [max_detections]` (module docstring)."""
    grouped = group_rows(gt, det, images, np.asarray(labels))
    limit = min(match_iou, 1 - 1e-10)  # COCOeval's comparison
    kept = grouped.det_rank < max_detections
    pairs = candidate_pairs(grouped, limit)
    use = kept[pairs.det]
    matched, ignored = _greedy_at(grouped, Pairs(pairs.det[use], pairs.gt[use], pairs.iou[use]), limit)
    counting = ~grouped.gt_ignore
    positives = np.bincount(grouped.gt_label[counting], minlength=len(labels))
    order = np.lexsort((grouped.det_rows, grouped.det_image, -grouped.det_scores, grouped.det_label))
    order = order[kept[order]]
    bounds = np.searchsorted(grouped.det_label[order], np.arange(len(labels) + 1))
    curves: list[LabelCurve] = []
    for k in range(len(labels)):
        if positives[k] == 0:
            curves.append(LabelCurve(None, None, None))
            continue
        ranking = order[bounds[k] : bounds[k + 1]]
        tp, ig = matched[ranking], ignored[ranking]
        tp_cum = np.cumsum(tp & ~ig, dtype=np.float64)[None, :]
        fp_cum = np.cumsum(~tp & ~ig, dtype=np.float64)[None, :]
        precision = interpolated_precision(tp_cum, fp_cum, np.array([float(positives[k])]))[0]
        scores = np.zeros(len(RECALL_THRESHOLDS))
        if len(ranking):
            recall = tp_cum[0] / positives[k]
            at = np.searchsorted(recall, RECALL_THRESHOLDS, side="left")
            reached = at < len(ranking)
            scores[reached] = grouped.det_scores[ranking][at[reached]]
        curves.append(LabelCurve(precision.tolist(), scores.tolist(), float(precision.mean())))
    return PrCurves(match_iou, RECALL_THRESHOLDS.tolist(), curves)


def sweep_thresholds(scores: np.ndarray, max_thresholds: int = MAX_THRESHOLDS) -> np.ndarray:
    """The score thresholds of a sweep, ascending: every distinct score, or `max_thresholds` quantiles
    (actual scores: numpy's 'lower' method) when there are more; the lowest score is always one."""
    distinct = np.unique(scores)
    if len(distinct) <= max_thresholds:
        return distinct
    picks = np.quantile(distinct, np.linspace(0.0, 1.0, max_thresholds), method="lower")
    return np.unique(picks)


def _rate(part: np.ndarray, whole: np.ndarray) -> list[float | None]:
    return [float(p / w) if w > 0 else None for p, w in zip(part.tolist(), whole.tolist(), strict=True)]


def _counts(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> SweepCounts:
    return SweepCounts(
        tp=tp.astype(int).tolist(),
        fp=fp.astype(int).tolist(),
        fn=fn.astype(int).tolist(),
        precision=_rate(tp, tp + fp),
        recall=_rate(tp, tp + fn),
        f1=_rate(2 * tp, 2 * tp + fp + fn),
    )


def threshold_sweep(
    gt: GroundTruth,
    det: Detections,
    images: np.ndarray,
    labels: list[int],
    match_iou: float,
    max_thresholds: int = MAX_THRESHOLDS,
) -> Sweep:
    """Precision, recall and F1 of the detections with score >= each threshold (module docstring).
    Cost: one optimal matching per threshold over the candidate pairs, found once."""
    grouped = group_rows(gt, det, images, np.asarray(labels))
    thresholds = sweep_thresholds(grouped.det_scores, max_thresholds)
    pairs = candidate_pairs(grouped, match_iou)
    n_labels = len(labels)
    positives = np.bincount(grouped.gt_label[~grouped.gt_ignore], minlength=n_labels)
    tp = np.zeros((len(thresholds), n_labels), np.int64)
    fp = np.zeros_like(tp)
    for i, threshold in enumerate(thresholds.tolist()):
        keep = grouped.det_scores >= threshold
        use = keep[pairs.det]
        kept_pairs = Pairs(pairs.det[use], pairs.gt[use], pairs.iou[use])
        matches = optimal_matches(grouped, kept_pairs, match_iou)
        on_ignored = ignored_matches(grouped, kept_pairs, match_iou, matches)
        tp[i] = np.bincount(grouped.det_label[matches.det], minlength=n_labels)
        kept = np.bincount(grouped.det_label[keep], minlength=n_labels)
        fp[i] = kept - tp[i] - np.bincount(grouped.det_label[on_ignored.det], minlength=n_labels)
    fn = positives[None, :] - tp
    overall = _counts(tp.sum(axis=1), fp.sum(axis=1), fn.sum(axis=1))
    per_label = [_counts(tp[:, k], fp[:, k], fn[:, k]) for k in range(n_labels)]
    f1 = [-1.0 if v is None else v for v in overall.f1]
    best = int(np.argmax(f1)) if f1 and max(f1) >= 0 else None
    return Sweep(thresholds.tolist(), overall, per_label, best)
