"""The comparison's paired bootstrap against a plain one: duplicate the drawn frames, evaluate each
resampled set from scratch with the evaluation (metrics.evaluate, which equals pycocotools), take the
differences and their percentiles."""

from __future__ import annotations

import numpy as np
import pytest

from domain.validation.comparison_bootstrap import compare_samples, session_sample
from domain.validation.metrics import Detections, GroundTruth, evaluate

N_FRAMES, N_LABELS = 30, 2


def _scene(rng: np.random.Generator):
    """Ground truth with an ignored box, and two detectors of different quality on the same frames."""
    gt_rows = []
    for f in range(N_FRAMES):
        for _ in range(rng.integers(0, 4)):
            gt_rows.append((f, rng.integers(0, N_LABELS), *rng.uniform(0, 100, 2), *rng.uniform(10, 30, 2)))
    gt_rows.append((3, 0, 0.0, 0.0, 50.0, 50.0))
    gt = np.asarray(gt_rows, dtype=np.float64)
    ignore = np.zeros(len(gt), bool)
    ignore[-1] = True
    truth = GroundTruth(gt[:, 0], gt[:, 1], gt[:, 2:6], ignore=ignore)

    def detector(jitter: float, miss: float, false: int) -> Detections:
        rows = []
        for f, lab, x, y, w, h in gt_rows:
            if rng.uniform() < miss:
                continue
            rows.append(
                (f, lab, x + rng.normal(0, jitter), y + rng.normal(0, jitter), w, h, rng.uniform(0.3, 1))
            )
        for _ in range(false):
            rows.append(
                (
                    rng.integers(0, N_FRAMES),
                    rng.integers(0, N_LABELS),
                    *rng.uniform(0, 100, 2),
                    15,
                    15,
                    rng.uniform(),
                )
            )
        d = np.asarray(rows, dtype=np.float64)
        return Detections(d[:, 0], d[:, 1], d[:, 2:6], d[:, 6])

    latencies = [(rng.uniform(5, 50, N_FRAMES), np.arange(N_FRAMES)) for _ in range(2)]
    return truth, [detector(1.0, 0.1, 10), detector(4.0, 0.3, 25)], latencies


def _subset(truth: GroundTruth, det: Detections, latency, frames: np.ndarray):
    """The resampled set: frame frames[j] becomes frame j, with all its boxes, detections, latencies."""
    g_rows, d_rows, lat = [], [], []
    for j, f in enumerate(frames):
        g_rows += [(j, i) for i in np.flatnonzero(truth.image == f)]
        d_rows += [(j, i) for i in np.flatnonzero(det.image == f)]
        lat += list(latency[0][latency[1] == f])
    gi = np.asarray([i for _, i in g_rows], dtype=np.int64)
    di = np.asarray([i for _, i in d_rows], dtype=np.int64)
    g = GroundTruth([j for j, _ in g_rows], truth.label[gi], truth.boxes[gi], ignore=truth.ignore[gi])
    d = Detections([j for j, _ in d_rows], det.label[di], det.boxes[di], det.scores[di])
    return g, d, np.asarray(lat)


def _plain_metrics(g, d, latency, n) -> dict:
    found = evaluate(g, d, np.arange(n), np.arange(N_LABELS), bootstrap=0)
    values = {
        "AP50": found.overall.ap50,
        "AP50_95": found.overall.ap50_95,
        "F1": found.overall.f1,
        "PRECISION": found.overall.precision,
        "RECALL": found.overall.recall,
        "LATENCY_P95": float(np.percentile(latency, 95)),
    }
    for k in range(N_LABELS):
        m = found.per_label.get(k)
        values[("AP50", k)] = None if m is None else m.ap50
        values[("F1", k)] = None if m is None else m.f1
    return values


def test_the_interval_equals_a_plain_paired_bootstrap_with_the_same_seed():
    rng = np.random.default_rng(7)
    truth, (a, b), latencies = _scene(rng)
    samples = [
        session_sample(truth, det, N_FRAMES, N_LABELS, match_iou=0.5, latency_ms=lat[0], latency_image=lat[1])
        for det, lat in ((a, latencies[0]), (b, latencies[1]))
    ]
    resamples, seed = 60, 11
    (found,) = compare_samples(samples, resamples, seed, 0.95)
    by_key = {(d.metric, d.label): d for d in found}

    # the plain paired bootstrap: the same draws for both sessions, everything recomputed
    plain = np.random.default_rng(seed)
    differences: dict = {}
    for _ in range(resamples):
        frames = plain.integers(0, N_FRAMES, size=N_FRAMES)
        ma = _plain_metrics(*_subset(truth, a, latencies[0], frames), N_FRAMES)
        mb = _plain_metrics(*_subset(truth, b, latencies[1], frames), N_FRAMES)
        for key in ma:
            if ma[key] is not None and mb[key] is not None:
                differences.setdefault(key, []).append(mb[key] - ma[key])
    for key, values in differences.items():
        metric, label = key if isinstance(key, tuple) else (key, None)
        low, high = np.percentile(values, [2.5, 97.5])
        assert by_key[(metric, label)].low == pytest.approx(low, abs=1e-12), key
        assert by_key[(metric, label)].high == pytest.approx(high, abs=1e-12), key

    # at the full sample, the difference is that of the sessions' own evaluations
    full_a = _plain_metrics(truth, a, latencies[0][0], N_FRAMES)
    full_b = _plain_metrics(truth, b, latencies[1][0], N_FRAMES)
    for metric in ("AP50", "AP50_95", "F1", "PRECISION", "RECALL", "LATENCY_P95"):
        d = by_key[(metric, None)]
        assert d.baseline == pytest.approx(full_a[metric], abs=1e-12)
        assert d.value == pytest.approx(full_b[metric], abs=1e-12)
        assert d.difference == pytest.approx(full_b[metric] - full_a[metric], abs=1e-12)
    assert by_key[("AP50", None)].difference < 0  # the second detector is worse


def test_a_session_against_itself_differs_by_nothing():
    rng = np.random.default_rng(3)
    truth, (a, _), latencies = _scene(rng)
    sample = session_sample(
        truth, a, N_FRAMES, N_LABELS, match_iou=0.5, latency_ms=latencies[0][0], latency_image=latencies[0][1]
    )
    (found,) = compare_samples([sample, sample], 20, 0, 0.9)
    for d in found:
        if d.difference is not None:
            assert d.difference == 0 and d.low == 0 and d.high == 0, d


def test_the_sampled_running_maximum_equals_the_evaluations_curve():
    from domain.validation.comparison_bootstrap import _interpolated_means
    from domain.validation.metrics.average_precision import interpolated_precision

    rng = np.random.default_rng(5)
    for k, rows in ((1, 3), (7, 5), (300, 40)):
        tp_w = rng.integers(0, 3, (rows, k))  # weights of the TPs (0: not drawn)
        fp_w = rng.integers(0, 4, (rows, k))  # FPs ranked between them
        tp_cum = np.cumsum(tp_w, axis=1)
        seen = np.cumsum(tp_w + fp_w, axis=1)
        positives = tp_cum[:, -1] + rng.integers(1, 5, rows)  # some boxes never found
        positives[0] = max(1, tp_cum[0, -1])  # and one row where all are
        want = interpolated_precision(tp_cum, seen - tp_cum, positives).mean(axis=1)
        assert np.array_equal(_interpolated_means(tp_cum, seen, positives), want)
