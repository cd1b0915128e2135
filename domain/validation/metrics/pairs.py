"""Rows grouped by (frame, label), and every detection / ground-truth pair in a group with its IoU.

Both matchings (the optimal one for TP/FP/FN and COCO's greedy one for AP) only ever compare boxes of
one label on one frame, so the rows are sorted once by group and the pairs are generated with a
vectorised join instead of a loop over groups. The IoU mirrors pycocotools' `bbIou` for xywh boxes
(maskApi.c): no +1 on widths, 0 when the boxes only touch, union = area_d + area_g - intersection, and
for a crowd box the detection's area alone (COCO's iscrowd).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from domain.validation.metrics.data import Detections, GroundTruth

PAIRS_PER_CHUNK = 1 << 21  # bounds the temporaries of the join when one group is huge


@dataclass(frozen=True, eq=False)
class Grouped:
    """The rows that take part (frame in `images`, label in `labels`), sorted by group.

    group = image position * number of labels + label position. Ground truth within a group: the boxes
    that count first, then the ignored ones, each in input order (COCO's order, "sort gt ignore last");
    detections are sorted by score descending, ties in input order (COCO's stable mergesort), so
    `det_rank` is the rank COCO's maxDets cut uses. `*_rows` map back to the input.
    """

    images: np.ndarray  # (N,) sorted unique image indices
    labels: np.ndarray  # (L,) label ids, in the caller's order
    gt_rows: np.ndarray
    gt_image: np.ndarray  # position in `images`
    gt_label: np.ndarray  # position in `labels`
    gt_group: np.ndarray
    gt_boxes: np.ndarray
    gt_ignore: np.ndarray  # (G,) bool: difficult or crowd, neither a hit nor a miss
    gt_crowd: np.ndarray  # (G,) bool: measured by intersection over the detection's area
    det_rows: np.ndarray
    det_image: np.ndarray
    det_label: np.ndarray
    det_group: np.ndarray
    det_boxes: np.ndarray
    det_scores: np.ndarray
    det_rank: np.ndarray  # 0 for the best-scored detection of its group

    @property
    def n_groups(self) -> int:
        return len(self.images) * len(self.labels)


@dataclass(frozen=True, eq=False)
class Pairs:
    """Same-group pairs with IoU >= the `min_iou` asked for, as positions in Grouped (sorted by det)."""

    det: np.ndarray
    gt: np.ndarray
    iou: np.ndarray


def _positions(values: np.ndarray, universe: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position of each value in the sorted `universe`, and whether it is there at all."""
    if len(universe) == 0:
        return np.zeros(len(values), np.int64), np.zeros(len(values), bool)
    at = np.minimum(np.searchsorted(universe, values), len(universe) - 1)
    return at, universe[at] == values


def group_rows(gt: GroundTruth, det: Detections, images: np.ndarray, labels: np.ndarray) -> Grouped:
    images = np.unique(np.asarray(images, dtype=np.int64))
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    if len(np.unique(labels)) != len(labels):
        raise ValueError("labels must not repeat")
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]

    def place(image: np.ndarray, label: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        image_at, image_in = _positions(image, images)
        label_at, label_in = _positions(label, sorted_labels)
        keep = np.flatnonzero(image_in & label_in)
        label_pos = order[label_at[keep]]
        return keep, image_at[keep], label_pos

    g_keep, g_image, g_label = place(gt.image, gt.label)
    g_group = g_image * len(labels) + g_label
    g_ignore = np.asarray(gt.ignore, dtype=bool)[g_keep]
    g_order = np.lexsort((g_keep, g_ignore, g_group))  # by group, ignored last, then input order
    d_keep, d_image, d_label = place(det.image, det.label)
    d_group = d_image * len(labels) + d_label
    # lexsort: last key first; the input row breaks ties because d_keep is increasing
    d_order = np.lexsort((d_keep, -det.scores[d_keep], d_group))
    d_group = d_group[d_order]
    starts = np.searchsorted(d_group, d_group, side="left")
    return Grouped(
        images=images,
        labels=labels,
        gt_rows=g_keep[g_order],
        gt_image=g_image[g_order],
        gt_label=g_label[g_order],
        gt_group=g_group[g_order],
        gt_boxes=gt.boxes[g_keep[g_order]],
        gt_ignore=g_ignore[g_order],
        gt_crowd=np.asarray(gt.crowd, dtype=bool)[g_keep[g_order]],
        det_rows=d_keep[d_order],
        det_image=d_image[d_order],
        det_label=d_label[d_order],
        det_group=d_group,
        det_boxes=det.boxes[d_keep[d_order]],
        det_scores=det.scores[d_keep[d_order]],
        det_rank=np.arange(len(d_group)) - starts,
    )


def box_iou(d: np.ndarray, g: np.ndarray, crowd: np.ndarray | None = None) -> np.ndarray:
    """IoU of row i of `d` with row i of `g` (xywh), operation for operation as pycocotools' bbIou;
    where `crowd[i]`, the intersection over the detection's area (bbIou's iscrowd)."""
    w = np.minimum(d[:, 2] + d[:, 0], g[:, 2] + g[:, 0]) - np.maximum(d[:, 0], g[:, 0])
    h = np.minimum(d[:, 3] + d[:, 1], g[:, 3] + g[:, 1]) - np.maximum(d[:, 1], g[:, 1])
    overlap = (w > 0) & (h > 0)
    inter = np.where(overlap, w * h, 0.0)
    union = d[:, 2] * d[:, 3] + g[:, 2] * g[:, 3] - inter
    if crowd is not None:
        union = np.where(crowd, d[:, 2] * d[:, 3], union)
    out = np.zeros(len(d))
    np.divide(inter, union, out=out, where=overlap)
    return out


def candidate_pairs(grouped: Grouped, min_iou: float) -> Pairs:
    """Every (detection, ground truth) of one group with IoU >= min_iou (> 0), ordered by detection.
    Cost: the sum over groups of n_det x n_gt, in chunks of PAIRS_PER_CHUNK."""
    if not min_iou > 0:
        raise ValueError("min_iou must be > 0")
    dets = np.arange(len(grouped.det_group))
    first = np.searchsorted(grouped.gt_group, grouped.det_group[dets], side="left")
    count = np.searchsorted(grouped.gt_group, grouped.det_group[dets], side="right") - first
    ends = np.cumsum(count)
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    lo = 0
    while lo < len(dets):
        # take detections until about PAIRS_PER_CHUNK pairs (at least one detection per chunk)
        base = ends[lo - 1] if lo else 0
        hi = max(lo + 1, int(np.searchsorted(ends, base + PAIRS_PER_CHUNK, side="right")))
        n = count[lo:hi]
        total = int(n.sum())
        if total:
            d = np.repeat(dets[lo:hi], n)
            offset = np.repeat(first[lo:hi] - (np.cumsum(n) - n), n)
            g = offset + np.arange(total)
            iou = box_iou(grouped.det_boxes[d], grouped.gt_boxes[g], grouped.gt_crowd[g])
            keep = iou >= min_iou
            found.append((d[keep], g[keep], iou[keep]))
        lo = hi
    if not found:
        empty = np.zeros(0, np.int64)
        return Pairs(empty, empty.copy(), np.zeros(0))
    return Pairs(*(np.concatenate(parts) for parts in zip(*found, strict=True)))
