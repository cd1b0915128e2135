"""Comparing test sessions of one project, model against model, on the frames they all processed.

The first session named is the baseline; every other one is compared with it (difference = session -
baseline), with a paired bootstrap over the common frames (comparison_bootstrap.py). Each session is
judged as its own evaluation judges it (its `match_iou` and `maxDetections`, the project's labels, the
validated ground truth as it is now), restricted to the common frames: when every session processed the
same frames, the values are the sessions' own metrics. Latency is per detection event for EXTERNAL
sessions and per frame for MODEL sessions, as in the evaluation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from domain.core.errors import BadUserInput, NotFound
from domain.core.runtime import Runtime
from domain.validation.comparison_bootstrap import Difference, compare_samples, session_sample
from domain.validation.evaluation import max_detections_of
from domain.validation.metrics import Detections, GroundTruth
from domain.validation.states import TestSource
from persistence.repositories import detection_event as events_repo
from persistence.repositories import object_annotation as boxes_repo
from persistence.repositories import project as projects_repo
from persistence.repositories import test_frame as frames_repo
from persistence.repositories import test_session as sessions_repo
from persistence.tables import TestSessionRow

MAX_RESAMPLES = 10_000
MAX_SESSIONS = 10
NAMES = {
    "AP50": "AP50",
    "AP50_95": "AP50:95",
    "F1": "F1",
    "PRECISION": "precision",
    "RECALL": "recall",
    "LATENCY_P95": "latency p95",
}


@dataclass(frozen=True)
class SessionDifference:
    """One session against the baseline: a Difference per metric overall (label None) and per label."""

    session: TestSessionRow
    baseline: TestSessionRow
    differences: list[Difference]


@dataclass(frozen=True)
class SessionComparison:
    sessions: list[TestSessionRow]  # in the order asked; the first is the baseline
    frames: int  # frames every session processed
    labels: list[str]  # label names, the positions Difference.label refers to
    resamples: int
    seed: int
    confidence: float
    compared: list[SessionDifference]
    notes: list[str]


def statement(d: Difference, a: str, b: str, confidence: float, label: str | None = None) -> str:
    """What the interval supports, in words: "B has higher AP50 than A: +0.041 [0.012, 0.070]" when it
    lies above 0, "lower" when below, else "no difference shown"; latency in ms."""
    name = NAMES[d.metric] + (f" on {label}" if label is not None else "")
    if d.difference is None:
        return f"{name} is not defined for both sessions: no difference shown"
    ms = d.metric == "LATENCY_P95"

    def num(v: float, sign: bool = False) -> str:
        return f"{v:+.1f}" if ms and sign else f"{v:.1f}" if ms else f"{v:+.3f}" if sign else f"{v:.3f}"

    unit = " ms" if ms else ""
    if d.low is None or d.high is None:
        return f"no difference shown: {name} {b} - {a} is {num(d.difference, True)}{unit}, no interval"
    shown = f"{num(d.difference, True)}{unit} [{num(d.low)}, {num(d.high)}]"
    if d.low > 0:
        return f"{b} has higher {name} than {a}: {shown}"
    if d.high < 0:
        return f"{b} has lower {name} than {a}: {shown}"
    return f"no difference shown in {name} between {b} and {a} at {confidence:.0%}: {shown}"


def _samples(frames, gt_rows, sessions, label_names, options):
    """Number frames and labels, and reduce each session (runs in a worker process: all of it pickles).
    `sessions`: per session (detection rows, latencies as ((episode, camera, frame), ms) pairs)."""
    image_of = {key: i for i, key in enumerate(frames)}
    if label_names:
        names = sorted(label_names)
    else:
        names = sorted({r.label for r in gt_rows} | {r.label for rows, _ in sessions for r in rows})
    label_of = {n: i for i, n in enumerate(names)}
    gt_keep = [r for r in gt_rows if (r.episode_id, r.camera, r.frame) in image_of and r.label in label_of]
    gt = GroundTruth(
        image=np.asarray([image_of[(r.episode_id, r.camera, r.frame)] for r in gt_keep], dtype=np.int64),
        label=np.asarray([label_of[r.label] for r in gt_keep], dtype=np.int64),
        boxes=np.asarray([(r.x, r.y, r.width, r.height) for r in gt_keep], dtype=np.float64).reshape(-1, 4),
        ignore=np.asarray([r.difficult for r in gt_keep], dtype=bool),
        crowd=np.asarray([r.crowd for r in gt_keep], dtype=bool),
    )
    samples = []
    for (det_rows, latencies), (match_iou, max_detections) in zip(sessions, options, strict=True):
        keep = [r for r in det_rows if (r.episode_id, r.camera, r.frame) in image_of and r.label in label_of]
        det = Detections(
            image=np.asarray([image_of[(r.episode_id, r.camera, r.frame)] for r in keep], dtype=np.int64),
            label=np.asarray([label_of[r.label] for r in keep], dtype=np.int64),
            boxes=np.asarray([(r.x, r.y, r.width, r.height) for r in keep], dtype=np.float64).reshape(-1, 4),
            scores=np.asarray([r.score for r in keep], dtype=np.float64),
        )
        timed = [(image_of[key], ms) for key, ms in latencies if key in image_of and ms is not None]
        samples.append(
            session_sample(
                gt,
                det,
                len(frames),
                len(names),
                match_iou=match_iou,
                max_detections=max_detections,
                latency_ms=np.asarray([ms for _, ms in timed], dtype=np.float64),
                latency_image=np.asarray([i for i, _ in timed], dtype=np.int64),
            )
        )
    return names, samples


def compute_comparison(frames, gt_rows, sessions, label_names, options, resamples, seed, confidence):
    """The whole comparison from plain rows: (label names, per compared session its Differences)."""
    names, samples = _samples(frames, gt_rows, sessions, label_names, options)
    return names, compare_samples(samples, resamples, seed, confidence)


def _check(ids: Sequence[int], resamples: int, confidence: float) -> None:
    if len(ids) < 2:
        raise BadUserInput(f"ids: name at least 2 test sessions to compare, got {len(ids)}", field="ids")
    if len(ids) > MAX_SESSIONS:
        raise BadUserInput(f"ids: at most {MAX_SESSIONS} test sessions at once, got {len(ids)}", field="ids")
    seen: set[int] = set()
    for i, session_id in enumerate(ids):
        if session_id in seen:
            raise BadUserInput(f"ids[{i}]: test session {session_id} is named twice", field=f"ids[{i}]")
        seen.add(session_id)
    if not 1 <= resamples <= MAX_RESAMPLES:
        raise BadUserInput(f"resamples: must be 1..{MAX_RESAMPLES}, got {resamples}", field="resamples")
    if not 0 < confidence < 1:
        raise BadUserInput(f"confidence: must be in (0, 1), got {confidence}", field="confidence")


async def compare_test_sessions(
    rt: Runtime, ids: Sequence[int], *, resamples: int = 1000, seed: int = 0, confidence: float = 0.95
) -> SessionComparison:
    """Compare the sessions `ids` (the first is the baseline) on the frames they all processed.

    BAD_USER_INPUT naming `ids` (fewer than 2, more than MAX_SESSIONS, one twice, sessions of different
    projects, no frame in common), `resamples` (1..MAX_RESAMPLES) or `confidence` ((0, 1));
    NOT_FOUND naming `ids[i]` for an unknown session. CPU work runs in the worker pool."""
    _check(ids, resamples, confidence)
    async with rt.sessions() as session:
        found = {r.id: r for r in await sessions_repo.read_test_sessions_by_ids(session, list(ids))}
        for i, session_id in enumerate(ids):
            if session_id not in found:
                raise NotFound(f"ids[{i}]: no test session {session_id}", field=f"ids[{i}]")
        rows = [found[i] for i in ids]
        projects = sorted({r.project_id for r in rows})
        if len(projects) > 1:
            raise BadUserInput(
                f"ids: the sessions belong to different projects ({', '.join(map(str, projects))}); "
                "compare sessions of one project",
                field="ids",
            )
        project = await projects_repo.read_project(session, rows[0].project_id)
        assert project is not None  # the sessions' project (a foreign key)
        labels = list(project.labels) if project.labels else None
        common: set[tuple[int, str, int]] | None = None
        per_session = []
        for row in rows:
            frame_rows = await frames_repo.frame_latencies_by_key(session, row.id)
            keys = {(f.episode_id, f.camera, f.frame) for f in frame_rows}
            common = keys if common is None else common & keys
            events = await events_repo.read_events(session, row.id)
            if row.source == TestSource.MODEL:
                latencies = [((f.episode_id, f.camera, f.frame), f.latency_ms) for f in frame_rows]
            else:
                latencies = [((e.episode_id, e.camera, e.frame), e.latency_ms) for e in events]
            per_session.append((events, latencies))
        frames = sorted(common or ())
        if not frames:
            raise BadUserInput("ids: the sessions have no processed frame in common", field="ids")
        episode_ids = sorted({f[0] for f in frames})
        gt_rows = await boxes_repo.read_validated_boxes(session, episode_ids, labels)
    options = [(r.match_iou, max_detections_of(r)) for r in rows]
    names, compared = await asyncio.get_running_loop().run_in_executor(
        rt.workers(),
        compute_comparison,
        frames,
        gt_rows,
        per_session,
        labels,
        options,
        resamples,
        seed,
        confidence,
    )
    notes = []
    if len({o for o in options}) > 1:
        notes.append(
            "the sessions differ in matchIou or maxDetections: each is judged with its own, so "
            "precision, recall, F1 and AP differences include that of the settings"
        )
    return SessionComparison(
        sessions=rows,
        frames=len(frames),
        labels=names,
        resamples=resamples,
        seed=seed,
        confidence=confidence,
        compared=[SessionDifference(row, rows[0], d) for row, d in zip(rows[1:], compared, strict=True)],
        notes=notes,
    )
