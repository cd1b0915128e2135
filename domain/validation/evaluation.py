"""Evaluating a test session: its detections against the validated ground truth of the frames it
processed. Running counts per frame while it runs; the full evaluation (optimal matching, COCO AP,
intervals, latency, verdict) once, when it ends, stored with its comparisons in one transaction.

Boxes marked `difficult` are ignored ground truth, as Pascal VOC's evaluation ignores difficult
objects, and so are `crowd` boxes, as COCOeval ignores its crowd regions (iscrowd): a detection on one
is neither a TP nor an FP, and one nobody found is not an FN (both are kept as IGNORED comparisons). A
detection is on a crowd box when it lies inside it (intersection over the detection's own area, COCO's
iscrowd IoU), and a crowd box may take any number of detections. AP keeps the session's
`maxDetections` best detections per frame and label (COCO's maxDets, default 100).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from itertools import compress, repeat
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from domain.core.errors import Conflict
from domain.core.runtime import Runtime
from domain.validation.events import publish
from domain.validation.metrics import Detections, GroundTruth, evaluate
from domain.validation.metrics.average_precision import MAX_DETECTIONS
from domain.validation.metrics.intervals import Interval
from domain.validation.metrics.latency import latency_stats
from domain.validation.metrics.matching import Kind, comparisons, ignored_matches, optimal_matches
from domain.validation.metrics.metrics import Metrics
from domain.validation.metrics.pairs import candidate_pairs, group_rows
from domain.validation.metrics.verdict import DetectionLimit, judge
from domain.validation.projects import Criteria
from domain.validation.signal_paths import latency_by_path, session_paths, stored_latency
from domain.validation.states import TestSource, TestStatus, check_move, sources
from persistence.columns import utcnow
from persistence.documents import DetectionCounts, LabelCounts, LatencySummary, SessionMetrics
from persistence.repositories import detection_comparison as comparisons_repo
from persistence.repositories import detection_event as events_repo
from persistence.repositories import object_annotation as boxes_repo
from persistence.repositories import project as projects_repo
from persistence.repositories import test_frame as frames_repo
from persistence.repositories import test_session as sessions_repo
from persistence.repositories.detection_event import EventBox
from persistence.repositories.object_annotation import TruthBox
from persistence.tables import TestSessionRow

BOOTSTRAP = 200
# How a comparison's kind is stored: the column holds two characters (IGNORED is "IG").
STORED_KINDS = {Kind.TP: "TP", Kind.FP: "FP", Kind.FN: "FN", Kind.IGNORED: "IG"}


def max_detections_of(row: TestSessionRow) -> int:
    """The session's detections-per-frame-and-label limit of AP; sessions made before it was a setting
    were evaluated with COCO's 100."""
    return row.settings.max_detections or MAX_DETECTIONS


class _Numbered(NamedTuple):
    """Rows (TruthBox or EventBox) numbered by frame and label: `image` and `label` per row (-1 where
    its frame or label is not wanted), `keep` (both wanted), and the columns by field name."""

    image: np.ndarray
    label: np.ndarray
    keep: np.ndarray
    columns: dict[str, tuple]


def _numbered(rows: Sequence[TruthBox] | Sequence[EventBox], image_of: dict, label_of: dict) -> _Numbered:
    # Column-wise from one transpose: evaluation reads thousands of rows per batch.
    fields = rows[0]._fields if rows else ()
    columns: dict[str, tuple] = dict(zip(fields, zip(*rows, strict=True), strict=True))
    n = len(rows)
    keys = zip(*(columns.get(name, ()) for name in ("episode_id", "camera", "frame")), strict=True)
    image = np.fromiter(map(image_of.get, keys, repeat(-1)), dtype=np.int64, count=n)
    label = np.fromiter(map(label_of.get, columns.get("label", ()), repeat(-1)), dtype=np.int64, count=n)
    return _Numbered(image, label, (image >= 0) & (label >= 0), columns)


def _column(numbered: _Numbered, name: str, dtype) -> np.ndarray:
    return np.asarray(numbered.columns.get(name, ()), dtype=dtype)[numbered.keep]


def _box_columns(numbered: _Numbered) -> np.ndarray:
    return np.stack([_column(numbered, name, np.float64) for name in ("x", "y", "width", "height")], axis=1)


def _arrays(
    frames: Sequence[tuple[int, str, int]],
    gt_rows: Sequence[TruthBox],
    det_rows: Sequence[EventBox],
    label_names: list[str] | None,
):
    """Number the frames and labels; keep ground truth and detections of the wanted labels."""
    image_of = {key: i for i, key in enumerate(frames)}
    if label_names:
        names = sorted(label_names)
    else:
        names = sorted({r.label for r in gt_rows} | {r.label for r in det_rows})
    label_of = {n: i for i, n in enumerate(names)}
    truth = _numbered(gt_rows, image_of, label_of)
    found = _numbered(det_rows, image_of, label_of)
    gt_keep = list(compress(gt_rows, truth.keep.tolist()))
    det_keep = list(compress(det_rows, found.keep.tolist()))
    gt = GroundTruth(
        image=truth.image[truth.keep],
        label=truth.label[truth.keep],
        boxes=_box_columns(truth),
        ignore=_column(truth, "difficult", bool),
        crowd=_column(truth, "crowd", bool),
    )
    det = Detections(
        image=found.image[found.keep],
        label=found.label[found.keep],
        boxes=_box_columns(found),
        scores=_column(found, "score", np.float64),
    )
    ignored = int(np.count_nonzero((found.image >= 0) & (found.label < 0)))
    return names, gt_keep, det_keep, gt, det, ignored


def frame_counts(frames, gt_rows, det_rows, label_names, match_iou) -> list[dict]:
    """TP / FP / FN of each frame by the optimal matching alone (no AP, no intervals): live progress."""
    names, _, _, gt, det, _ = _arrays(frames, gt_rows, det_rows, label_names)
    grouped = group_rows(gt, det, np.arange(len(frames)), np.arange(len(names)))
    pairs = candidate_pairs(grouped, match_iou)
    matches = optimal_matches(grouped, pairs, match_iou)
    found = comparisons(grouped, matches, ignored_matches(grouped, pairs, match_iou, matches))
    counts = np.zeros((len(frames), 3), dtype=np.int64)
    judged = found.kind != Kind.IGNORED  # a detection on a difficult box, or one, is neither
    np.add.at(counts, (found.image[judged], found.kind[judged].astype(np.int64)), 1)
    return [
        {"episode_id": e, "camera": c, "frame": f, "tp": int(t), "fp": int(p), "fn": int(n)}
        for (e, c, f), (t, p, n) in zip(frames, counts.tolist(), strict=True)
    ]


async def update_frame_counts(
    session: AsyncSession,
    row: TestSessionRow,
    frames: Sequence[tuple[int, str, int]],
    latency_ms=None,
    *,
    events: Sequence[EventBox] | None = None,
) -> None:
    """Recount the frames (everything received on them so far) inside the caller's transaction.
    `events`: the session's detections on `frames`, stored or about to be (read when None)."""
    if not frames:
        return
    project = await projects_repo.read_project(session, row.project_id)
    labels = list(project.labels) if project and project.labels else None
    episode_ids = sorted({f[0] for f in frames})
    gt_rows = await boxes_repo.read_validated_boxes(session, episode_ids, labels, frames)
    det_rows = await events_repo.read_events_on_frames(session, row.id, frames) if events is None else events
    values = await asyncio.to_thread(frame_counts, list(frames), gt_rows, det_rows, labels, row.match_iou)
    if latency_ms is not None:
        for value in values:
            value["latency_ms"] = latency_ms.get((value["episode_id"], value["camera"], value["frame"]))
    await frames_repo.record_frames(session, row.id, values)


def compute(
    frames,
    gt_rows,
    det_rows,
    label_names,
    match_iou,
    tolerance_ms,
    latencies,
    criteria,
    max_detections: int = MAX_DETECTIONS,
) -> dict:
    """The whole evaluation: metrics (as test_session.metrics stores them), verdict and comparison rows
    (runs in a worker process: all of it pickles)."""
    names, gt_keep, det_keep, gt, det, ignored = _arrays(frames, gt_rows, det_rows, label_names)
    found = evaluate(
        gt,
        det,
        np.arange(len(frames)),
        np.arange(len(names)),
        match_iou=match_iou,
        bootstrap=BOOTSTRAP,
        max_detections=max_detections,
    )
    latency = latency_stats(
        np.asarray([v for v in latencies if v is not None], dtype=np.float64), tolerance_ms
    )
    limit = DetectionLimit(max_detections, found.beyond_limit, found.frames_beyond_limit)
    verdict = judge(criteria, found.overall, latency, limit)
    metrics = SessionMetrics(
        frames=len(frames),
        ground_truth=len(gt_keep),
        detections=len(det_keep),
        ignored_detections=ignored,
        difficult_boxes=found.ignored_boxes,
        detections_on_difficult=found.ignored,
        max_detections=max_detections,
        detections_beyond_limit=found.beyond_limit,
        frames_beyond_limit=found.frames_beyond_limit,
        overall=DetectionCounts(**_counts(found.overall)),
        per_label=[LabelCounts(label=names[i], **_counts(m)) for i, m in sorted(found.per_label.items())],
        latency=LatencySummary(
            count=int(latency.count),
            p50=latency.p50_ms,
            p95=latency.p95_ms,
            p99=latency.p99_ms,
            max=latency.max_ms,
            within_tolerance=latency.within_tolerance,
        ),
        verdict_notes=list(verdict.notes),
    )
    c = found.comparisons
    records = []
    for kind, g, d, iou, image in zip(
        c.kind.tolist(), c.gt.tolist(), c.det.tolist(), c.iou.tolist(), c.image.tolist(), strict=True
    ):
        episode_id, camera, frame = frames[image]
        detection = det_keep[d] if d >= 0 else None
        truth = gt_keep[g] if g >= 0 else None
        source = det_keep[d] if d >= 0 else gt_keep[g]  # a comparison has one or both
        records.append(
            {
                "episode_id": episode_id,
                "camera": camera,
                "frame": frame,
                "label": source.label,
                "kind": STORED_KINDS[Kind(kind)],
                "iou": float(iou),
                "detection_id": detection.id if detection is not None else None,
                "annotation_id": truth.id if truth is not None else None,
                "temporal_offset_ms": detection.temporal_offset_ms if detection is not None else None,
            }
        )
    return {
        "metrics": metrics,
        "passed": verdict.passed,
        "reasons": list(verdict.reasons),
        "comparisons": records,
    }


def _interval(value: Interval | None) -> tuple[float, float] | None:
    return None if value is None else (float(value.low), float(value.high))


def _counts(m: Metrics) -> dict[str, Any]:
    """The fields of DetectionCounts (and LabelCounts) from the evaluation's metrics."""
    return {
        "tp": int(m.tp),
        "fp": int(m.fp),
        "fn": int(m.fn),
        "precision": m.precision,
        "recall": m.recall,
        "f1": m.f1,
        "ap50": m.ap50,
        "ap50_95": m.ap50_95,
        "precision_ci": _interval(m.precision_ci),
        "recall_ci": _interval(m.recall_ci),
        "f1_ci": _interval(m.f1_ci),
        "ap50_ci": _interval(m.ap50_ci),
    }


async def evaluate_session(rt: Runtime, session_id: int, *, stopped: bool) -> TestSessionRow:
    """Evaluate what the session processed and end it (STOPPED when a user stopped it, else COMPLETED)."""
    async with rt.sessions() as session:
        row = await sessions_repo.read_test_session(session, session_id)
        assert row is not None  # the running session being evaluated
        project = await projects_repo.read_project(session, row.project_id)
        assert project is not None  # the session's project (a foreign key)
        labels = list(project.labels) if project.labels else None
        frames = await frames_repo.processed_frames(session, session_id)
        gt_rows = await boxes_repo.read_validated_boxes(session, row.episode_ids, labels)
        det_rows = await events_repo.read_events(session, session_id)
        if row.source == TestSource.MODEL:
            latencies = await frames_repo.frame_latencies(session, session_id)
            by_path = None
        else:
            latencies = [r.latency_ms for r in det_rows]
            by_path = await events_repo.path_latencies(session, session_id)
    criteria = Criteria.of(project.criteria)
    result = await asyncio.get_running_loop().run_in_executor(
        rt.workers(),
        compute,
        frames,
        gt_rows,
        det_rows,
        labels,
        row.match_iou,
        row.tolerance_ms,
        latencies,
        criteria,
        max_detections_of(row),
    )
    partial = len(frames) < row.frames_total
    metrics: SessionMetrics = result["metrics"]
    if by_path is not None:  # a device's latency over each signal path, by that path's tolerance
        found = await asyncio.to_thread(latency_by_path, by_path, session_paths(row))
        metrics = metrics.model_copy(update={"latency_by_path": stored_latency(found)})
    if partial:
        note = f"evaluated on the {len(frames)} of {row.frames_total} frames processed"
        metrics = metrics.model_copy(update={"note": note})
    # Checked against the row read above; the guarded UPDATE below catches a move made meanwhile. A
    # second session: no transaction stays open over the seconds the worker computes.
    status = check_move(row.status, TestStatus.STOPPED if stopped else TestStatus.COMPLETED, session_id)
    now = utcnow()
    async with rt.sessions() as session, session.begin():
        ended = await sessions_repo.update_test_session(
            session,
            session_id,
            {
                "status": status.value,
                "stopped_at": now,
                "evaluated_at": now,
                "metrics": metrics,
                "passed": result["passed"],
                "reasons": result["reasons"],
                "partial": partial,
                "criteria": project.criteria,
            },
            only_if_status=sources(status),
        )
        if ended is None:
            raise Conflict(f"id: test session {session_id} already ended", field="id")
        await comparisons_repo.replace_comparisons(session, session_id, result["comparisons"])
    await publish(rt, session_id, ended.status)
    return ended
