"""The comparison's paired bootstrap against a plain one (paired_bootstrap.py): duplicate the drawn
frames, evaluate each resampled set from scratch with the evaluation (metrics.evaluate, which equals
pycocotools), take the differences and their percentiles."""

from __future__ import annotations

import numpy as np
import pytest

from domain.validation.comparison_bootstrap import compare_samples, session_sample
from domain.validation.metrics import Detections, GroundTruth
from tests.domain.validation.paired_bootstrap import paired_intervals, plain_metrics

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

    plain = paired_intervals(truth, a, b, latencies, N_FRAMES, N_LABELS, resamples, seed)
    assert len(plain) == 6 + 3 * N_LABELS  # every metric was defined somewhere
    for key, (low, high) in plain.items():
        metric, label = key if isinstance(key, tuple) else (key, None)
        assert by_key[(metric, label)].low == pytest.approx(low, abs=1e-12), key
        assert by_key[(metric, label)].high == pytest.approx(high, abs=1e-12), key

    # at the full sample, the difference is that of the sessions' own evaluations
    full_a = plain_metrics(truth, a, latencies[0][0], N_FRAMES, N_LABELS)
    full_b = plain_metrics(truth, b, latencies[1][0], N_FRAMES, N_LABELS)
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


def test_chunking_changes_nothing(monkeypatch):
    from domain.validation import comparison_bootstrap

    rng = np.random.default_rng(9)
    truth, (a, b), latencies = _scene(rng)
    samples = [
        session_sample(truth, det, N_FRAMES, N_LABELS, match_iou=0.5, latency_ms=lat[0], latency_image=lat[1])
        for det, lat in ((a, latencies[0]), (b, latencies[1]))
    ]
    whole = compare_samples(samples, 25, 4, 0.9)
    monkeypatch.setattr(comparison_bootstrap, "ELEMENTS_PER_CHUNK", 1)  # one resample at a time
    assert compare_samples(samples, 25, 4, 0.9) == whole
