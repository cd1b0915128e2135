"""The numbers of a test-session report, as one JSON-ready dict (pure). `build_report` in one call; the
report job runs `curve_inputs` and `assemble` in a thread and only `curves_of` (numpy arrays in, lists
out) in a worker process, so that no row list is pickled.

The shape (camelCase keys; the metrics under the names the graph gives them, so `evaluation` here is
what `testSession.evaluation` answers):

- `session`: id (the database id), name, project, source, model, status, matchIou, toleranceMs,
  maxDetections, partial, framesTotal, evaluatedAt;
- `verdict`: passed, reasons, notes, and `criteria`: one entry per criterion the project set when the
  session was evaluated, {name, bound, comparison (">=" or "<="), value, passed} (a criterion whose
  value is unavailable fails, as the verdict judges);
- `evaluation`: frames, groundTruthBoxes, detections, ignoredDetections, difficultBoxes,
  detectionsOnDifficult, maxDetections, detectionsBeyondLimit, framesBeyondLimit, partial, note,
  overall and perLabel[{label, metrics}] (truePositives, falsePositives, falseNegatives, precision,
  recall, f1, ap50, ap50To95 and their 95 % intervals {low, high}), latency {count, p50Ms, p95Ms,
  p99Ms, maxMs, withinTolerance};
- `precisionRecall`: {iou, recall (101 points), labels[{label, precision, scores, ap}]} (curves.py);
- `thresholdSweep`: {thresholds, overall and perLabel[{label, ...}] with tp, fp, fn, precision, recall,
  f1 per threshold, best {threshold, precision, recall, f1} or null};
- `latency`: {values (count), binEdgesMs, counts, beyond (measurements right of the last edge),
  p50Ms, p95Ms, p99Ms, maxMs, toleranceMs};
- `frames`: one entry per (episode, camera) processed: episodeId, episodeIndex, dataset, camera, and
  columns frame, time (seconds in the episode), tp, fp, fn (from the stored comparisons);
- `worstFalsePositives`: the WORST highest-scored false positives, `worstMisses`: the WORST largest
  missed boxes (area in square pixels), each {comparisonId, episodeId, episodeIndex, dataset, camera,
  frame, time, label, score (FP), box {x, y, width, height}, others: the boxes of that label on that
  frame, truth and detections, to draw beside it};
- `notes`: what the figures must be read with (ground truth edited since the evaluation).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from domain.validation.evaluation import _arrays as session_arrays
from domain.validation.metrics.data import Detections, GroundTruth
from domain.validation.reports.curves import PrCurves, Sweep, pr_curves, threshold_sweep
from domain.validation.reports.load import ReportInputs
from persistence.documents import DetectionCounts, SessionMetrics

WORST = 12
LATENCY_BINS = 40


def _interval(pair: tuple[float, float] | None) -> dict | None:
    return None if pair is None else {"low": pair[0], "high": pair[1]}


def metrics_json(m: DetectionCounts) -> dict[str, Any]:
    """One DetectionCounts under the graph's DetectionMetrics names."""
    return {
        "truePositives": m.tp,
        "falsePositives": m.fp,
        "falseNegatives": m.fn,
        "precision": m.precision,
        "recall": m.recall,
        "f1": m.f1,
        "ap50": m.ap50,
        "ap50To95": m.ap50_95,
        "precisionInterval": _interval(m.precision_ci),
        "recallInterval": _interval(m.recall_ci),
        "f1Interval": _interval(m.f1_ci),
        "ap50Interval": _interval(m.ap50_ci),
    }


def evaluation_json(m: SessionMetrics, partial: bool) -> dict[str, Any]:
    """The stored evaluation under the graph's TestEvaluation names."""
    lat = m.latency
    return {
        "frames": m.frames,
        "groundTruthBoxes": m.ground_truth,
        "detections": m.detections,
        "ignoredDetections": m.ignored_detections,
        "difficultBoxes": m.difficult_boxes,
        "detectionsOnDifficult": m.detections_on_difficult,
        "maxDetections": m.max_detections,
        "detectionsBeyondLimit": m.detections_beyond_limit,
        "framesBeyondLimit": m.frames_beyond_limit,
        "partial": partial,
        "note": m.note,
        "overall": metrics_json(m.overall),
        "perLabel": [{"label": p.label, "metrics": metrics_json(p)} for p in m.per_label],
        "latency": {
            "count": lat.count,
            "p50Ms": lat.p50,
            "p95Ms": lat.p95,
            "p99Ms": lat.p99,
            "maxMs": lat.max,
            "withinTolerance": lat.within_tolerance,
        },
    }


def criteria_json(inputs: ReportInputs) -> list[dict[str, Any]]:
    """Each criterion set: its bound, the measured value and whether it held (as `judge` decides)."""
    c, o, lat = inputs.criteria, inputs.metrics.overall, inputs.metrics.latency
    out = []
    for name, bound, value, at_least in (
        ("precision", c.min_precision, o.precision, True),
        ("recall", c.min_recall, o.recall, True),
        ("F1", c.min_f1, o.f1, True),
        ("AP50", c.min_ap50, o.ap50, True),
        ("p95 latency (ms)", c.max_p95_latency_ms, lat.p95, False),
    ):
        if bound is None:
            continue
        held = value is not None and (value >= bound if at_least else value <= bound)
        out.append(
            {
                "name": name,
                "bound": bound,
                "comparison": ">=" if at_least else "<=",
                "value": value,
                "passed": held,
            }
        )
    return out


def _latency(values: list[float | None], tolerance_ms: float, m: SessionMetrics) -> dict[str, Any]:
    """A histogram of the measured latencies up to max(p99 x 1.25, tolerance x 1.25); the rest is
    counted in `beyond` (a few outliers would squeeze every other bar into one)."""
    data = np.asarray([v for v in values if v is not None], dtype=np.float64)
    data = data[np.isfinite(data)]
    summary = {
        "values": int(len(data)),
        "p50Ms": m.latency.p50,
        "p95Ms": m.latency.p95,
        "p99Ms": m.latency.p99,
        "maxMs": m.latency.max,
        "toleranceMs": tolerance_ms,
    }
    if len(data) == 0:
        return {**summary, "binEdgesMs": [], "counts": [], "beyond": 0}
    top = max(float(np.percentile(data, 99)), tolerance_ms) * 1.25
    low = min(0.0, float(data.min()))
    counts, edges = np.histogram(data[data <= top], bins=LATENCY_BINS, range=(low, top))
    return {
        **summary,
        "binEdgesMs": edges.tolist(),
        "counts": counts.tolist(),
        "beyond": int((data > top).sum()),
    }


def _frames(inputs: ReportInputs) -> list[dict[str, Any]]:
    """Per (episode, camera): TP / FP / FN of each processed frame, along the episode's time."""
    counts: dict[tuple[int, str, int], list[int]] = {f: [0, 0, 0] for f in inputs.frames}
    slot = {"TP": 0, "FP": 1, "FN": 2}
    for c in inputs.comparisons:
        if c.kind in slot:
            counts.setdefault((c.episode_id, c.camera, c.frame), [0, 0, 0])[slot[c.kind]] += 1
    series: dict[tuple[int, str], list[tuple[int, list[int]]]] = defaultdict(list)
    for (episode_id, camera, frame), tpfpfn in sorted(counts.items()):
        series[(episode_id, camera)].append((frame, tpfpfn))
    out = []
    for (episode_id, camera), rows in sorted(
        series.items(), key=lambda kv: (inputs.episodes[kv[0][0]].index, kv[0][0], kv[0][1])
    ):
        episode = inputs.episodes[episode_id]
        times = inputs.times.get(episode_id)
        frames = [f for f, _ in rows]
        out.append(
            {
                "episodeId": episode_id,
                "episodeIndex": episode.index,
                "dataset": episode.dataset,
                "camera": camera,
                "frame": frames,
                "time": [float(times[f]) if times is not None and f < len(times) else None for f in frames],
                "tp": [v[0] for _, v in rows],
                "fp": [v[1] for _, v in rows],
                "fn": [v[2] for _, v in rows],
            }
        )
    return out


def _box(r) -> dict[str, float]:
    return {"x": r.x, "y": r.y, "width": r.width, "height": r.height}


def _worst(inputs: ReportInputs, limit: int) -> tuple[list[dict], list[dict]]:
    """The `limit` highest-scored false positives and largest missed boxes (module docstring)."""
    detections = {r.id: r for r in inputs.det_rows}
    truths = {r.id: r for r in inputs.gt_rows}
    fps = [
        (c, detections[c.detection_id])
        for c in inputs.comparisons
        if c.kind == "FP" and c.detection_id in detections
    ]
    fps.sort(key=lambda cd: (-cd[1].score, cd[0].id))
    misses = [
        (c, truths[c.annotation_id])
        for c in inputs.comparisons
        if c.kind == "FN" and c.annotation_id in truths
    ]
    misses.sort(key=lambda cb: (-cb[1].width * cb[1].height, cb[0].id))
    chosen = [c for c, _ in fps[:limit]] + [c for c, _ in misses[:limit]]
    wanted = {(c.episode_id, c.camera, c.frame, c.label) for c in chosen}
    others: dict[tuple, dict[str, list]] = defaultdict(lambda: {"truth": [], "detections": []})
    for r in inputs.gt_rows:
        if (r.episode_id, r.camera, r.frame, r.label) in wanted:
            others[(r.episode_id, r.camera, r.frame, r.label)]["truth"].append(_box(r))
    for d in inputs.det_rows:
        if (d.episode_id, d.camera, d.frame, d.label) in wanted:
            others[(d.episode_id, d.camera, d.frame, d.label)]["detections"].append(_box(d))

    def entry(c, r, score: float | None) -> dict[str, Any]:
        episode = inputs.episodes[c.episode_id]
        times = inputs.times.get(c.episode_id)
        return {
            "comparisonId": c.id,
            "episodeId": c.episode_id,
            "episodeIndex": episode.index,
            "dataset": episode.dataset,
            "camera": c.camera,
            "frame": c.frame,
            "time": float(times[c.frame]) if times is not None and c.frame < len(times) else None,
            "label": c.label,
            "score": score,
            "box": _box(r),
            "others": others[(c.episode_id, c.camera, c.frame, c.label)],
        }

    return (
        [entry(c, d, d.score) for c, d in fps[:limit]],
        [entry(c, b, None) for c, b in misses[:limit]],
    )


def _counts_json(counts) -> dict[str, list]:
    return {
        "tp": counts.tp,
        "fp": counts.fp,
        "fn": counts.fn,
        "precision": counts.precision,
        "recall": counts.recall,
        "f1": counts.f1,
    }


@dataclass(frozen=True)
class CurveInputs:
    """The session's boxes and detections as the evaluation numbers them (evaluation._arrays): arrays
    only, so that they pickle fast to a worker process."""

    names: list[str]  # label names, by label id
    gt: GroundTruth
    det: Detections
    images: int  # frames, numbered 0..images-1
    match_iou: float
    max_detections: int


def curve_inputs(inputs: ReportInputs) -> CurveInputs:
    s = inputs.session
    names, _, _, gt, det, _ = session_arrays(inputs.frames, inputs.gt_rows, inputs.det_rows, inputs.labels)
    return CurveInputs(names, gt, det, len(inputs.frames), s.match_iou, s.max_detections)


def curves_of(c: CurveInputs) -> tuple[PrCurves, Sweep]:
    """The precision-recall curves and the threshold sweep (curves.py): the CPU-heavy part."""
    images, label_ids = np.arange(c.images), list(range(len(c.names)))
    return (
        pr_curves(c.gt, c.det, images, label_ids, c.match_iou, c.max_detections),
        threshold_sweep(c.gt, c.det, images, label_ids, c.match_iou),
    )


def build_report(inputs: ReportInputs, worst: int = WORST) -> dict[str, Any]:
    """The report's numbers (module docstring), in one call. Deterministic for given inputs."""
    prepared = curve_inputs(inputs)
    curves, sweep = curves_of(prepared)
    return assemble(inputs, prepared.names, curves, sweep, worst)


def assemble(
    inputs: ReportInputs, names: list[str], curves: PrCurves, sweep: Sweep, worst: int = WORST
) -> dict[str, Any]:
    """The report dict from what was read and the curves computed from it."""
    s, m = inputs.session, inputs.metrics
    notes = []
    o = m.overall
    if sweep.thresholds and (sweep.overall.tp[0], sweep.overall.fp[0], sweep.overall.fn[0]) != (
        o.tp,
        o.fp,
        o.fn,
    ):
        notes.append(
            "the ground truth or detections changed since the session was evaluated: the curves and the "
            "threshold sweep are computed on today's ground truth, the metrics are the evaluation's"
        )
    best = None
    if sweep.best is not None:
        i = sweep.best
        best = {
            "threshold": sweep.thresholds[i],
            "precision": sweep.overall.precision[i],
            "recall": sweep.overall.recall[i],
            "f1": sweep.overall.f1[i],
        }
    worst_fp, worst_fn = _worst(inputs, worst)
    return {
        "session": {
            "id": s.id,
            "name": s.name,
            "project": s.project,
            "source": s.source,
            "model": s.model,
            "status": s.status,
            "matchIou": s.match_iou,
            "toleranceMs": s.tolerance_ms,
            "maxDetections": s.max_detections,
            "partial": s.partial,
            "framesTotal": s.frames_total,
            "evaluatedAt": s.evaluated_at,
        },
        "verdict": {
            "passed": inputs.passed,
            "reasons": inputs.reasons,
            "notes": list(m.verdict_notes),
            "criteria": criteria_json(inputs),
        },
        "evaluation": evaluation_json(m, s.partial),
        "precisionRecall": {
            "iou": curves.iou,
            "recall": curves.recall,
            "labels": [
                {"label": name, "precision": c.precision, "scores": c.scores, "ap": c.ap}
                for name, c in zip(names, curves.labels, strict=True)
            ],
        },
        "thresholdSweep": {
            "thresholds": sweep.thresholds,
            "overall": _counts_json(sweep.overall),
            "perLabel": [
                {"label": name, **_counts_json(c)} for name, c in zip(names, sweep.per_label, strict=True)
            ],
            "best": best,
        },
        "latency": _latency(inputs.latencies, s.tolerance_ms, m),
        "frames": _frames(inputs),
        "worstFalsePositives": worst_fp,
        "worstMisses": worst_fn,
        "notes": notes,
    }
