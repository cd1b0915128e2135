"""Bootstrap over images: F1 and AP50 recomputed on resampled sets of evaluated images.

What is resampled: the evaluated images (frames), with replacement, as many as there are, `n` times from
`numpy.random.default_rng(seed)`, one `integers` call per resample so the stream does not depend on how
the work is chunked. An image drawn k times counts k times, with all its boxes and detections; an image
with no box and no detection still takes a draw. Nothing is matched again: a resample reuses each image's
TP / FP / FN counts from the optimal matching (for F1) and each detection's COCO match at IoU 0.5 (for
AP50; a detection on an ignored box is not in that ranking, and ignored boxes are not positives).
Weighting a detection by its image's multiplicity gives COCOeval's AP50 of the resampled set exactly:
copies of one detection are adjacent in the ranking, and inside such a run the interpolated precision
only depends on the run's end (TP runs rise in precision, FP runs keep the recall).
A resample whose statistic is undefined (no ground truth drawn, for AP) is NaN and left out later.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from domain.validation.metrics.average_precision import RankedLabel, interpolated_precision

ELEMENTS_PER_CHUNK = 4_000_000  # resamples x detections held at once


@dataclass(frozen=True, eq=False)
class Resamples:
    """One value per resample: per label (n, L) and overall (n,), NaN where undefined."""

    f1: np.ndarray
    ap50: np.ndarray
    overall_f1: np.ndarray
    overall_ap50: np.ndarray


def f1_score(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    """2 TP / (2 TP + FP + FN), NaN where there is nothing at all."""
    denominator = 2 * tp + fp + fn
    out = np.full(np.shape(denominator), np.nan)
    np.divide(2 * tp, denominator, out=out, where=denominator > 0)
    return out


def resample(counts: np.ndarray, ranked: list[RankedLabel], n: int, seed: int) -> Resamples:
    """`counts`: (N images, L labels, 3) TP, FP, FN per image and label; `ranked`: per label, as from
    average_precision. Returns n bootstrap replicates of F1 and AP50, per label and overall."""
    n_images, n_labels = counts.shape[0], counts.shape[1]
    f1 = np.full((n, n_labels), np.nan)
    ap50 = np.full((n, n_labels), np.nan)
    overall_f1 = np.full(n, np.nan)
    overall_ap50 = np.full(n, np.nan)
    if n == 0 or n_images == 0:
        return Resamples(f1, ap50, overall_f1, overall_ap50)
    rng = np.random.default_rng(seed)
    widest = max([n_images, *(len(r.image) for r in ranked)])
    chunk = max(1, ELEMENTS_PER_CHUNK // widest)
    flat_counts = counts.reshape(n_images, n_labels * 3)
    # Only the ranks of true positives can carry an interpolated-precision value that COCO samples: an
    # FP keeps the recall and lowers the precision, so the curve is kept at the TPs only, with the FPs
    # ranked above each one in its count. Integer weights: numpy's int64 cumsum is several times faster.
    tp_at = [np.flatnonzero(label.tp50) for label in ranked]
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        draws = np.stack([rng.integers(0, n_images, size=n_images) for _ in range(hi - lo)])
        rows = np.arange(hi - lo)[:, None] * n_images
        weights = np.bincount((draws + rows).ravel(), minlength=(hi - lo) * n_images)
        weights = weights.reshape(hi - lo, n_images)
        sums = (weights @ flat_counts).reshape(hi - lo, n_labels, 3)
        f1[lo:hi] = f1_score(sums[..., 0], sums[..., 1], sums[..., 2])
        total = sums.sum(axis=1)
        overall_f1[lo:hi] = f1_score(total[:, 0], total[:, 1], total[:, 2])
        for k, label in enumerate(ranked):
            positives = weights @ label.gt_per_image
            drawn = positives > 0
            if not drawn.any():
                continue
            # np.take keeps rows contiguous (w[:, idx] would not), which the cumsums along rows need
            w = np.take(weights[drawn], label.image, axis=1)
            seen = np.take(np.cumsum(w, axis=1), tp_at[k], axis=1)  # detections ranked at or above each TP
            tp_cum = np.cumsum(np.take(w, tp_at[k], axis=1), axis=1)
            curve = interpolated_precision(tp_cum, seen - tp_cum, positives[drawn])
            ap50[np.arange(lo, hi)[drawn], k] = curve.mean(axis=1)
        # COCOeval's overall AP: the mean over the labels that have ground truth (in this resample)
        block = ap50[lo:hi]
        have = np.isfinite(block)
        count = have.sum(axis=1)
        overall_ap50[lo:hi] = np.where(
            count > 0, np.where(have, block, 0.0).sum(axis=1) / np.maximum(count, 1), np.nan
        )
    return Resamples(f1, ap50, overall_f1, overall_ap50)
