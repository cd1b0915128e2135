"""TP / FP / FN by an optimal one-to-one assignment of detections to ground truth, per frame and label.

Within a group (one frame, one label) the matched pairs maximise the total IoU over the pairs whose IoU
is >= the threshold (`scipy.optimize.linear_sum_assignment`); a pair below the threshold never matches.
Unlike COCO's greedy matching by score, a confident detection cannot steal the box that a weaker one
needed, so the counts do not depend on the scores at all. (Total IoU, not the number of matches, is what
is maximised; with IoUs >= 0.5 the two almost always agree, but not always: two pairs of IoU 0.95 beat
three of 0.6.)

Ignored boxes (difficult or crowd, see data.py) take no part in that assignment. A detection it left
unmatched that overlaps an ignored box with IoU >= the threshold is IGNORED, neither TP nor FP (paired
with the ignored box of highest IoU, the last of equals as in COCOeval); an ignored box takes any number
of detections (COCO's crowd rule; VOC also ignores every detection of a difficult object), and one that
took none is IGNORED on its own, never an FN. A detection that overlaps a box that counts and an ignored
one is matched to the box that counts when the assignment can (COCOeval also tries those first).

Most groups need no solver: a valid pair whose detection and ground truth have no other valid partner
is an isolated edge of the bipartite graph, and it is in every optimal assignment. Only the rest, the
groups with a detection or box that has two candidates, go to linear_sum_assignment, one call per group.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from scipy.optimize import linear_sum_assignment

from domain.validation.metrics.pairs import Grouped, Pairs


class Kind(IntEnum):
    """What a comparison says: TP a matched pair, FP a detection matched to nothing, FN a box missed,
    IGNORED a detection on an ignored box or an ignored box (counted in none of the others)."""

    TP = 0
    FP = 1
    FN = 2
    IGNORED = 3


@dataclass(frozen=True, eq=False)
class Comparisons:
    """One row per TP pair, per unmatched detection (FP), per unmatched ground-truth box (FN), and per
    detection on an ignored box or ignored box without detection (IGNORED): every detection once, every
    box that counts once, an ignored box once per detection it took (at least once).

    `gt` and `det` are row indices into the GroundTruth and Detections given to `evaluate` (-1 where
    there is none); `iou` is 0 for FP and FN. `image` and `label` are the image index and label id.
    Sorted by image, label (in the order of `labels`), kind, then ground-truth / detection row.
    """

    kind: np.ndarray  # (n,) int8, Kind values
    gt: np.ndarray  # (n,) int64
    det: np.ndarray  # (n,) int64
    iou: np.ndarray  # (n,) float64
    image: np.ndarray  # (n,) int64
    label: np.ndarray  # (n,) int64

    def __len__(self) -> int:
        return len(self.kind)


@dataclass(frozen=True, eq=False)
class Matches:
    """The matched pairs as positions in Grouped."""

    det: np.ndarray
    gt: np.ndarray
    iou: np.ndarray


def optimal_matches(grouped: Grouped, pairs: Pairs, threshold: float) -> Matches:
    """The optimal assignment of detections to the boxes that count (ignored boxes left out)."""
    valid = (pairs.iou >= threshold) & ~grouped.gt_ignore[pairs.gt]
    d, g, iou = pairs.det[valid], pairs.gt[valid], pairs.iou[valid]
    d_degree = np.bincount(d, minlength=len(grouped.det_group))
    g_degree = np.bincount(g, minlength=len(grouped.gt_group))
    isolated = (d_degree[d] == 1) & (g_degree[g] == 1)
    found = [(d[isolated], g[isolated], iou[isolated])]
    rest = ~isolated
    rd, rg, riou = d[rest], g[rest], iou[rest]
    if len(rd):
        # pairs are ordered by detection, detections by group, so each group is one contiguous run
        group = grouped.det_group[rd]
        bounds = np.flatnonzero(np.diff(group)) + 1
        for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(rd)], strict=True):
            dets, di = np.unique(rd[lo:hi], return_inverse=True)
            gts, gi = np.unique(rg[lo:hi], return_inverse=True)
            weight = np.zeros((len(dets), len(gts)))
            weight[di, gi] = riou[lo:hi]
            rows, cols = linear_sum_assignment(weight, maximize=True)
            chosen = weight[rows, cols] > 0  # a zero is a pair below the threshold: no match
            found.append((dets[rows[chosen]], gts[cols[chosen]], weight[rows, cols][chosen]))
    return Matches(*(np.concatenate(parts) for parts in zip(*found, strict=True)))


def ignored_matches(grouped: Grouped, pairs: Pairs, threshold: float, matches: Matches) -> Matches:
    """The detections `matches` left unmatched that overlap an ignored box with IoU >= `threshold`,
    each with the ignored box of highest IoU (the last of equals, as COCOeval picks)."""
    free = np.ones(len(grouped.det_group), bool)
    free[matches.det] = False
    on = (pairs.iou >= threshold) & grouped.gt_ignore[pairs.gt] & free[pairs.det]
    d, g, iou = pairs.det[on], pairs.gt[on], pairs.iou[on]
    if len(d) == 0:
        return Matches(d, g, iou)
    order = np.lexsort((g, iou, d))  # per detection: ascending IoU, then box position; keep the last
    d, g, iou = d[order], g[order], iou[order]
    last = np.r_[d[1:] != d[:-1], True]
    return Matches(d[last], g[last], iou[last])


def comparisons(grouped: Grouped, matches: Matches, ignored: Matches) -> Comparisons:
    """Every detection and box as a comparison: `matches` from optimal_matches, `ignored` from
    ignored_matches (required: without it a detection on an ignored box would read as an FP)."""
    fp = np.ones(len(grouped.det_group), bool)
    fp[matches.det] = False
    fp[ignored.det] = False
    fn = ~grouped.gt_ignore.copy()
    fn[matches.gt] = False
    alone = grouped.gt_ignore.copy()  # ignored boxes that took no detection
    alone[ignored.gt] = False
    fp_at, fn_at, alone_at = np.flatnonzero(fp), np.flatnonzero(fn), np.flatnonzero(alone)
    kind = np.concatenate(
        [
            np.full(len(matches.det), Kind.TP),
            np.full(len(fp_at), Kind.FP),
            np.full(len(fn_at), Kind.FN),
            np.full(len(ignored.det) + len(alone_at), Kind.IGNORED),
        ]
    ).astype(np.int8)
    none_fp, none_fn, none_alone = (
        np.full(len(fp_at), -1),
        np.full(len(fn_at), -1),
        np.full(len(alone_at), -1),
    )
    gt_rows = np.concatenate(
        [
            grouped.gt_rows[matches.gt],
            none_fp,
            grouped.gt_rows[fn_at],
            grouped.gt_rows[ignored.gt],
            grouped.gt_rows[alone_at],
        ]
    )
    det_rows = np.concatenate(
        [
            grouped.det_rows[matches.det],
            grouped.det_rows[fp_at],
            none_fn,
            grouped.det_rows[ignored.det],
            none_alone,
        ]
    )
    iou = np.concatenate(
        [matches.iou, np.zeros(len(fp_at) + len(fn_at)), ignored.iou, np.zeros(len(alone_at))]
    )
    image = np.concatenate(
        [
            grouped.det_image[matches.det],
            grouped.det_image[fp_at],
            grouped.gt_image[fn_at],
            grouped.det_image[ignored.det],
            grouped.gt_image[alone_at],
        ]
    )
    label = np.concatenate(
        [
            grouped.det_label[matches.det],
            grouped.det_label[fp_at],
            grouped.gt_label[fn_at],
            grouped.det_label[ignored.det],
            grouped.gt_label[alone_at],
        ]
    )
    order = np.lexsort((det_rows, gt_rows, kind, label, image))
    return Comparisons(
        kind=kind[order],
        gt=gt_rows[order].astype(np.int64),
        det=det_rows[order].astype(np.int64),
        iou=iou[order],
        image=grouped.images[image[order]],
        label=grouped.labels[label[order]],
    )
