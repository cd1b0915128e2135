"""AP50 and AP50:95 exactly as pycocotools' COCOeval computes bbox AP with its default parameters.

COCOeval (iouType 'bbox', areaRng 'all', maxDets 100) per image and label keeps the `max_detections`
best-scored detections (stable mergesort, ties in input order; COCO's maxDets, default 100) and matches
them greedily in that order, at each IoU threshold 0.50:0.05:0.95, to the unmatched box of highest IoU
>= the threshold (the last such box on a tie); ignored boxes (difficult or crowd, COCO's `iscrowd` /
`ignore`) come after the others and only take a detection that no box that counts took, any number of
detections each, and such a detection is left out of the ranking (neither TP nor FP). Per label it then
ranks the kept detections of all images by score (ties by image, then input order), and samples the
interpolated precision (the running maximum from the right) at 101 recall points of the boxes that count;
a recall point the curve never reaches counts 0. AP is the mean over recall points (and thresholds for
AP50:95); a label without a box that counts has no AP (COCOeval's -1). The overall AP is the mean over the
labels that have one. Not mirrored: COCO's area range, which would ignore a box of more than 1e10 square
pixels.

The greedy loop runs in Python only for the groups where it can matter: a candidate pair (IoU >= 0.5)
whose detection has no other candidate, and whose box has no other candidate or is ignored, is matched
at exactly the thresholds <= its IoU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from domain.validation.metrics.pairs import Grouped, Pairs

# The same expressions as pycocotools.cocoeval.Params.setDetParams, so the floats are identical.
IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
RECALL_THRESHOLDS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
MAX_DETECTIONS = 100
# COCOeval compares with min(t, 1 - 1e-10)
_LIMITS = np.minimum(IOU_THRESHOLDS, 1 - 1e-10)


@dataclass(frozen=True, eq=False)
class RankedLabel:
    """One label's kept detections in COCO's ranking, with what the bootstrap needs to re-rank them.
    Detections ignored at IoU 0.5 (on an ignored box) are left out: they change no value of the curve."""

    image: np.ndarray  # (n,) image position of each ranked detection
    tp50: np.ndarray  # (n,) bool, matched at IoU 0.5
    gt_per_image: np.ndarray  # (N,) ground-truth boxes of this label that count, per image position


@dataclass(frozen=True, eq=False)
class GreedyMatches:
    """(T, n_det) bool each: matched to a box that counts / to an ignored box, per IoU threshold."""

    matched: np.ndarray
    ignored: np.ndarray


@dataclass(frozen=True)
class AveragePrecision:
    ap50: list[float | None]  # per label position
    ap50_95: list[float | None]
    overall_ap50: float | None
    overall_ap50_95: float | None
    ranked: list[RankedLabel]


def greedy_matches(grouped: Grouped, pairs: Pairs) -> GreedyMatches:
    """COCO's greedy match of each detection at each IoU threshold. `pairs` must hold the candidate pairs
    (IoU >= 0.5) of the kept detections (rank < the maxDets limit) only."""
    shape = (len(IOU_THRESHOLDS), len(grouped.det_group))
    matched, ignored = np.zeros(shape, bool), np.zeros(shape, bool)
    d, g, iou = pairs.det, pairs.gt, pairs.iou
    ig = grouped.gt_ignore[g]
    d_degree = np.bincount(d, minlength=len(grouped.det_group))
    g_degree = np.bincount(g, minlength=len(grouped.gt_group))
    # an ignored box is never used up, so only the detection's other candidates matter for it
    isolated = (d_degree[d] == 1) & ((g_degree[g] == 1) | ig)
    hits = iou[None, :] >= _LIMITS[:, None]
    one = isolated & ~ig
    matched[:, d[one]] = hits[:, one]
    one = isolated & ig
    ignored[:, d[one]] = hits[:, one]
    rest = ~isolated
    rd, rg, riou = d[rest], g[rest], iou[rest]
    if len(rd) == 0:
        return GreedyMatches(matched, ignored)
    group = grouped.det_group[rd]
    bounds = np.flatnonzero(np.diff(group)) + 1
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(rd)], strict=True):
        # positions sort detections by score (COCO's order) and boxes as COCO does (ignored last)
        dets, di = np.unique(rd[lo:hi], return_inverse=True)
        gts, gi = np.unique(rg[lo:hi], return_inverse=True)
        ious = np.zeros((len(dets), len(gts)))  # 0 < 0.5: a non-candidate never matches
        ious[di, gi] = riou[lo:hi]
        counts = ~grouped.gt_ignore[gts]
        taken = np.zeros((len(IOU_THRESHOLDS), len(gts)), bool)
        for k in range(len(dets)):
            over = ious[k][None, :] >= _LIMITS[:, None]
            candidate = over & ~taken & counts[None, :]
            hit = candidate.any(axis=1)
            masked = np.where(candidate, ious[k][None, :], -1.0)
            best = len(gts) - 1 - masked[:, ::-1].argmax(axis=1)  # the last of equal IoUs, as COCO
            taken[hit, best[hit]] = True
            matched[hit, dets[k]] = True
            # no box that counts: an ignored one (any, however many detections it took) ignores it
            ignored[~hit, dets[k]] = (over[~hit] & ~counts[None, :]).any(axis=1)
    return GreedyMatches(matched, ignored)


def interpolated_precision(tp_cum: np.ndarray, fp_cum: np.ndarray, positives: np.ndarray) -> np.ndarray:
    """COCO's precision at each recall threshold, one row per curve.

    `tp_cum`, `fp_cum`: (rows, n) cumulative (possibly weighted) TP and FP counts along the ranking;
    `positives`: (rows,) ground-truth boxes, > 0. Returns (rows, len(RECALL_THRESHOLDS)).
    """
    rows, n = tp_cum.shape
    out = np.zeros((rows, len(RECALL_THRESHOLDS)))
    if n == 0:
        return out
    recall = tp_cum / positives[:, None]
    precision = tp_cum / (fp_cum + tp_cum + np.spacing(1))
    precision = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
    for r in range(rows):
        at = np.searchsorted(recall[r], RECALL_THRESHOLDS, side="left")
        reached = at < n
        out[r, reached] = precision[r, at[reached]]
    return out


def average_precision(
    grouped: Grouped, pairs: Pairs, max_detections: int = MAX_DETECTIONS
) -> AveragePrecision:
    """AP per label and overall; `pairs` are candidate pairs with IoU >= 0.5 (or lower; filtered here).
    Only the `max_detections` best-scored detections of each frame and label take part (COCO's maxDets)."""
    kept = grouped.det_rank < max_detections
    use = (pairs.iou >= IOU_THRESHOLDS[0]) & kept[pairs.det]
    greedy = greedy_matches(grouped, Pairs(pairs.det[use], pairs.gt[use], pairs.iou[use]))
    n_labels, n_images = len(grouped.labels), len(grouped.images)
    counting = ~grouped.gt_ignore
    gt_counts = np.bincount(grouped.gt_group[counting], minlength=grouped.n_groups).reshape(
        n_images, n_labels
    )
    # one ranking for all labels: label, then score descending, then image, then input row
    order = np.lexsort((grouped.det_rows, grouped.det_image, -grouped.det_scores, grouped.det_label))
    order = order[kept[order]]
    label_bounds = np.searchsorted(grouped.det_label[order], np.arange(n_labels + 1))
    ap50: list[float | None] = []
    ap50_95: list[float | None] = []
    curves: list[np.ndarray] = []
    ranked: list[RankedLabel] = []
    for k in range(n_labels):
        ranking = order[label_bounds[k] : label_bounds[k + 1]]
        tp = greedy.matched[:, ranking]
        ig = greedy.ignored[:, ranking]
        at50 = ~ig[0]
        ranked.append(RankedLabel(grouped.det_image[ranking][at50], tp[0][at50], gt_counts[:, k]))
        positives = int(gt_counts[:, k].sum())
        if positives == 0:
            ap50.append(None)
            ap50_95.append(None)
            continue
        # COCOeval's accumulate: an ignored detection keeps its place and adds to neither sum
        tp_cum = np.cumsum(tp & ~ig, axis=1, dtype=np.float64)
        fp_cum = np.cumsum(~tp & ~ig, axis=1, dtype=np.float64)
        curve = interpolated_precision(tp_cum, fp_cum, np.full(len(IOU_THRESHOLDS), float(positives)))
        curves.append(curve)
        ap50.append(float(np.mean(curve[0])))
        ap50_95.append(float(np.mean(curve)))
    stacked = np.stack(curves) if curves else None
    return AveragePrecision(
        ap50=ap50,
        ap50_95=ap50_95,
        # COCOeval's summarize: the mean over every (label, recall point[, threshold]) entry > -1
        overall_ap50=None if stacked is None else float(np.mean(stacked[:, 0, :])),
        overall_ap50_95=None if stacked is None else float(np.mean(stacked)),
        ranked=ranked,
    )
