"""What a test-session report is made from, read in a fixed number of statements, and for each episode
its frame times from its file (in a thread).

The ground truth and detections are read exactly as the evaluation reads them (evaluation.py:
the validated, visible boxes of the project's labels on the session's episodes; every detection event of
the session; latencies per frame for a MODEL session, per event for an EXTERNAL one), so the curves are
computed on the same data as the stored metrics, unless the ground truth was edited since: `data.py`
then says so.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np

from domain.core.errors import Conflict, NotFound
from domain.core.runtime import Runtime
from domain.validation.evaluation import max_detections_of
from domain.validation.states import TestSource
from persistence.documents import SessionMetrics, StoredCriteria
from persistence.episode_sources import episode_ref
from persistence.repositories import dataset as datasets_repo
from persistence.repositories import detection_comparison as comparisons_repo
from persistence.repositories import detection_event as events_repo
from persistence.repositories import episode as episodes_repo
from persistence.repositories import object_annotation as boxes_repo
from persistence.repositories import project as projects_repo
from persistence.repositories import test_frame as frames_repo
from persistence.repositories import test_session as sessions_repo
from persistence.repositories.detection_comparison import ComparisonValues
from persistence.repositories.detection_event import EventBox
from persistence.repositories.object_annotation import TruthBox
from persistence.tables import TestSessionRow


@dataclass(frozen=True)
class EpisodeInfo:
    id: int
    index: int
    dataset_id: int
    dataset: str  # the dataset's name
    length: int
    cameras: dict[str, list[int]]  # camera -> [frames, height, width]


@dataclass(frozen=True)
class SessionInfo:
    id: int
    name: str
    project: str
    source: str
    model: str | None
    status: str
    match_iou: float
    tolerance_ms: float
    max_detections: int
    partial: bool
    evaluated_at: str | None  # ISO 8601, UTC
    frames_total: int


@dataclass(frozen=True)
class ReportInputs:
    """Everything a report's numbers come from (pickles: the numbers may be computed in a worker)."""

    session: SessionInfo
    metrics: SessionMetrics
    criteria: StoredCriteria  # as they were when the session was evaluated
    passed: bool
    reasons: list[str]
    labels: list[str] | None  # the project's labels (None: every label found)
    frames: list[tuple[int, str, int]]  # (episode id, camera, frame) processed
    gt_rows: list[TruthBox]
    det_rows: list[EventBox]
    latencies: list[float | None]  # ms, as the evaluation measured them
    comparisons: list[ComparisonValues]  # the stored comparisons, by id
    episodes: dict[int, EpisodeInfo]
    times: dict[int, np.ndarray]  # episode id -> time of each frame in seconds


async def evaluated_session(rt: Runtime, session_id: int) -> TestSessionRow:
    """The session, NOT_FOUND (session_id) when there is none, CONFLICT (session_id) when it has no
    evaluation yet (created, running, or failed before one)."""
    async with rt.sessions() as session:
        row = await sessions_repo.read_test_session(session, session_id)
    if row is None:
        raise NotFound(f"session_id: test session {session_id} does not exist", field="session_id")
    if row.metrics is None:
        raise Conflict(
            f"session_id: test session {session_id} is {row.status} and has no evaluation yet; a report "
            "needs one (stop the session or let its run complete)",
            field="session_id",
        )
    return row


async def _frame_times(rt: Runtime, dataset, episode) -> np.ndarray:
    """Seconds of each frame: the file's timestamps, else evenly spaced over the episode's duration."""
    try:
        arrays = await asyncio.to_thread(
            rt.files.read_arrays, episode_ref(dataset, episode), ["timestamp"], slice(None)
        )
    except (OSError, ValueError, KeyError):  # a file gone or unreadable: the even spacing below
        arrays = {}
    times = arrays.get("timestamp")
    if times is not None and len(times) == episode.length:
        return np.asarray(times, dtype=np.float64)
    rate = episode.length / episode.duration if episode.duration else 30.0
    return np.arange(episode.length) / rate


async def load_inputs(rt: Runtime, session_id: int) -> ReportInputs:
    """Read what the report of an evaluated session needs (errors as `evaluated_session`)."""
    row = await evaluated_session(rt, session_id)
    assert row.metrics is not None  # evaluated_session's check
    async with rt.sessions() as session:
        project = await projects_repo.read_project(session, row.project_id)
        assert project is not None  # the session's project (a foreign key)
        labels = list(project.labels) if project.labels else None
        frames = await frames_repo.processed_frames(session, session_id)
        gt_rows = await boxes_repo.read_validated_boxes(session, row.episode_ids, labels)
        det_rows = await events_repo.read_events(session, session_id)
        if row.source == TestSource.MODEL:
            latencies = await frames_repo.frame_latencies(session, session_id)
        else:
            latencies = [r.latency_ms for r in det_rows]
        comparisons = await comparisons_repo.read_comparisons(session, session_id)
        episode_rows = await episodes_repo.read_episodes_by_ids(session, row.episode_ids)
        datasets = {
            d.id: d
            for d in await datasets_repo.read_datasets_by_ids(
                session, sorted({e.dataset_id for e in episode_rows})
            )
        }
    episodes = {
        e.id: EpisodeInfo(e.id, e.index, e.dataset_id, datasets[e.dataset_id].name, e.length, e.cameras)
        for e in episode_rows
    }
    seen = {f[0] for f in frames}
    times = {e.id: await _frame_times(rt, datasets[e.dataset_id], e) for e in episode_rows if e.id in seen}
    return ReportInputs(
        session=SessionInfo(
            id=row.id,
            name=row.name,
            project=project.name,
            source=row.source,
            model=row.model,
            status=row.status,
            match_iou=row.match_iou,
            tolerance_ms=row.tolerance_ms,
            max_detections=max_detections_of(row),
            partial=row.partial,
            evaluated_at=row.evaluated_at.isoformat() if row.evaluated_at else None,
            frames_total=row.frames_total,
        ),
        metrics=row.metrics,
        criteria=row.criteria,
        passed=bool(row.passed),
        reasons=list(row.reasons or []),
        labels=labels,
        frames=frames,
        gt_rows=gt_rows,
        det_rows=det_rows,
        latencies=latencies,
        comparisons=comparisons,
        episodes=episodes,
        times=times,
    )
