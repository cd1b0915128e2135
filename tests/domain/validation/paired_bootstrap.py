"""A plain paired bootstrap over frames, written for tests without anything of the comparison's code:
draw the frames (numpy default_rng(seed), integers(0, N, size=N) per resample), build each resampled
set by copying the drawn frames with all their boxes, detections and latencies, evaluate it from scratch
with the evaluation (metrics.evaluate, which equals pycocotools), take B - A, and the percentiles."""

from __future__ import annotations

import numpy as np

from domain.validation.metrics import Detections, GroundTruth, evaluate


def resampled(truth: GroundTruth, det: Detections, latency, frames: np.ndarray):
    """The resampled set: frame frames[j] becomes frame j. `latency`: (values, their frames) or None."""
    g_rows, d_rows, lat = [], [], []
    for j, f in enumerate(frames):
        g_rows += [(j, i) for i in np.flatnonzero(truth.image == f)]
        d_rows += [(j, i) for i in np.flatnonzero(det.image == f)]
        if latency is not None:
            lat += list(latency[0][latency[1] == f])
    gi = np.asarray([i for _, i in g_rows], dtype=np.int64)
    di = np.asarray([i for _, i in d_rows], dtype=np.int64)
    g = GroundTruth([j for j, _ in g_rows], truth.label[gi], truth.boxes[gi], ignore=truth.ignore[gi])
    d = Detections([j for j, _ in d_rows], det.label[di], det.boxes[di], det.scores[di])
    return g, d, np.asarray(lat)


def plain_metrics(g: GroundTruth, d: Detections, latency: np.ndarray | None, n: int, labels: int) -> dict:
    """Overall metrics (and per label AP50, F1, recall) of one set, by the evaluation; None undefined."""
    found = evaluate(g, d, np.arange(n), np.arange(labels), bootstrap=0)
    values = {
        "AP50": found.overall.ap50,
        "AP50_95": found.overall.ap50_95,
        "F1": found.overall.f1,
        "PRECISION": found.overall.precision,
        "RECALL": found.overall.recall,
    }
    if latency is not None:
        values["LATENCY_P95"] = float(np.percentile(latency, 95)) if len(latency) else None
    for k in range(labels):
        m = found.per_label.get(k)
        values[("AP50", k)] = None if m is None else m.ap50
        values[("F1", k)] = None if m is None else m.f1
        values[("RECALL", k)] = None if m is None else m.recall
    return values


def paired_intervals(truth, a, b, latencies, n: int, labels: int, resamples: int, seed: int, q=(2.5, 97.5)):
    """{metric or (metric, label): (low, high)} of B - A over the resamples where both are defined."""
    rng = np.random.default_rng(seed)
    differences: dict = {}
    for _ in range(resamples):
        frames = rng.integers(0, n, size=n)
        ma = plain_metrics(*resampled(truth, a, latencies and latencies[0], frames), n, labels)
        mb = plain_metrics(*resampled(truth, b, latencies and latencies[1], frames), n, labels)
        for key in ma:
            if ma[key] is not None and mb[key] is not None:
                differences.setdefault(key, []).append(mb[key] - ma[key])
    return {key: tuple(float(v) for v in np.percentile(values, q)) for key, values in differences.items()}
