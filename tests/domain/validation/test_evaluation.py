"""The evaluation of detection test sessions: AP against pycocotools' COCOeval on random data, the optimal
matching on hand-made cases and against brute force, the counts and their None conventions."""

from __future__ import annotations

import contextlib
import io
import itertools

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from domain.validation.metrics import Detections, GroundTruth, Kind, evaluate
from domain.validation.metrics.pairs import box_iou

LABELS = [1, 2, 3, 7]  # 3: ground truth but never detected; 7: detected but no ground truth


class IgnoringCOCOeval(COCOeval):
    """COCOeval, with ignored boxes given as `iscrowd: 1` (COCO's only way to ignore ground truth: any
    number of detections on one, none of them TP or FP, never a miss). A difficult box (VOC's ignore) is
    not a crowd region, so its `crowd_iou: 0` keeps the ordinary IoU, as VOC measures difficult objects;
    the rest is pycocotools' computeIoU (bbox, useCats) line for line."""

    def computeIoU(self, imgId, catId):  # noqa: N802, N803 - pycocotools' names
        gt, dt = self._gts[imgId, catId], self._dts[imgId, catId]
        if len(gt) == 0 and len(dt) == 0:
            return []
        order = np.argsort([-d["score"] for d in dt], kind="mergesort")
        dt = [dt[i] for i in order][: self.params.maxDets[-1]]
        crowd = [int(g.get("crowd_iou", g["iscrowd"])) for g in gt]
        return mask_utils.iou([d["bbox"] for d in dt], [g["bbox"] for g in gt], crowd)


def coco_reference(gt: GroundTruth, det: Detections, images, labels, max_dets: int = 100):
    """(AP50, AP50:95) overall and per label from COCOeval with its default bbox parameters (maxDets
    `max_dets`); ignored boxes as `iscrowd`, see IgnoringCOCOeval."""
    coco = COCO()
    coco.dataset = {
        "images": [{"id": int(i)} for i in images],
        "categories": [{"id": int(c)} for c in labels],
        "annotations": [
            {
                "id": i + 1,  # COCOeval reads a match id of 0 as "no match"
                "image_id": int(gt.image[i]),
                "category_id": int(gt.label[i]),
                "bbox": [float(v) for v in gt.boxes[i]],
                "area": float(gt.boxes[i, 2] * gt.boxes[i, 3]),
                "iscrowd": int(gt.ignore[i]),
                "crowd_iou": int(gt.crowd[i]),
            }
            for i in range(len(gt))
        ],
    }
    results = [
        {
            "image_id": int(det.image[i]),
            "category_id": int(det.label[i]),
            "bbox": [float(v) for v in det.boxes[i]],
            "score": float(det.scores[i]),
        }
        for i in range(len(det))
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
        evaluator = IgnoringCOCOeval(coco, coco.loadRes(results), "bbox")
        evaluator.params.imgIds = [int(i) for i in images]
        evaluator.params.maxDets = [1, 10, max_dets]
        evaluator.evaluate()
        evaluator.accumulate()
    precision = evaluator.eval["precision"][:, :, :, 0, 2]  # area 'all', maxDets max_dets

    def mean(s):
        s = s[s > -1]
        return float(np.mean(s)) if s.size else None

    per_label = {
        int(c): (mean(precision[0, :, k]), mean(precision[:, :, k]))
        for k, c in enumerate(evaluator.params.catIds)
    }
    return (mean(precision[0]), mean(precision)), per_label


def random_case(seed: int, n_images: int = 40, crowd: bool = False, round_scores: bool = False):
    """Jittered copies of ground-truth boxes (some twice, some missed) plus random false positives."""
    rng = np.random.default_rng(seed)
    images = np.arange(n_images) * 3 + 11  # image indices need not be contiguous
    g_image, g_label, g_boxes = [], [], []
    for image in images:
        if rng.random() < 0.2:
            continue  # a frame without ground truth
        for _ in range(rng.poisson(5)):
            g_image.append(image)
            g_label.append(rng.choice([1, 2, 3]))
            g_boxes.append([*rng.uniform(0, 300, 2), *rng.uniform(8, 120, 2)])
    if crowd:
        # Overlapping boxes of one label, so the greedy and the optimal matchings have work to do,
        # and more than 100 detections of one label on one frame (COCO keeps the best 100).
        base = np.array([50.0, 50.0, 60.0, 60.0])
        for _ in range(120):
            g_image.append(images[0])
            g_label.append(1)
            g_boxes.append(base + np.r_[rng.normal(0, 12, 2), rng.normal(0, 6, 2)])
    g_boxes = np.array(g_boxes)
    d_image, d_label, d_boxes = [], [], []
    for i in range(len(g_image)):
        if g_label[i] == 3:
            continue
        for _ in range(rng.choice([0, 1, 1, 1, 2])):
            jitter = rng.normal(0, 0.12, 4) * g_boxes[i][[2, 3, 2, 3]]
            d_image.append(g_image[i])
            d_label.append(g_label[i])
            d_boxes.append(g_boxes[i] + jitter)
    for _ in range(2 * n_images):
        d_image.append(rng.choice(images))
        d_label.append(rng.choice([1, 2, 7]))
        d_boxes.append([*rng.uniform(0, 300, 2), *rng.uniform(8, 120, 2)])
    scores = rng.random(len(d_image))
    if round_scores:
        scores = np.round(scores, 1)  # ties: COCO breaks them by image, then input order
    gt = GroundTruth(g_image, g_label, g_boxes)
    det = Detections(d_image, d_label, np.array(d_boxes), scores)
    return gt, det, images


def with_ignored(gt: GroundTruth, det: Detections, seed: int) -> tuple[GroundTruth, Detections]:
    """The case with about a fifth of its boxes difficult, a few crowd, and on some frames a crowd
    region (150 x 150) with small detections of the people inside it."""
    rng = np.random.default_rng(seed + 100)
    crowd = rng.random(len(gt)) < 0.05
    ignore = crowd | (rng.random(len(gt)) < 0.2)
    frames = rng.choice(np.unique(gt.image), 4, replace=False)
    regions = np.array([[100.0, 100.0, 150.0, 150.0]] * len(frames))
    inside = [
        [f, 1, [110.0 + 30 * k, 120.0 + 5 * k, 20.0, 40.0], rng.random()] for f in frames for k in range(4)
    ]
    gt = GroundTruth(
        np.r_[gt.image, frames],
        np.r_[gt.label, np.ones(len(frames), np.int64)],
        np.vstack([gt.boxes, regions]),
        ignore=np.r_[ignore, np.ones(len(frames), bool)],
        crowd=np.r_[crowd, np.ones(len(frames), bool)],
    )
    det = Detections(
        np.r_[det.image, [i[0] for i in inside]],
        np.r_[det.label, [i[1] for i in inside]],
        np.vstack([det.boxes, [i[2] for i in inside]]),
        np.r_[det.scores, [i[3] for i in inside]],
    )
    return gt, det


def assert_ap_like_coco(gt, det, images, labels=LABELS, max_detections=100):
    result = evaluate(gt, det, images, labels, bootstrap=0, max_detections=max_detections)
    (ap50, ap50_95), per_label = coco_reference(gt, det, images, labels, max_dets=max_detections)
    assert result.overall.ap50 == pytest.approx(ap50, abs=1e-6)
    assert result.overall.ap50_95 == pytest.approx(ap50_95, abs=1e-6)
    for label in labels:
        want50, want50_95 = per_label[label]
        got = result.per_label[label]
        if want50 is None:
            assert got.ap50 is None and got.ap50_95 is None, label
        else:
            assert got.ap50 == pytest.approx(want50, abs=1e-6), label
            assert got.ap50_95 == pytest.approx(want50_95, abs=1e-6), label
    return result, per_label


@pytest.mark.parametrize("seed", range(6))
def test_ap_agrees_with_cocoeval_on_random_detections(seed):
    gt, det, images = random_case(seed, crowd=seed % 2 == 1, round_scores=seed == 4)
    result, per_label = assert_ap_like_coco(gt, det, images)
    assert per_label[7][0] is None and result.per_label[7].ap50 is None  # detections, no ground truth
    assert result.per_label[3].ap50 == 0.0  # ground truth, no detection
    assert 0 < result.overall.ap50 < 1 and result.overall.ap50_95 < result.overall.ap50


def test_ap_keeps_the_best_100_detections_per_frame_and_label():
    gt, det, images = random_case(11, crowd=True)
    on_frame = (det.image == images[0]) & (det.label == 1)
    assert on_frame.sum() > 100
    assert_ap_like_coco(gt, det, images)
    # Lowering the score of the best detection on that frame pushes another one into the best 100.
    scores = det.scores.copy()
    scores[np.flatnonzero(on_frame)[np.argmax(det.scores[on_frame])]] = -1.0
    assert_ap_like_coco(gt, Detections(det.image, det.label, det.boxes, scores), images)


def test_ap_with_one_image_and_labels_missing_on_both_sides():
    gt = GroundTruth([0, 0], [1, 2], [[0, 0, 10, 10], [20, 20, 10, 10]])
    det = Detections([0, 0], [1, 9], [[1, 0, 10, 10], [20, 20, 10, 10]], [0.9, 0.8])
    result, _ = assert_ap_like_coco(gt, det, [0, 5], labels=[1, 2, 4])
    # COCO's precision is TP / (TP + FP + eps), so a perfect label scores 1 - 1e-16
    assert result.per_label[1].ap50 == pytest.approx(1.0) and result.per_label[2].ap50 == 0.0
    assert result.per_label[4].ap50 is None and result.overall.ap50 == pytest.approx(0.5)


def test_iou_is_cocos_for_xywh_boxes():
    rng = np.random.default_rng(3)
    d = np.vstack([rng.integers(0, 20, (40, 4)).astype(float), [[0, 0, 0, 0], [5, 5, 0, 3]]])
    g = np.vstack([rng.integers(0, 20, (30, 4)).astype(float), [[0, 0, 10, 10], [10, 0, 5, 5]]])
    want = mask_utils.iou(d.tolist(), g.tolist(), [0] * len(g))
    got = box_iou(np.repeat(d, len(g), axis=0), np.tile(g, (len(d), 1))).reshape(len(d), len(g))
    np.testing.assert_array_equal(got, want)
    # no +1 on widths: touching boxes do not overlap, a half-covered box is exactly 0.5
    assert box_iou(np.array([[10.0, 0, 5, 5]]), np.array([[0.0, 0, 10, 10]]))[0] == 0.0
    assert box_iou(np.array([[0.0, 0, 10, 5]]), np.array([[0.0, 0, 10, 10]]))[0] == 0.5


def kinds(result):
    return sorted(
        (Kind(k).name, int(g), int(d))
        for k, g, d in zip(
            result.comparisons.kind, result.comparisons.gt, result.comparisons.det, strict=True
        )
    )


def test_optimal_assignment_finds_two_matches_where_greedy_finds_one():
    # Detection 0 (score 0.9) overlaps both boxes, best box 0; detection 1 overlaps only box 0.
    gt = GroundTruth([0, 0], [1, 1], [[0, 0, 10, 10], [2, 0, 10, 10]])
    det = Detections([0, 0], [1, 1], [[0.8, 0, 10, 10], [-2, 0, 10, 10]], [0.9, 0.8])
    result = evaluate(gt, det, [0], [1], bootstrap=0)
    assert kinds(result) == [("TP", 0, 1), ("TP", 1, 0)]
    assert (result.overall.tp, result.overall.fp, result.overall.fn) == (2, 0, 0)
    assert result.overall.precision == 1.0 and result.overall.recall == 1.0 and result.overall.f1 == 1.0
    np.testing.assert_allclose(sorted(result.comparisons.iou), [80 / 120, 88 / 112])
    # AP follows COCO's greedy matching: detection 0 takes box 0, detection 1 is a false positive,
    # so precision 1 up to recall 0.5 (51 of 101 recall points) and nothing beyond.
    assert result.overall.ap50 == pytest.approx(51 / 101)
    assert_ap_like_coco(gt, det, [0], labels=[1])


def test_iou_exactly_at_the_threshold_matches():
    gt = GroundTruth([0, 0], [1, 1], [[0, 0, 10, 10], [50, 50, 10, 10]])
    det = Detections([0, 0], [1, 1], [[0, 0, 10, 5], [50, 50, 10, 4.9]], [0.5, 0.6])  # IoU 0.5, 0.49
    result = evaluate(gt, det, [0], [1], bootstrap=0)
    assert kinds(result) == [("FN", 1, -1), ("FP", -1, 1), ("TP", 0, 0)]
    assert result.comparisons.iou[result.comparisons.kind == Kind.TP].tolist() == [0.5]
    stricter = evaluate(gt, det, [0], [1], match_iou=0.6, bootstrap=0)
    assert (stricter.overall.tp, stricter.overall.fp, stricter.overall.fn) == (0, 2, 2)
    looser = evaluate(gt, det, [0], [1], match_iou=0.3, bootstrap=0)
    assert (looser.overall.tp, looser.overall.fp, looser.overall.fn) == (2, 0, 0)
    assert looser.overall.ap50 == stricter.overall.ap50  # AP has its own thresholds


def test_a_different_label_or_frame_never_matches():
    gt = GroundTruth([0, 1], [1, 1], [[0, 0, 10, 10], [0, 0, 10, 10]])
    det = Detections([0, 2], [2, 1], [[0, 0, 10, 10], [0, 0, 10, 10]], [0.9, 0.9])
    result = evaluate(gt, det, [0, 1, 2], [1, 2], bootstrap=0)
    assert kinds(result) == [("FN", 0, -1), ("FN", 1, -1), ("FP", -1, 0), ("FP", -1, 1)]
    assert result.comparisons.iou.tolist() == [0.0] * 4
    assert result.comparisons.image.tolist() == [0, 0, 1, 2]
    assert result.comparisons.label.tolist() == [1, 2, 1, 1]
    assert result.per_label[1].ap50 == 0.0 and result.per_label[2].ap50 is None


def test_rows_outside_the_frames_or_labels_are_left_out_and_indices_point_into_the_input():
    gt = GroundTruth(
        [5, 9, 5, 5], [1, 1, 4, 1], [[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 9, 9], [30, 30, 5, 5]]
    )
    det = Detections(
        [9, 5, 5, 5],
        [1, 4, 1, 1],
        [[0, 0, 10, 10], [0, 0, 9, 9], [30, 30, 5, 5], [1, 1, 10, 10]],
        [1, 1, 0.2, 0.7],
    )
    result = evaluate(gt, det, [5], [1], bootstrap=0)  # frame 9 and label 4 are not evaluated
    assert kinds(result) == [("TP", 0, 3), ("TP", 3, 2)]
    assert result.images == 1 and set(result.per_label) == {1}


def test_empty_inputs():
    result = evaluate(GroundTruth.empty(), Detections.empty(), [0, 1], [1, 2])
    o = result.overall
    assert (o.tp, o.fp, o.fn) == (0, 0, 0) and len(result.comparisons) == 0
    assert o.precision is None and o.recall is None and o.f1 is None and o.ap50 is None and o.ap50_95 is None
    assert o.precision_ci is None and o.recall_ci is None and o.f1_ci is None and o.ap50_ci is None
    nothing = evaluate(GroundTruth.empty(), Detections.empty(), [], [])
    assert nothing.images == 0 and nothing.per_label == {} and nothing.overall.f1 is None

    only_gt = evaluate(GroundTruth([0], [1], [[0, 0, 5, 5]]), Detections.empty(), [0], [1])
    o = only_gt.overall
    assert (o.tp, o.fp, o.fn, o.precision, o.recall, o.f1, o.ap50) == (0, 0, 1, None, 0.0, 0.0, 0.0)
    only_det = evaluate(GroundTruth.empty(), Detections([0], [1], [[0, 0, 5, 5]], [0.3]), [0], [1])
    o = only_det.overall
    assert (o.tp, o.fp, o.fn, o.precision, o.recall, o.f1, o.ap50) == (0, 1, 0, 0.0, None, 0.0, None)


def brute_force_best(iou: np.ndarray, threshold: float) -> float:
    """Largest total IoU over one-to-one assignments of pairs with IoU >= threshold."""
    n_det, n_gt = iou.shape
    best = 0.0
    for k in range(min(n_det, n_gt) + 1):
        for dets in itertools.combinations(range(n_det), k):
            for gts in itertools.permutations(range(n_gt), k):
                values = iou[list(dets), list(gts)]
                if (values >= threshold).all():
                    best = max(best, float(values.sum()))
    return best


@pytest.mark.parametrize("seed", range(20))
def test_optimal_assignment_has_the_largest_total_iou(seed):
    rng = np.random.default_rng(seed)
    n_gt, n_det = rng.integers(1, 5), rng.integers(1, 5)
    gt_boxes = np.c_[rng.uniform(0, 8, (n_gt, 2)), rng.uniform(8, 12, (n_gt, 2))]
    det_boxes = np.c_[rng.uniform(0, 8, (n_det, 2)), rng.uniform(8, 12, (n_det, 2))]
    gt = GroundTruth(np.zeros(n_gt), np.ones(n_gt), gt_boxes)
    det = Detections(np.zeros(n_det), np.ones(n_det), det_boxes, rng.random(n_det))
    iou = box_iou(np.repeat(det_boxes, n_gt, axis=0), np.tile(gt_boxes, (n_det, 1))).reshape(n_det, n_gt)
    result = evaluate(gt, det, [0], [1], match_iou=0.5, bootstrap=0)
    c = result.comparisons
    tp = c.kind == Kind.TP
    assert c.iou[tp].sum() == pytest.approx(brute_force_best(iou, 0.5))
    np.testing.assert_array_equal(c.iou[tp], iou[c.det[tp], c.gt[tp]])
    assert (c.iou[tp] >= 0.5).all()
    # every detection and every box appears exactly once
    assert sorted(c.det[c.det >= 0].tolist()) == list(range(n_det))
    assert sorted(c.gt[c.gt >= 0].tolist()) == list(range(n_gt))


def test_counts_per_label_add_up_and_match_the_comparisons():
    gt, det, images = random_case(2, crowd=True)
    result = evaluate(gt, det, images, LABELS, bootstrap=0)
    c = result.comparisons
    for label, m in result.per_label.items():
        mine = c.label == label
        assert m.tp == int((c.kind[mine] == Kind.TP).sum()) and m.fn == int((c.kind[mine] == Kind.FN).sum())
        assert m.fp == int((c.kind[mine] == Kind.FP).sum())
    o = result.overall
    assert o.tp == sum(m.tp for m in result.per_label.values())
    assert o.tp + o.fn == int(np.isin(gt.label, LABELS).sum())
    assert o.tp + o.fp == int(np.isin(det.label, LABELS).sum())
    assert o.precision == o.tp / (o.tp + o.fp) and o.recall == o.tp / (o.tp + o.fn)
    assert o.f1 == pytest.approx(2 * o.precision * o.recall / (o.precision + o.recall))
    assert result.per_label[3].precision is None and result.per_label[3].recall == 0.0
    assert result.per_label[7].recall is None and result.per_label[7].precision == 0.0
    # the TP pairs really are pairs of one frame and label
    tp = c.kind == Kind.TP
    assert (gt.image[c.gt[tp]] == det.image[c.det[tp]]).all() and (
        gt.label[c.gt[tp]] == det.label[c.det[tp]]
    ).all()
    assert (gt.image[c.gt[tp]] == c.image[tp]).all()


def test_invalid_arguments():
    with pytest.raises(ValueError):
        evaluate(GroundTruth.empty(), Detections.empty(), [0], [1], match_iou=0)
    with pytest.raises(ValueError):
        evaluate(GroundTruth.empty(), Detections.empty(), [0], [1, 1])
    with pytest.raises(ValueError):
        Detections([0], [1], [[0, 0, 1, 1]], [np.nan])
    with pytest.raises(ValueError):
        GroundTruth([0, 1], [1], [[0, 0, 1, 1], [0, 0, 1, 1]])


def test_equal_ious_go_to_the_last_box_as_in_cocoeval():
    # Detection 0 overlaps both boxes with exactly the same IoU (90 / 110); COCOeval gives it the last
    # one, which leaves box 0 for detection 1 (IoU 70 / 130 with box 0, 50 / 150 with box 1).
    gt = GroundTruth([0, 0], [1, 1], [[0, 0, 10, 10], [2, 0, 10, 10]])
    det = Detections([0, 0], [1, 1], [[1, 0, 10, 10], [-3, 0, 10, 10]], [0.9, 0.8])
    result, _ = assert_ap_like_coco(gt, det, [0], labels=[1])
    assert result.overall.ap50 == pytest.approx(1.0)
    assert result.overall.tp == 2


def test_results_do_not_depend_on_the_chunking(monkeypatch):
    from domain.validation.metrics import bootstrap, pairs

    gt, det, images = random_case(6, crowd=True)
    whole = evaluate(gt, det, images, LABELS, bootstrap=20, seed=3)
    monkeypatch.setattr(pairs, "PAIRS_PER_CHUNK", 7)
    monkeypatch.setattr(bootstrap, "ELEMENTS_PER_CHUNK", 500)
    chunked = evaluate(gt, det, images, LABELS, bootstrap=20, seed=3)
    assert chunked.overall == whole.overall and chunked.per_label == whole.per_label
    for name in ("kind", "gt", "det", "iou", "image", "label"):
        np.testing.assert_array_equal(getattr(chunked.comparisons, name), getattr(whole.comparisons, name))


@pytest.mark.parametrize("seed", range(6))
def test_ap_agrees_with_cocoeval_when_boxes_are_ignored(seed):
    """Difficult boxes (ordinary IoU) and crowd regions (intersection over the detection's area) take
    any number of detections, which are neither TP nor FP; COCOeval with them as iscrowd agrees."""
    gt, det = with_ignored(*random_case(seed, crowd=seed % 2 == 1, round_scores=seed == 4)[:2], seed)
    images = random_case(seed)[2]
    result, _ = assert_ap_like_coco(gt, det, images)
    assert result.ignored_boxes == int(gt.ignore.sum()) and result.ignored > 0
    plain = evaluate(GroundTruth(gt.image, gt.label, gt.boxes), det, images, LABELS, bootstrap=0)
    o = result.overall
    assert o.tp + o.fn == int((np.isin(gt.label, LABELS) & ~gt.ignore).sum())  # ignored boxes: never FN
    assert o.tp + o.fp + result.ignored == int(np.isin(det.label, LABELS).sum())
    assert o.fn < plain.overall.fn and o.fp < plain.overall.fp  # they were misses and false alarms


def test_a_detection_on_a_difficult_box_is_neither_a_hit_nor_a_false_alarm():
    # frame 0: a box that counts and a difficult one, both found; frame 1: a difficult box nobody found,
    # and a detection near it that overlaps too little (IoU < 0.5): a false alarm.
    gt = GroundTruth(
        [0, 0, 1], [1, 1, 1], [[0, 0, 10, 10], [50, 50, 10, 10], [0, 0, 10, 10]], ignore=[False, True, True]
    )
    det = Detections(
        [0, 0, 0, 1],
        [1, 1, 1, 1],
        [[0, 0, 10, 10], [50, 50, 10, 10], [51, 50, 10, 10], [6, 6, 10, 10]],
        [0.9, 0.8, 0.7, 0.6],
    )
    result = evaluate(gt, det, [0, 1], [1], bootstrap=0)
    o = result.overall
    assert (o.tp, o.fp, o.fn, result.ignored, result.ignored_boxes) == (1, 1, 0, 2, 2)
    assert o.precision == 0.5 and o.recall == 1.0
    # two detections on the difficult box (an ignored box takes any number), the other one alone
    assert kinds(result) == [
        ("FP", -1, 3),
        ("IGNORED", 1, 1),
        ("IGNORED", 1, 2),
        ("IGNORED", 2, -1),
        ("TP", 0, 0),
    ]
    # AP: the ranking is 0.9 TP, (0.8 and 0.7 left out), 0.6 FP: precision 1 up to recall 1
    assert result.overall.ap50 == pytest.approx(1.0)
    assert_ap_like_coco(gt, det, [0, 1], labels=[1])
    # A label whose only boxes are difficult has nothing to find: no recall, no AP (COCO's -1).
    only = evaluate(GroundTruth([0], [1], [[0, 0, 10, 10]], ignore=[True]), Detections.empty(), [0], [1])
    assert (only.overall.fn, only.overall.recall, only.overall.ap50) == (0, None, None)


def test_a_detection_goes_to_the_box_that_counts_before_a_difficult_one():
    # The detection overlaps the difficult box more, yet COCO (and the optimal assignment) first try the
    # boxes that count: a hit, not an ignored detection, and the difficult box stays alone.
    gt = GroundTruth([0, 0], [1, 1], [[0, 0, 10, 10], [2, 0, 10, 10]], ignore=[False, True])
    det = Detections([0], [1], [[1.5, 0, 10, 10]], [0.9])
    result, _ = assert_ap_like_coco(gt, det, [0], labels=[1])
    assert kinds(result) == [("IGNORED", 1, -1), ("TP", 0, 0)] and result.overall.ap50 == pytest.approx(1.0)


def test_crowd_regions_are_measured_over_the_detection():
    region = GroundTruth([0], [1], [[0, 0, 100, 100]], crowd=[True])
    people = Detections(
        [0, 0, 0], [1, 1, 1], [[10, 10, 10, 20], [50, 50, 10, 20], [95, 95, 10, 10]], [0.9, 0.8, 0.7]
    )
    result = evaluate(region, people, [0], [1], bootstrap=0)
    # wholly inside: intersection / detection area = 1; the last one is a quarter inside: a false alarm
    assert (result.overall.tp, result.overall.fp, result.overall.fn, result.ignored) == (0, 1, 0, 2)
    assert (
        box_iou(np.array([[95.0, 95, 10, 10]]), np.array([[0.0, 0, 100, 100]]), np.array([True]))[0] == 0.25
    )
    assert_ap_like_coco(region, people, [0], labels=[1])


def crowded_frame(objects: int = 150) -> tuple[GroundTruth, Detections]:
    """One frame with `objects` separate boxes of one label and a perfect detector."""
    boxes = np.array([[(i % 15) * 20.0, (i // 15) * 20.0, 10.0, 10.0] for i in range(objects)])
    scores = np.linspace(0.99, 0.5, objects)
    return GroundTruth(np.zeros(objects), np.ones(objects), boxes), Detections(
        np.zeros(objects), np.ones(objects), boxes, scores
    )


def test_more_objects_on_a_frame_than_the_detection_limit():
    """Issue 15: a perfect detector on a frame of 150 objects got AP50 0.66 (COCO keeps 100 per frame
    and label). The limit is a parameter; the evaluation says how much it left out."""
    gt, det = crowded_frame(150)
    capped, _ = assert_ap_like_coco(gt, det, [0], labels=[1])
    assert capped.overall.ap50 == pytest.approx(67 / 101)  # recall reaches 100/150: 67 of 101 points
    assert (capped.overall.precision, capped.overall.recall) == (1.0, 1.0)  # every detection counts there
    assert (capped.max_detections, capped.beyond_limit, capped.frames_beyond_limit) == (100, 50, 1)
    raised, _ = assert_ap_like_coco(gt, det, [0], labels=[1], max_detections=150)
    assert raised.overall.ap50 == pytest.approx(1.0) and raised.beyond_limit == 0
    assert evaluate(gt, det, [0], [1], bootstrap=0, max_detections=149).beyond_limit == 1
    with pytest.raises(ValueError):
        evaluate(gt, det, [0], [1], max_detections=0)
