"""Confidence intervals (Wilson, bootstrap over images), latency statistics and the pass/fail verdict."""

from __future__ import annotations

import numpy as np
import pytest

from domain.validation.metrics import (
    Criteria,
    DetectionLimit,
    Detections,
    GroundTruth,
    Interval,
    LatencyStats,
    evaluate,
    judge,
    latency_stats,
    wilson,
)
from domain.validation.metrics.metrics import Metrics
from tests.domain.validation.test_evaluation import LABELS, crowded_frame, random_case, with_ignored


def test_wilson_against_hand_computed_values():
    # 8 of 10, z = 1.96: centre (0.8 + 0.19207) / 1.38415 = 0.71674, half-width 0.22658
    low, high = wilson(8, 10).low, wilson(8, 10).high
    assert low == pytest.approx(0.49016, abs=1e-5) and high == pytest.approx(0.94331, abs=1e-5)
    perfect = wilson(10, 10)
    assert perfect.high == 1.0 and perfect.low == pytest.approx(0.72246, abs=1e-5)
    assert wilson(0, 5).low == 0.0 and wilson(0, 5).high == pytest.approx(0.43448, abs=1e-5)
    assert wilson(0, 0) is None


def test_precision_and_recall_intervals_are_wilson():
    gt, det, images = random_case(1)
    o = evaluate(gt, det, images, LABELS, bootstrap=0).overall
    assert o.precision_ci == wilson(o.tp, o.tp + o.fp) and o.recall_ci == wilson(o.tp, o.tp + o.fn)
    assert o.precision_ci.low < o.precision < o.precision_ci.high
    assert o.f1_ci is None and o.ap50_ci is None  # no bootstrap asked for


def test_bootstrap_is_deterministic_for_a_seed_and_contains_the_estimate():
    gt, det, images = random_case(5, n_images=80)
    first = evaluate(gt, det, images, LABELS, bootstrap=300, seed=7)
    again = evaluate(gt, det, images, LABELS, bootstrap=300, seed=7)
    other = evaluate(gt, det, images, LABELS, bootstrap=300, seed=8)
    o = first.overall
    assert o.f1_ci == again.overall.f1_ci and o.ap50_ci == again.overall.ap50_ci
    assert first.per_label[1].ap50_ci == again.per_label[1].ap50_ci
    assert o.f1_ci != other.overall.f1_ci and o.ap50_ci != other.overall.ap50_ci
    assert o.f1_ci.low < o.f1 < o.f1_ci.high
    assert o.ap50_ci.low < o.ap50 < o.ap50_ci.high
    assert o.ap50_ci.high - o.ap50_ci.low < 0.5
    for label in (1, 2):
        m = first.per_label[label]
        assert m.f1_ci.low <= m.f1 <= m.f1_ci.high and m.ap50_ci.low <= m.ap50 <= m.ap50_ci.high
    assert first.per_label[7].ap50_ci is None  # no AP, no interval
    assert first.per_label[3].f1_ci == Interval(0.0, 0.0)  # never detected: F1 is 0 in every resample


@pytest.mark.parametrize(("seed", "ignored"), [(0, False), (3, False), (0, True), (3, True)])
def test_a_bootstrap_replicate_is_the_evaluation_of_the_resampled_images(seed, ignored):
    """With one resample the interval is that replicate; it must equal evaluating the drawn images,
    each copy a new frame, from scratch (COCO matching included, ignored boxes too)."""
    gt, det, images = random_case(seed, n_images=30, crowd=True)
    if ignored:
        gt, det = with_ignored(gt, det, seed)
    one = evaluate(gt, det, images, LABELS, bootstrap=1, seed=seed)
    draws = np.random.default_rng(seed).integers(0, len(images), size=len(images))  # as bootstrap.py
    g_rows = [np.flatnonzero(gt.image == images[d]) for d in draws]
    d_rows = [np.flatnonzero(det.image == images[d]) for d in draws]
    g_take, d_take = np.concatenate(g_rows), np.concatenate(d_rows)
    copy_gt = GroundTruth(
        np.repeat(np.arange(len(draws)), [len(r) for r in g_rows]),
        gt.label[g_take],
        gt.boxes[g_take],
        ignore=gt.ignore[g_take],
        crowd=gt.crowd[g_take],
    )
    copy_det = Detections(
        np.repeat(np.arange(len(draws)), [len(r) for r in d_rows]),
        det.label[d_take],
        det.boxes[d_take],
        det.scores[d_take],
    )
    redo = evaluate(copy_gt, copy_det, np.arange(len(draws)), LABELS, bootstrap=0)
    assert one.overall.ap50_ci.low == pytest.approx(redo.overall.ap50, abs=1e-12)
    assert one.overall.f1_ci.low == pytest.approx(redo.overall.f1, abs=1e-12)
    for label in (1, 2):
        assert one.per_label[label].ap50_ci.low == pytest.approx(redo.per_label[label].ap50, abs=1e-12)
    assert one.overall.ap50_ci.low != pytest.approx(one.overall.ap50, abs=1e-6)  # the draw changed something


def test_a_resample_where_the_statistic_is_undefined_is_left_out():
    # Frames 1..9 have nothing; frame 0 has one missed box. A resample without frame 0 (one in three)
    # has no F1 and no AP; the others have 0.
    gt = GroundTruth([0], [1], [[0, 0, 5, 5]])
    result = evaluate(gt, Detections.empty(), np.arange(10), [1], bootstrap=50, seed=1)
    assert result.overall.f1 == 0.0 and result.overall.f1_ci == Interval(0.0, 0.0)
    assert result.overall.ap50_ci == Interval(0.0, 0.0)


def test_latency_percentiles_are_numpys():
    rng = np.random.default_rng(0)
    values = rng.gamma(2.0, 20.0, 1001)
    stats = latency_stats(np.r_[values, np.nan], tolerance_ms=40.0)
    assert stats.count == 1001
    assert stats.p50_ms == np.percentile(values, 50) and stats.p95_ms == np.percentile(values, 95)
    assert stats.p99_ms == np.percentile(values, 99) and stats.max_ms == values.max()
    assert stats.within_tolerance == np.mean(values <= 40.0)
    small = latency_stats([10.0, 20.0, 30.0, 40.0], 20.0)
    assert (small.count, small.p50_ms, small.p95_ms, small.max_ms) == (4, 25.0, 38.5, 40.0)
    assert small.p99_ms == pytest.approx(39.7) and small.within_tolerance == 0.5
    assert latency_stats([]) == LatencyStats(0, None, None, None, None, None)
    assert latency_stats([5.0]).within_tolerance is None


def metrics(**values) -> Metrics:
    base = dict(
        tp=0,
        fp=0,
        fn=0,
        precision=None,
        recall=None,
        f1=None,
        ap50=None,
        ap50_95=None,
        precision_ci=None,
        recall_ci=None,
        f1_ci=None,
        ap50_ci=None,
    )
    return Metrics(**(base | values))


def test_verdict_passes_on_the_bounds_and_fails_with_reasons():
    good = metrics(precision=0.8, recall=0.9, f1=0.85, ap50=0.7)
    criteria = Criteria(min_precision=0.8, min_recall=0.9, min_f1=0.85, min_ap50=0.7, max_p95_latency_ms=100)
    assert judge(criteria, good, LatencyStats(3, 50.0, 100.0, 120.0, 130.0, None)).passed
    bad = metrics(precision=0.72, recall=0.899, f1=0.9, ap50=None)
    verdict = judge(criteria, bad, LatencyStats(3, 50.0, 120.5, 130.0, 140.0, None))
    assert not verdict.passed
    assert verdict.reasons == (
        "precision 0.72 < 0.80",
        "recall 0.899 < 0.900",  # two decimals would print 0.90 < 0.90
        "AP50 unavailable (required >= 0.70)",
        "p95 latency 120.5 ms > 100.0 ms",
    )


def test_verdict_without_criteria_passes_and_missing_latency_fails():
    assert judge(Criteria(), metrics()).passed and judge(Criteria(), metrics()).reasons == ()
    verdict = judge(Criteria(max_p95_latency_ms=50.0), metrics(), None)
    assert verdict.reasons == ("p95 latency unavailable (required <= 50.0 ms)",)
    empty = judge(Criteria(max_p95_latency_ms=50.0), metrics(), latency_stats([]))
    assert not empty.passed


def test_verdict_from_an_evaluation():
    gt, det, images = random_case(2)
    result = evaluate(gt, det, images, LABELS, bootstrap=0)
    o = result.overall
    assert judge(Criteria(min_precision=o.precision, min_recall=o.recall), o).passed
    failed = judge(Criteria(min_precision=o.precision + 0.01, min_f1=0.0), o)
    assert failed.reasons == (f"precision {o.precision:.2f} < {o.precision + 0.01:.2f}",)


def test_the_verdict_says_when_the_detection_limit_cut_detections():
    """Issue 15: a perfect detector on a frame of 150 objects failed min AP50 0.9 without a word why."""
    gt, det = crowded_frame(150)
    criteria = Criteria(min_ap50=0.9)
    capped = evaluate(gt, det, [0], [1], bootstrap=0)
    limit = DetectionLimit(capped.max_detections, capped.beyond_limit, capped.frames_beyond_limit)
    verdict = judge(criteria, capped.overall, None, limit)
    assert not verdict.passed
    assert verdict.reasons == (
        "AP50 0.66 < 0.90 (50 detection(s) beyond maxDetections 100 per frame and label were left out of AP)",
    )
    assert verdict.notes == (
        "AP counted at most 100 detections per frame and label (maxDetections): 50 detection(s) on 1 "
        "frame(s) were left out of AP50 and AP50:95; precision, recall and F1 count every detection",
    )
    raised = evaluate(gt, det, [0], [1], bootstrap=0, max_detections=200)
    fine = judge(criteria, raised.overall, None, DetectionLimit(200, raised.beyond_limit, 0))
    assert fine.passed and fine.reasons == () and fine.notes == ()
    # A cut is worth a note even when the verdict passes.
    passed = judge(Criteria(min_precision=0.9), capped.overall, None, limit)
    assert passed.passed and passed.reasons == () and passed.notes == verdict.notes
