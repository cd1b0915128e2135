"""Paired bootstrap over frames for comparing test sessions (pure numpy, no I/O).

Each session is first reduced, on the frames every compared session processed, to what a resample
needs: TP / FP / FN per frame and label from the session's optimal matching at its `match_iou` (for
precision, recall, F1), each kept detection's COCO greedy match at the ten IoU thresholds 0.50:0.95 in
COCO's ranking (for AP50 and AP50:95; see metrics/average_precision.py), the ground truth that counts per
frame and label, and the latencies with their frames (for the p95).

A resample draws the N common frames with replacement, N times, from `numpy.random.default_rng(seed)`,
one `integers(0, N, size=N)` call per resample; the same draws serve every session (paired). A frame
drawn k times counts k times with all its boxes, detections and latencies. Nothing is matched again:
the metrics are recomputed from the per-frame matches weighted by each frame's multiplicity, which is
exactly COCOeval's AP of the resampled set (see metrics/bootstrap.py: copies of a detection are adjacent
in the ranking when scores do not tie across frames) and numpy's linear percentile of the repeated
latencies. A resample where a metric is undefined (no ground truth drawn, no detection) gives NaN; the
interval leaves such resamples out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from domain.validation.metrics.average_precision import (
    IOU_THRESHOLDS,
    MAX_DETECTIONS,
    RECALL_THRESHOLDS,
    greedy_matches,
)
from domain.validation.metrics.bootstrap import f1_score
from domain.validation.metrics.data import Detections, GroundTruth
from domain.validation.metrics.matching import ignored_matches, optimal_matches
from domain.validation.metrics.pairs import Pairs, candidate_pairs, group_rows

# The metrics compared, in this order everywhere; LATENCY_P95 is overall only (milliseconds).
METRICS = ("AP50", "AP50_95", "F1", "PRECISION", "RECALL", "LATENCY_P95")
LABEL_METRICS = METRICS[:-1]
ELEMENTS_PER_CHUNK = 250_000  # resamples x detections (or latencies) held at once: cache-sized


@dataclass(frozen=True, eq=False)
class RankedDetections:
    """One label's kept detections in COCO's ranking.

    `image`: (n,) frame position of each; `tp_at[t]`: positions (into the ranking) of the detections
    matched at IoU threshold t; `counted[t]`: (n,) bool, not on an ignored box at t, or None when all are
    (a detection on an ignored box keeps its place and adds to neither sum, as in COCOeval)."""

    image: np.ndarray
    tp_at: list[np.ndarray]
    counted: list[np.ndarray | None]


@dataclass(frozen=True, eq=False)
class SessionSample:
    """A session reduced to per-frame matches on the common frames (N frames, L labels)."""

    counts: np.ndarray  # (N, L, 3) int64: TP, FP, FN per frame and label at the session's match_iou
    ranked: list[RankedDetections]  # per label position
    gt_per_image: np.ndarray  # (N, L) int64: ground-truth boxes that count
    latency: np.ndarray  # (m,) float64 ms, finite, sorted ascending
    latency_image: np.ndarray  # (m,) frame position of each latency


def session_sample(
    gt: GroundTruth,
    det: Detections,
    n_images: int,
    n_labels: int,
    *,
    match_iou: float,
    max_detections: int = MAX_DETECTIONS,
    latency_ms: np.ndarray | None = None,
    latency_image: np.ndarray | None = None,
) -> SessionSample:
    """Reduce one session: `gt` and `det` use frame positions 0..n_images-1 and label ids
    0..n_labels-1; `latency_ms` / `latency_image` (same length) are its latencies and their frames
    (non-finite ones are left out). The matching is the evaluation's own (metrics/metrics.py)."""
    labels = np.arange(n_labels)
    grouped = group_rows(gt, det, np.arange(n_images), labels)
    pairs = candidate_pairs(grouped, min(match_iou, float(IOU_THRESHOLDS[0])))
    matches = optimal_matches(grouped, pairs, match_iou)
    ignored = ignored_matches(grouped, pairs, match_iou, matches)
    groups = grouped.n_groups
    tp = np.bincount(grouped.det_group[matches.det], minlength=groups)
    per_group = np.bincount(grouped.det_group, minlength=groups)
    fp = per_group - tp - np.bincount(grouped.det_group[ignored.det], minlength=groups)
    fn = np.bincount(grouped.gt_group[~grouped.gt_ignore], minlength=groups) - tp
    counts = np.stack([tp, fp, fn], axis=-1).reshape(n_images, n_labels, 3)
    gt_per_image = np.bincount(grouped.gt_group[~grouped.gt_ignore], minlength=groups).reshape(
        n_images, n_labels
    )

    # COCO's ranking, as metrics/average_precision.average_precision builds it
    kept = grouped.det_rank < max_detections
    use = (pairs.iou >= IOU_THRESHOLDS[0]) & kept[pairs.det]
    greedy = greedy_matches(grouped, Pairs(pairs.det[use], pairs.gt[use], pairs.iou[use]))
    order = np.lexsort((grouped.det_rows, grouped.det_image, -grouped.det_scores, grouped.det_label))
    order = order[kept[order]]
    bounds = np.searchsorted(grouped.det_label[order], np.arange(n_labels + 1))
    ranked = []
    for k in range(n_labels):
        ranking = order[bounds[k] : bounds[k + 1]]
        matched = greedy.matched[:, ranking]
        on_ignored = greedy.ignored[:, ranking]
        ranked.append(
            RankedDetections(
                image=grouped.det_image[ranking],
                tp_at=[np.flatnonzero(matched[t] & ~on_ignored[t]) for t in range(len(IOU_THRESHOLDS))],
                counted=[
                    None if not on_ignored[t].any() else ~on_ignored[t] for t in range(len(IOU_THRESHOLDS))
                ],
            )
        )
    if latency_ms is None:
        values, images = np.zeros(0), np.zeros(0, np.int64)
    else:
        values = np.asarray(latency_ms, dtype=np.float64).reshape(-1)
        images = np.asarray(latency_image, dtype=np.int64).reshape(-1)
        finite = np.isfinite(values)
        values, images = values[finite], images[finite]
        by_value = np.argsort(values, kind="stable")
        values, images = values[by_value], images[by_value]
    return SessionSample(counts, ranked, gt_per_image, values, images)


def _ratio(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    out = np.full(np.shape(whole), np.nan)
    np.divide(part, whole, out=out, where=whole > 0)
    return out


def _recall_counts(positives: np.ndarray) -> np.ndarray:
    """(R, 101) the least TP count c with c / P >= each recall threshold in float64, as COCO compares
    (recall = tp / P, then searchsorted 'left'); P > 0."""
    p = positives.astype(np.float64)[:, None]
    c = np.ceil(RECALL_THRESHOLDS[None, :] * p)
    for _ in range(4):  # the product's rounding is off by at most one count
        lower = (c - 1 >= 0) & ((c - 1) / p >= RECALL_THRESHOLDS[None, :])
        higher = c / p < RECALL_THRESHOLDS[None, :]
        if not (lower.any() or higher.any()):
            break
        c = c - lower + higher
    return c.astype(np.int64)


def _interpolated_means(tp_cum: np.ndarray, seen: np.ndarray, positives: np.ndarray) -> np.ndarray:
    """(R,) the mean of COCO's interpolated precision at the 101 recall points, the same floats as
    metrics/average_precision.interpolated_precision(tp_cum, seen - tp_cum, positives).mean(axis=1).

    `tp_cum`, `seen`: (R, k) integer TP and counted detections at or above each TP. The running maximum
    from the right is taken only where it is sampled: segment maxima between the recall points
    (np.maximum.reduceat), then a maximum over those 101 values."""
    rows, k = tp_cum.shape
    precision = np.zeros((rows, k + 1))  # the last column: 0, a recall point never reached
    np.divide(tp_cum, seen + np.spacing(1), out=precision[:, :k])
    counts = _recall_counts(positives)
    at = np.empty((rows, len(RECALL_THRESHOLDS) + 1), dtype=np.int64)
    for r in range(rows):
        at[r, :-1] = np.searchsorted(tp_cum[r], counts[r], side="left")
    at[:, -1] = k  # each row's segments end at its zero column
    flat = (at + np.arange(rows)[:, None] * (k + 1)).ravel()
    segments = np.maximum.reduceat(precision.ravel(), flat).reshape(rows, -1)[:, :-1]
    sampled = np.maximum.accumulate(segments[:, ::-1], axis=1)[:, ::-1]
    return sampled.mean(axis=1)


def _weighted_ap(label: RankedDetections, weights: np.ndarray, positives: np.ndarray) -> np.ndarray:
    """(R, T) AP of one label at each IoU threshold under frame weights (R, N); NaN without positives."""
    rows = weights.shape[0]
    out = np.full((rows, len(IOU_THRESHOLDS)), np.nan)
    drawn = positives > 0
    if not drawn.any():
        return out
    w = np.take(weights[drawn], label.image, axis=1)  # contiguous rows for the cumsums
    seen_all = np.cumsum(w, axis=1, dtype=w.dtype)
    for t in range(len(IOU_THRESHOLDS)):
        at = label.tp_at[t]
        if len(at) == 0:
            out[drawn, t] = 0.0
            continue
        counted = label.counted[t]
        seen_cum = seen_all if counted is None else np.cumsum(w * counted, axis=1, dtype=w.dtype)
        seen = np.take(seen_cum, at, axis=1)  # detections counted at or above each TP
        tp_cum = np.cumsum(np.take(w, at, axis=1), axis=1, dtype=w.dtype)
        out[drawn, t] = _interpolated_means(tp_cum, seen, positives[drawn])
    return out


def _weighted_p95(sample: SessionSample, weights: np.ndarray, q: float = 95.0) -> np.ndarray:
    """(R,) numpy's linear percentile `q` of the latencies, each repeated by its frame's weight."""
    rows = weights.shape[0]
    out = np.full(rows, np.nan)
    if len(sample.latency) == 0:
        return out
    cum = np.cumsum(np.take(weights, sample.latency_image, axis=1), axis=1)
    totals = cum[:, -1]
    values = sample.latency
    for r in range(rows):
        n = int(totals[r])
        if n == 0:
            continue
        h = (n - 1) * q / 100.0
        below = int(np.floor(h))
        above = min(below + 1, n - 1)
        a = values[int(np.searchsorted(cum[r], below, side="right"))]
        b = values[int(np.searchsorted(cum[r], above, side="right"))]
        frac = h - below
        # numpy's _lerp, so that equal inputs give numpy's float
        out[r] = b - (b - a) * (1 - frac) if frac >= 0.5 else a + (b - a) * frac
    return out


def weighted_metrics(sample: SessionSample, weights: np.ndarray) -> dict[str, np.ndarray]:
    """Every metric under frame weights `weights` (R, N) (integer multiplicities; ones: the full set).

    Returns per metric name: `overall` (R,) under the name itself and per label (R, L) under
    `<name>/label`; AP50:95 is the mean over the ten thresholds, overall APs the mean over the labels
    that have ground truth (COCOeval's summarize)."""
    n_images, n_labels = sample.counts.shape[0], sample.counts.shape[1]
    sums = (weights @ sample.counts.reshape(n_images, n_labels * 3)).reshape(-1, n_labels, 3)
    total = sums.sum(axis=1)
    out: dict[str, np.ndarray] = {
        "F1": f1_score(total[:, 0], total[:, 1], total[:, 2]),
        "F1/label": f1_score(sums[..., 0], sums[..., 1], sums[..., 2]),
        "PRECISION": _ratio(total[:, 0], total[:, 0] + total[:, 1]),
        "PRECISION/label": _ratio(sums[..., 0], sums[..., 0] + sums[..., 1]),
        "RECALL": _ratio(total[:, 0], total[:, 0] + total[:, 2]),
        "RECALL/label": _ratio(sums[..., 0], sums[..., 0] + sums[..., 2]),
    }
    positives = weights @ sample.gt_per_image  # (R, L)
    per_threshold = (
        np.stack([_weighted_ap(sample.ranked[k], weights, positives[:, k]) for k in range(n_labels)], axis=1)
        if n_labels
        else np.full((weights.shape[0], 0, len(IOU_THRESHOLDS)), np.nan)
    )
    ap50, ap50_95 = per_threshold[..., 0], per_threshold.mean(axis=2)
    out["AP50/label"], out["AP50_95/label"] = ap50, ap50_95
    for name, block in (("AP50", ap50), ("AP50_95", ap50_95)):
        have = np.isfinite(block)
        count = have.sum(axis=1)
        out[name] = np.where(count > 0, np.where(have, block, 0.0).sum(axis=1) / np.maximum(count, 1), np.nan)
    out["LATENCY_P95"] = _weighted_p95(sample, weights)
    return out


def draws(rng: np.random.Generator, n_images: int, count: int) -> np.ndarray:
    """(count, n_images) frame positions: one `integers(0, N, size=N)` per resample, so the stream does
    not depend on how the resamples are chunked."""
    return np.stack([rng.integers(0, n_images, size=n_images) for _ in range(count)]).reshape(count, n_images)


@dataclass(frozen=True)
class Difference:
    """One metric of one session against the baseline: values at the full sample, their difference
    (session - baseline) and the interval of the resampled differences (None when no resample defines
    it); None where a value is undefined."""

    metric: str
    label: int | None  # label position, None overall
    baseline: float | None
    value: float | None
    difference: float | None
    low: float | None
    high: float | None


def _value(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def compare_samples(
    samples: list[SessionSample], resamples: int, seed: int, confidence: float
) -> list[list[Difference]]:
    """Paired bootstrap of every session after the first against the first (the baseline).

    Returns, per compared session (samples[1:]), a Difference per metric overall and per label and
    metric. The interval is the percentile interval ((1 - confidence) / 2 and (1 + confidence) / 2,
    numpy's linear interpolation) of the finite resampled differences."""
    n_images = samples[0].counts.shape[0]
    n_labels = samples[0].counts.shape[1]
    full = [weighted_metrics(s, np.ones((1, n_images), dtype=np.int64)) for s in samples]
    widest = max(
        [n_images, 1] + [len(r.image) for s in samples for r in s.ranked] + [len(s.latency) for s in samples]
    )
    chunk = max(1, ELEMENTS_PER_CHUNK // widest)
    diffs: list[dict[str, list[np.ndarray]]] = [{} for _ in samples[1:]]
    rng = np.random.default_rng(seed)
    for lo in range(0, resamples, chunk):
        block = draws(rng, n_images, min(chunk, resamples - lo))
        rows = np.arange(len(block))[:, None] * n_images
        weights = np.bincount((block + rows).ravel(), minlength=len(block) * n_images)
        weights = weights.reshape(len(block), n_images).astype(np.int32)  # half the memory traffic
        base = weighted_metrics(samples[0], weights)
        for i, sample in enumerate(samples[1:]):
            other = weighted_metrics(sample, weights)
            for key, values in other.items():
                diffs[i].setdefault(key, []).append(values - base[key])
    tail = (1 - confidence) / 2 * 100
    out: list[list[Difference]] = []
    for i in range(len(samples) - 1):
        found: list[Difference] = []
        for metric in METRICS:
            keys = [(metric, None)] + (
                [(f"{metric}/label", k) for k in range(n_labels)] if metric in LABEL_METRICS else []
            )
            for key, k in keys:
                stacked = np.concatenate(diffs[i][key]) if diffs[i] else np.zeros((0, n_labels))
                column = stacked if k is None else stacked[:, k]
                column = column[np.isfinite(column)]
                a = full[0][key][0] if k is None else full[0][key][0, k]
                b = full[i + 1][key][0] if k is None else full[i + 1][key][0, k]
                low = high = None
                if len(column):
                    low, high = (float(v) for v in np.percentile(column, [tail, 100 - tail]))
                both = np.isfinite(a) and np.isfinite(b)
                found.append(
                    Difference(metric, k, _value(a), _value(b), float(b - a) if both else None, low, high)
                )
        out.append(found)
    return out
