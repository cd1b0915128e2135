"""The evaluation of a detection test session (domain.validation.metrics.evaluate) against pycocotools'
COCOeval on the same data in one process: 10,000 frames with 20 ground-truth boxes each over 5 labels,
and about 20 detections per frame (85 % of the boxes found, jittered, plus 3 random false positives
per frame).

    .venv/bin/python -m bench.evaluation [--images 10000] [--boxes 20] [--labels 5] [--bootstrap 200]

Times: `evaluate` without the bootstrap (matching, counts, AP) and with it; COCOeval's evaluate() +
accumulate(), and separately the building of its index (COCO.createIndex and loadRes from in-memory
lists). Then the speed ratio and the largest difference between the two in AP50 or AP50:95, overall or
for any label.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time

import numpy as np

from domain.validation.metrics import Detections, GroundTruth, evaluate

WIDTH, HEIGHT = 1280.0, 720.0


def make_data(images: int, boxes: int, labels: int, seed: int) -> tuple[GroundTruth, Detections]:
    rng = np.random.default_rng(seed)
    n = images * boxes
    size = rng.uniform(16, 200, (n, 2))
    corner = rng.uniform(0, 1, (n, 2)) * ([WIDTH, HEIGHT] - size)
    gt = GroundTruth(np.repeat(np.arange(images), boxes), rng.integers(0, labels, n), np.c_[corner, size])
    found = rng.random(n) < 0.85
    jitter = rng.normal(0, 0.08, (int(found.sum()), 4)) * gt.boxes[found][:, [2, 3, 2, 3]]
    fp = 3 * images
    fp_size = rng.uniform(16, 200, (fp, 2))
    fp_boxes = np.c_[rng.uniform(0, 1, (fp, 2)) * ([WIDTH, HEIGHT] - fp_size), fp_size]
    det = Detections(
        np.r_[gt.image[found], rng.integers(0, images, fp)],
        np.r_[gt.label[found], rng.integers(0, labels, fp)],
        np.r_[gt.boxes[found] + jitter, fp_boxes],
        np.r_[rng.beta(5, 2, int(found.sum())), rng.beta(2, 5, fp)],  # true boxes score higher, mostly
    )
    return gt, det


def run_coco(gt: GroundTruth, det: Detections, images: int, labels: int) -> tuple[float, float, dict]:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    dataset = {
        "images": [{"id": i} for i in range(images)],
        "categories": [{"id": k} for k in range(labels)],
        "annotations": [
            {"id": i + 1, "image_id": im, "category_id": c, "bbox": b, "area": b[2] * b[3], "iscrowd": 0}
            for i, (im, c, b) in enumerate(
                zip(gt.image.tolist(), gt.label.tolist(), gt.boxes.tolist(), strict=True)
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
        start = time.perf_counter()
        coco = COCO()
        coco.dataset = dataset
        coco.createIndex()
        evaluator = COCOeval(coco, coco.loadRes(results), "bbox")
        evaluator.params.imgIds = list(range(images))
        index_s = time.perf_counter() - start
        start = time.perf_counter()
        evaluator.evaluate()
        evaluator.accumulate()
        eval_s = time.perf_counter() - start
    precision = evaluator.eval["precision"][:, :, :, 0, 2]

    def mean(s: np.ndarray) -> float | None:
        s = s[s > -1]
        return float(np.mean(s)) if s.size else None

    aps = {"overall": (mean(precision[0]), mean(precision))}
    for k, label in enumerate(evaluator.params.catIds):
        aps[int(label)] = (mean(precision[0, :, k]), mean(precision[:, :, k]))
    return index_s, eval_s, aps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--boxes", type=int, default=20, help="ground-truth boxes per frame")
    parser.add_argument("--labels", type=int, default=5)
    parser.add_argument("--bootstrap", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    gt, det = make_data(args.images, args.boxes, args.labels, args.seed)
    frames, labels = np.arange(args.images), list(range(args.labels))

    evaluate(gt, det, frames[:10], labels, bootstrap=0)  # imports and first calls before the clock
    start = time.perf_counter()
    ours = evaluate(gt, det, frames, labels, bootstrap=0)
    ours_s = time.perf_counter() - start
    start = time.perf_counter()
    with_ci = evaluate(gt, det, frames, labels, bootstrap=args.bootstrap, seed=args.seed)
    ci_s = time.perf_counter() - start
    index_s, coco_s, coco_ap = run_coco(gt, det, args.images, args.labels)

    mine = {"overall": (ours.overall.ap50, ours.overall.ap50_95)}
    mine |= {k: (m.ap50, m.ap50_95) for k, m in ours.per_label.items()}
    worst = 0.0
    for key, want in coco_ap.items():
        for got, expected in zip(mine[key], want, strict=True):
            if (got is None) != (expected is None):
                worst = float("inf")
            elif got is not None:
                worst = max(worst, abs(got - expected))

    o = ours.overall
    print(
        f"detection evaluation, {args.images} frames x {args.boxes} boxes, {len(det)} detections, "
        f"{args.labels} labels"
    )
    with_index = coco_s + index_s
    rows = [
        ("evaluate, no bootstrap", ours_s, ""),
        (f"evaluate, bootstrap {args.bootstrap}", ci_s, ""),
        ("COCOeval evaluate() + accumulate()", coco_s, f"{coco_s / ours_s:6.1f}x {coco_s / ci_s:6.1f}x"),
        (
            "COCOeval + index (createIndex, loadRes)",
            with_index,
            f"{with_index / ours_s:6.1f}x {with_index / ci_s:6.1f}x",
        ),
    ]
    print(f"  {'':42s} {'seconds':>8s}  COCOeval time / evaluate's, without and with bootstrap")
    for name, seconds, ratio in rows:
        print(f"  {name:42s} {seconds:8.2f}  {ratio}")
    print(f"  largest AP difference (AP50, AP50:95, overall and per label) {worst:.3g}")
    print(
        f"  AP50 {o.ap50:.4f} [{with_ci.overall.ap50_ci.low:.4f}, {with_ci.overall.ap50_ci.high:.4f}]  "
        f"AP50:95 {o.ap50_95:.4f}  P {o.precision:.4f}  R {o.recall:.4f}  "
        f"F1 {o.f1:.4f} [{with_ci.overall.f1_ci.low:.4f}, {with_ci.overall.f1_ci.high:.4f}]"
    )


if __name__ == "__main__":
    main()
