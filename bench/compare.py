"""Comparing two test sessions (domain.validation.comparison_bootstrap) against the evaluation itself.

Two sessions on the same 10,000 frames x 20 ground-truth boxes over 5 labels (bench/evaluation.py's
data): A finds 85 % of the boxes, B 82 % with a little more jitter, each with 3 false positives per
frame and a
latency per frame. The comparison (both sessions reduced to per-frame matches, then a paired bootstrap
of AP50, AP50:95, F1, precision, recall per label and latency p95 with 1,000 resamples) is timed against
the evaluation that ends one session (metrics.evaluate with the stored 200-resample bootstrap of F1 and
AP50, plus latency_stats), in one process, interleaved.

    .venv/bin/python -m bench.compare [--images 10000] [--boxes 20] [--labels 5] [--resamples 1000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bench.evaluation import make_data
from domain.validation.comparison_bootstrap import compare_samples, session_sample
from domain.validation.evaluation import BOOTSTRAP
from domain.validation.metrics import Detections, GroundTruth, evaluate, latency_stats


def other_detector(gt: GroundTruth, images: int, labels: int, seed: int) -> Detections:
    """A weaker detector on the same ground truth: 82 % found, a little more jitter."""
    rng = np.random.default_rng(seed)
    found = rng.random(len(gt)) < 0.82
    jitter = rng.normal(0, 0.10, (int(found.sum()), 4)) * gt.boxes[found][:, [2, 3, 2, 3]]
    fp = 3 * images
    size = rng.uniform(16, 200, (fp, 2))
    boxes = np.c_[rng.uniform(0, 1, (fp, 2)) * ([1280.0, 720.0] - size), size]
    return Detections(
        np.r_[gt.image[found], rng.integers(0, images, fp)],
        np.r_[gt.label[found], rng.integers(0, labels, fp)],
        np.r_[gt.boxes[found] + jitter, boxes],
        np.r_[rng.beta(5, 2, int(found.sum())), rng.beta(2, 5, fp)],
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--boxes", type=int, default=20)
    parser.add_argument("--labels", type=int, default=5)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    gt, a = make_data(args.images, args.boxes, args.labels, 0)
    b = other_detector(gt, args.images, args.labels, 1)
    rng = np.random.default_rng(2)
    latency = [rng.gamma(4, 5, args.images), rng.gamma(4, 6, args.images)]
    frames, labels = np.arange(args.images), list(range(args.labels))

    def evaluation() -> None:
        evaluate(gt, a, frames, labels, bootstrap=BOOTSTRAP, seed=0)
        latency_stats(latency[0], 100.0)

    def comparison():
        start = time.perf_counter()
        samples = [
            session_sample(
                gt, det, args.images, args.labels, match_iou=0.5, latency_ms=lat, latency_image=frames
            )
            for det, lat in ((a, latency[0]), (b, latency[1]))
        ]
        reduced.append(time.perf_counter() - start)
        return compare_samples(samples, args.resamples, 0, 0.95)

    evaluate(gt, a, frames[:10], labels, bootstrap=2)  # imports and first calls before the clock
    eval_s, compare_s, reduced, found = [], [], [], None
    for _ in range(args.rounds):  # interleaved: the two share whatever the machine does meanwhile
        start = time.perf_counter()
        evaluation()
        eval_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        found = comparison()
        compare_s.append(time.perf_counter() - start)
    assert found is not None
    e, c = min(eval_s), min(compare_s)
    n_det = len(a) + len(b)
    print(
        f"two sessions: {args.images} frames x {args.boxes} boxes, {n_det} detections, "
        f"{args.resamples} resamples"
    )
    for d in found[0]:
        if d.label is None:
            print(
                f"  {d.metric:12s} A {d.baseline:.4f}  B {d.value:.4f}  "
                f"B-A {d.difference:+.4f} [{d.low:+.4f}, {d.high:+.4f}]"
            )
    print(f"annograph comparison (2 sessions, {args.resamples} resamples): {c:.2f} s (best of {args.rounds})")
    best = compare_s.index(c)
    print(f"  of which reducing both sessions to per-frame matches: {reduced[best]:.2f} s")
    print(
        f"reference: the evaluation of one session (bootstrap {BOOTSTRAP}): {e:.2f} s (best of {args.rounds})"
    )
    print(f"ratio comparison / evaluation: {c / e:.1f}x (per session compared: {c / 2 / e:.1f}x)")


if __name__ == "__main__":
    main()
