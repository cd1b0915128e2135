"""The report's curves against independent computations: the precision-recall curve against
pycocotools' COCOeval precision array at the same IoU, the threshold sweep against `evaluate` run on
the detections kept at each threshold."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from domain.validation.metrics import Detections, GroundTruth, evaluate
from domain.validation.reports.curves import pr_curves, sweep_thresholds, threshold_sweep


def scene(seed: int, images: int = 60, labels: int = 3, crowd: bool = False):
    """Crowded frames (boxes overlap, so the greedy loop and the solver both run), a label without
    ground truth on some frames, jittered and duplicated detections, random false positives, tied scores."""
    rng = np.random.default_rng(seed)
    n = images * 8
    size = rng.uniform(8, 60, (n, 2))
    corner = rng.uniform(0, 1, (n, 2)) * (np.array([160.0, 120.0]) - size)
    gt_label = rng.integers(0, labels, n)
    flags = rng.random(n) < 0.08 if crowd else np.zeros(n, bool)
    gt = GroundTruth(np.repeat(np.arange(images), 8), gt_label, np.c_[corner, size], crowd=flags)
    found = rng.random(n) < 0.8
    boxes = gt.boxes[found] + rng.normal(0, 0.15, (int(found.sum()), 4)) * gt.boxes[found][:, [2, 3, 2, 3]]
    boxes[:, 2:] = np.abs(boxes[:, 2:]) + 1
    twice = rng.random(len(boxes)) < 0.2  # a second detection of the same box
    extra = 2 * images
    extra_size = rng.uniform(8, 60, (extra, 2))
    det = Detections(
        np.r_[gt.image[found], gt.image[found][twice], rng.integers(0, images, extra)],
        np.r_[gt_label[found], gt_label[found][twice], rng.integers(0, labels, extra)],
        np.r_[boxes, boxes[twice] + 2.0, np.c_[rng.uniform(0, 100, (extra, 2)), extra_size]],
        np.round(rng.uniform(0, 1, int(found.sum()) + int(twice.sum()) + extra), 2),  # ties
    )
    return gt, det


def coco_precision(gt: GroundTruth, det: Detections, images: int, labels: int, iou: float, max_det: int):
    dataset = {
        "images": [{"id": i} for i in range(images)],
        "categories": [{"id": k} for k in range(labels)],
        "annotations": [
            {
                "id": i + 1,
                "image_id": im,
                "category_id": c,
                "bbox": b,
                "area": b[2] * b[3],
                "iscrowd": int(cr),
            }
            for i, (im, c, b, cr) in enumerate(
                zip(gt.image.tolist(), gt.label.tolist(), gt.boxes.tolist(), gt.crowd.tolist(), strict=True)
            )
        ],
    }
    results = [
        {"image_id": im, "category_id": c, "bbox": b, "score": s}
        for im, c, b, s in zip(
            det.image.tolist(), det.label.tolist(), det.boxes.tolist(), det.scores.tolist(), strict=True
        )
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = dataset
        coco.createIndex()
        evaluator = COCOeval(coco, coco.loadRes(results), "bbox")
        evaluator.params.imgIds = list(range(images))
        evaluator.params.iouThrs = np.array([iou])
        evaluator.params.maxDets = [max_det]
        evaluator.evaluate()
        evaluator.accumulate()
    return evaluator.eval["precision"][0, :, :, 0, 0], evaluator.eval["scores"][0, :, :, 0, 0]


@pytest.mark.parametrize(
    ("seed", "iou", "max_det", "crowd"),
    [
        (1, 0.5, 100, False),
        (2, 0.3, 100, False),
        (3, 0.75, 3, False),
        (4, 0.5, 100, True),
        (5, 0.62, 5, True),
    ],
)
def test_the_pr_curve_is_cocoevals_precision_array_at_the_sessions_iou(seed, iou, max_det, crowd):
    images, labels = 60, 3
    gt, det = scene(seed, images, labels, crowd)
    curves = pr_curves(gt, det, np.arange(images), list(range(labels)), iou, max_det)
    precision, scores = coco_precision(gt, det, images, labels, iou, max_det)
    assert curves.iou == iou and len(curves.recall) == 101
    for k, curve in enumerate(curves.labels):
        assert curve.precision is not None
        np.testing.assert_allclose(curve.precision, precision[:, k], atol=1e-12)
        np.testing.assert_allclose(curve.scores, scores[:, k], atol=1e-12)
        assert curve.ap == pytest.approx(float(np.mean(precision[:, k])), abs=1e-12)


def test_a_label_without_ground_truth_has_no_curve_as_coco_says_minus_one():
    gt, det = scene(7, 20, 2)
    det = Detections(
        np.r_[det.image, 0], np.r_[det.label, 2], np.r_[det.boxes, [[1, 1, 5, 5]]], np.r_[det.scores, 0.5]
    )
    curves = pr_curves(gt, det, np.arange(20), [0, 1, 2], 0.5, 100)
    assert curves.labels[2].precision is None and curves.labels[2].ap is None
    precision, _ = coco_precision(gt, det, 20, 3, 0.5, 100)
    assert (precision[:, 2] == -1).all()


@pytest.mark.parametrize(("seed", "iou", "crowd"), [(11, 0.5, False), (12, 0.4, True)])
def test_each_sweep_point_and_the_best_f1_equal_evaluate_on_the_detections_kept(seed, iou, crowd):
    images, labels = 60, 3
    gt, det = scene(seed, images, labels, crowd)
    frames, label_ids = np.arange(images), list(range(labels))
    sweep = threshold_sweep(gt, det, frames, label_ids, iou)
    # 101 distinct scores (0.00 .. 1.00): 100 quantiles, each an actual score, from the lowest
    assert len(sweep.thresholds) == 100 and set(sweep.thresholds) <= set(det.scores.tolist())
    assert sweep.thresholds[0] == det.scores.min() and sweep.thresholds[-1] == det.scores.max()
    for i, t in enumerate(sweep.thresholds):
        keep = det.scores >= t
        kept = Detections(det.image[keep], det.label[keep], det.boxes[keep], det.scores[keep])
        again = evaluate(gt, kept, frames, label_ids, match_iou=iou, bootstrap=0)
        o = again.overall
        assert (sweep.overall.tp[i], sweep.overall.fp[i], sweep.overall.fn[i]) == (o.tp, o.fp, o.fn)
        assert sweep.overall.f1[i] == pytest.approx(o.f1, abs=1e-12)
        for k in label_ids:
            m = again.per_label[k]
            assert (sweep.per_label[k].tp[i], sweep.per_label[k].fp[i]) == (m.tp, m.fp)
    best = sweep.best
    assert best is not None
    f1s = [v for v in sweep.overall.f1 if v is not None]
    assert sweep.overall.f1[best] == max(f1s)
    # at the lowest threshold every detection is kept: the evaluation's own figures
    everything = evaluate(gt, det, frames, label_ids, match_iou=iou, bootstrap=0).overall
    assert (sweep.overall.tp[0], sweep.overall.fp[0], sweep.overall.fn[0]) == (
        everything.tp,
        everything.fp,
        everything.fn,
    )


def test_many_scores_are_cut_at_quantiles_that_are_actual_scores():
    scores = np.random.default_rng(0).random(10_000)
    thresholds = sweep_thresholds(scores, 50)
    assert len(thresholds) == 50 and thresholds[0] == scores.min() and thresholds[-1] == scores.max()
    assert set(thresholds.tolist()) <= set(scores.tolist())


def test_no_detection_gives_no_best_threshold():
    gt, _ = scene(3, 10, 2)
    sweep = threshold_sweep(gt, Detections.empty(), np.arange(10), [0, 1], 0.5)
    assert sweep.thresholds == [] and sweep.best is None
