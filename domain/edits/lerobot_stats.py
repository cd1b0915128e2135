"""Feature statistics as LeRobot 0.4.4 computes them (`lerobot.datasets.compute_stats`), for
`meta/episodes` (`stats/<feature>/<stat>` per episode) and `meta/stats.json` (the whole dataset).

Per episode and feature: min, max, mean, std, count and the quantiles q01, q10, q50, q90, q99, from one
batch of the episode's values:
- arrays (N x D, or N for a scalar feature): per column, each stat of shape (D,) ((1,) for a scalar);
- cameras: the frames LeRobot samples (`sample_indices`: every frame of an episode shorter than 100,
  else about N**0.75 of them, 100 to 10,000, evenly spaced), taken every `factor`-th pixel when a side
  is 300 or more (`auto_downsample_height_width`), per channel over every sampled pixel, divided by
  255: each stat of shape (3, 1, 1) in [0, 1]; count is the number of sampled frames.
Quantiles come from a 5,000-bin histogram between min and max, as LeRobot's `RunningQuantileStats`
(for images built from each channel's 256 value counts: the same histogram, at a fraction of the cost).

One difference, on purpose: LeRobot squares the uint8 pixels in uint8, which wraps, so its image std is
0 (see the v3.0 sample's `meta/episodes`); pixels here are squared as float64, so std is the true one.

The dataset's statistics fold each episode's into the running total as LeRobot's `save_episode` does
(`aggregate_stats([total, episode])`): counts add, means and variances combine by the parallel
algorithm, quantiles are count-weighted means. Memory: one episode's batch, and the running total.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

QUANTILES = (0.01, 0.10, 0.50, 0.90, 0.99)
QUANTILE_KEYS = tuple(f"q{int(q * 100):02d}" for q in QUANTILES)
STAT_KEYS = ("min", "max", "mean", "std", "count", *QUANTILE_KEYS)
_BINS = 5000
Stats = dict[str, np.ndarray]


def sample_indices(length: int) -> list[int]:
    """Which of an episode's `length` frames LeRobot uses for image statistics (sorted, may repeat
    none: evenly spaced, rounded)."""
    wanted = length if length < 100 else max(100, min(int(length**0.75), 10_000))
    return np.round(np.linspace(0, length - 1, wanted)).astype(int).tolist()


def downsample(frame: np.ndarray) -> np.ndarray:
    """H x W x 3 uint8 -> 3 x h x w: every `factor`-th pixel when a side is 300 or more (LeRobot's
    `auto_downsample_height_width`, target 150), else the frame as it is."""
    chw = np.ascontiguousarray(frame.transpose(2, 0, 1))
    height, width = chw.shape[1:]
    if max(width, height) < 300:
        return chw
    factor = int(width / 150) if width > height else int(height / 150)
    return np.ascontiguousarray(chw[:, ::factor, ::factor])


def _batch_stats(batch: np.ndarray, count: int) -> Stats:
    """Stats of the rows of `batch` (M x D) per column; `count` is what `count` reports."""
    if batch.shape[0] < 2:
        mean = np.mean(batch, axis=0)
        stats = {
            "min": np.min(batch, axis=0),
            "max": np.max(batch, axis=0),
            "mean": mean,
            "std": np.std(batch, axis=0),
            "count": np.array([count]),
        }
        return stats | {key: mean.copy() for key in QUANTILE_KEYS}
    low, high = np.min(batch, axis=0), np.max(batch, axis=0)
    mean = np.mean(batch, axis=0)
    squares = np.mean(batch**2, axis=0)
    stats = {
        "min": low,
        "max": high,
        "mean": mean,
        "std": np.sqrt(np.maximum(0, squares - mean**2)),
        "count": np.array([count]),
    }
    quantiles: list[list[float]] = [[] for _ in QUANTILES]
    total = batch.shape[0]
    for column in range(batch.shape[1]):
        edges = np.linspace(low[column] - 1e-10, high[column] + 1e-10, _BINS + 1)
        cumulative = np.cumsum(np.histogram(batch[:, column], bins=edges)[0])
        for k, q in enumerate(QUANTILES):
            quantiles[k].append(_quantile(cumulative, edges, q * total))
    for key, values in zip(QUANTILE_KEYS, quantiles, strict=True):
        stats[key] = np.array(values)
    return stats


def _quantile(cumulative: np.ndarray, edges: np.ndarray, target: float) -> float:
    """LeRobot's `_compute_single_quantile`: the bin holding the target count, linearly interpolated."""
    index = int(np.searchsorted(cumulative, target))
    if index == 0:
        return float(edges[0])
    if index >= len(cumulative):
        return float(edges[-1])
    before = cumulative[index - 1]
    inside = cumulative[index] - before
    if inside == 0:
        return float(edges[index])
    return float(edges[index] + (target - before) / inside * (edges[index + 1] - edges[index]))


def array_stats(values: np.ndarray) -> Stats:
    """Stats of one feature over an episode: `values` N x D (each stat (D,)) or N (each stat (1,)).
    Computed in the values' own dtype, as LeRobot does (float32 arrays give float32 means)."""
    if values.ndim == 1:
        stats = _batch_stats(values.reshape(-1, 1), values.shape[0])
        return {k: v if k == "count" else v.reshape(1) for k, v in stats.items()}
    return _batch_stats(values.reshape(values.shape[0], -1), values.shape[0])


def image_stats(samples: list[np.ndarray]) -> Stats:
    """Stats of one camera over an episode from its sampled frames (each 3 x h x w uint8, see
    `downsample`): per channel, in [0, 1], each stat (3, 1, 1).

    The same numbers as `_batch_stats` over every sampled pixel as float64 (the same histogram edges
    and quantile rule), computed from each channel's 256 value counts: a pixel's bin depends only on
    its value, so counting values first gives the same histogram without binning every pixel."""
    stack = np.stack(samples)
    channels = stack.shape[1]
    values = np.arange(256, dtype=np.float64)
    per_channel: list[dict[str, float]] = []
    for c in range(channels):
        counts = np.bincount(stack[:, c].reshape(-1), minlength=256)
        total = int(counts.sum())
        present = np.flatnonzero(counts)
        low, high = values[present[0]], values[present[-1]]
        mean = float(counts @ values) / total
        squares = float(counts @ values**2) / total
        stat = {"min": low, "max": high, "mean": mean, "std": float(np.sqrt(max(0.0, squares - mean**2)))}
        if total < 2:
            stat |= {key: mean for key in QUANTILE_KEYS}
        else:
            edges = np.linspace(low - 1e-10, high + 1e-10, _BINS + 1)
            bins = np.minimum(np.searchsorted(edges, values[present], side="right") - 1, _BINS - 1)
            cumulative = np.cumsum(np.bincount(bins, weights=counts[present], minlength=_BINS))
            stat |= {
                key: _quantile(cumulative, edges, q * total)
                for key, q in zip(QUANTILE_KEYS, QUANTILES, strict=True)
            }
        per_channel.append(stat)
    stats = {
        key: (np.array([c[key] for c in per_channel]) / 255.0).reshape(channels, 1, 1)
        for key in ("min", "max", "mean", "std", *QUANTILE_KEYS)
    }
    return {**stats, "count": np.array([len(samples)])}


def aggregate(total: Stats | None, episode: Stats) -> Stats:
    """`total` with one more episode's stats folded in (LeRobot's `aggregate_feature_stats` of the two)."""
    if total is None:
        return episode
    pair = (total, episode)
    means = np.stack([s["mean"] for s in pair])
    variances = np.stack([s["std"] ** 2 for s in pair])
    counts = np.stack([s["count"] for s in pair])
    count = counts.sum(axis=0)
    while counts.ndim < means.ndim:
        counts = np.expand_dims(counts, axis=-1)
    mean = (means * counts).sum(axis=0) / count
    variance = ((variances + (means - mean) ** 2) * counts).sum(axis=0) / count
    out = {
        "min": np.min(np.stack([s["min"] for s in pair]), axis=0),
        "max": np.max(np.stack([s["max"] for s in pair]), axis=0),
        "mean": mean,
        "std": np.sqrt(variance),
        "count": count,
    }
    for key in QUANTILE_KEYS:
        out[key] = (np.stack([s[key] for s in pair]) * counts).sum(axis=0) / count
    return out


def as_json(stats: Mapping[str, Stats]) -> dict[str, dict[str, list]]:
    """feature -> stat -> nested lists, as `meta/stats.json` holds them."""
    return {feature: {k: v.tolist() for k, v in s.items()} for feature, s in stats.items()}
