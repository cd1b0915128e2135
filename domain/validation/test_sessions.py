"""Test sessions: a detector (MODEL) or a device (EXTERNAL) checked against a project's ground truth.

CREATED -> RUNNING -> COMPLETED (a MODEL run that went through every frame) or STOPPED (stopped by a
user, evaluated on the frames it processed, and marked `partial` when that was not all of them);
FAILED when the detector failed. The allowed moves are in `test_session_states`; every change is
published on `test_session:<id>` after commit (`test_session_events`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import field
from typing import Annotated

from pydantic import Field, model_validator
from pydantic.dataclasses import dataclass
from sqlalchemy.ext.asyncio import AsyncSession

from domain.accounts.users import Viewer
from domain.core.errors import BadUserInput, Conflict, Invalid, NotFound, text
from domain.core.job_states import FINISHED, JobStatus
from domain.core.runtime import Runtime
from domain.detection.detector import DetectorSettings, check_model
from domain.validation.evaluation import evaluate_session
from domain.validation.events import publish
from domain.validation.projects import Criteria, check_iou, lock_writable_project, read_writable_project
from domain.validation.runs import add_model_run, start_model_run
from domain.validation.signal_paths import check_paths, stored_paths
from domain.validation.states import TestSource, TestStatus, check_move, sources
from persistence.columns import utcnow
from persistence.documents import SessionSettings
from persistence.repositories import episode as episodes_repo
from persistence.repositories import job as jobs_repo
from persistence.repositories import project as projects_repo
from persistence.repositories import test_frame as frames_repo
from persistence.repositories import test_session as repo
from persistence.repositories.test_frame import FrameTotals
from persistence.tables import JobRow, TestSessionRow

# A frame may hold many objects (crowds, shelves): a limit well above COCO's 100, still bounded.
MAX_DETECTIONS_LIMIT = 10_000


@dataclass(frozen=True)
class NewTestSession:
    """A test session to create: a MODEL one names its detector's model, an EXTERNAL one none. A
    pydantic dataclass: the graph checks it as it builds it (graph/inputs.py); the project, episodes,
    cameras and model file are checked against what is stored."""

    project_id: int
    name: Annotated[str, text(200)]
    source: TestSource
    model: str | None = None
    episode_ids: Sequence[int] | None = None
    cameras: Sequence[str] | None = None
    match_iou: float | None = Field(default=None, gt=0, le=1)  # None: the project's
    tolerance_ms: float = Field(default=100.0, gt=0, allow_inf_nan=False)
    detector: DetectorSettings = field(default_factory=DetectorSettings)
    # AP's detections per frame and label (COCO's maxDets; its default 100).
    max_detections: int = Field(default=100, ge=1, le=MAX_DETECTIONS_LIMIT)
    # EXTERNAL: (path, tolerance ms or None: tolerance_ms) the device reports over, the first the default;
    # None: NETWORK alone (domain/validation/signal_paths.py).
    signal_paths: Sequence[tuple[str, float | None]] | None = None

    @model_validator(mode="after")
    def _model_of_source(self) -> NewTestSession:
        if self.source is TestSource.MODEL and not self.model:
            raise Invalid("a MODEL session needs a model", field="model")
        if self.source is not TestSource.MODEL and self.model:
            raise Invalid("an EXTERNAL session receives detections; leave model out", field="model")
        if self.source is TestSource.MODEL and self.signal_paths is not None:
            raise Invalid("a MODEL session detects here; signal paths are a device's", field="signal_paths")
        return self


async def create_test_session(rt: Runtime, viewer: Viewer, new: NewTestSession) -> TestSessionRow:
    name, detector = new.name, new.detector
    paths = check_paths(new.signal_paths, new.tolerance_ms)
    # Checked before the model (seconds on first use: it imports torch), so that its errors come first;
    # the write transaction below takes the project again, locked, and checks it there.
    project = await read_writable_project(rt, new.project_id, "project_id")
    model = None
    if new.source is TestSource.MODEL:
        assert new.model is not None  # the request's own check
        await check_model(rt, new.model)
        model = new.model
    async with rt.sessions() as session, session.begin():
        project = await lock_writable_project(session, project.id, "project_id")
        match_iou = check_iou(
            new.match_iou if new.match_iou is not None else Criteria.of(project.criteria).match_iou,
            "match_iou",
        )
        linked = await projects_repo.linked_episode_ids(session, project.id)
        episode_ids = list(dict.fromkeys(new.episode_ids)) if new.episode_ids is not None else linked
        if not episode_ids:
            raise BadUserInput(
                "episode_ids: the project links no episodes; link some or name them", field="episode_ids"
            )
        unlinked = sorted(set(episode_ids) - set(linked))
        if unlinked:
            raise BadUserInput(
                f"episode_ids: episodes {unlinked} are not linked to the project", field="episode_ids"
            )
        episodes = await episodes_repo.read_episodes_by_ids(session, episode_ids)
        total = 0
        for episode in episodes:
            cameras = list(episode.cameras)
            if new.cameras is not None:
                unknown = sorted(set(new.cameras) - set(cameras))
                if unknown:
                    raise BadUserInput(
                        f"cameras: episode {episode.id} has no camera {unknown[0]!r} (it has {cameras})",
                        field="cameras",
                    )
                cameras = list(new.cameras)
            total += len(cameras) * math.ceil(episode.length / detector.frame_stride)
        row = await repo.insert_test_session(
            session,
            {
                "project_id": project.id,
                "name": name,
                "source": new.source.value,
                "model": model,
                "status": TestStatus.CREATED.value,
                "episode_ids": sorted(episode_ids),
                "cameras": list(new.cameras) if new.cameras is not None else None,
                "match_iou": match_iou,
                "tolerance_ms": new.tolerance_ms,
                "settings": SessionSettings(
                    score_threshold=detector.score_threshold,
                    nms_iou=detector.nms_iou,
                    frame_stride=detector.frame_stride,
                    class_map=detector.class_map,
                    image_size=detector.image_size,
                    max_detections=new.max_detections,
                    signal_paths=stored_paths(paths) if new.signal_paths is not None else None,
                ),
                "criteria": project.criteria,
                "frames_total": total,
                "created_by": viewer.user_id,
                "created_at": utcnow(),
            },
        )
    return row


async def read_test_session(rt: Runtime, session_id: int, field: str = "id") -> TestSessionRow:
    async with rt.sessions() as session:
        return await read_test_session_in(session, session_id, field)


async def read_test_session_in(
    session: AsyncSession, session_id: int, field: str = "id", *, lock: bool = False
) -> TestSessionRow:
    """The test session read in the caller's transaction (locked until it ends with `lock`); NOT_FOUND
    naming `field`."""
    row = await (repo.lock_test_session if lock else repo.read_test_session)(session, session_id)
    if row is None:
        raise NotFound(f"{field}: test session {session_id} does not exist", field=field)
    return row


async def test_sessions_by_ids(rt: Runtime, ids: Sequence[int]) -> list[TestSessionRow | None]:
    async with rt.sessions() as session:
        rows = {r.id: r for r in await repo.read_test_sessions_by_ids(session, ids)}
    return [rows.get(i) for i in ids]


async def test_sessions_by_projects(rt: Runtime, project_ids: Sequence[int]) -> list[list[TestSessionRow]]:
    async with rt.sessions() as session:
        rows = await repo.list_by_projects(session, project_ids)
    grouped: dict[int, list[TestSessionRow]] = {p: [] for p in project_ids}
    for row in rows:
        grouped[row.project_id].append(row)
    return [grouped[p] for p in project_ids]


async def frame_totals(rt: Runtime, session_ids: Sequence[int]) -> list[FrameTotals]:
    """Per session: frames processed, their summed TP, FP, FN, first and last processing time."""
    async with rt.sessions() as session:
        found = await frames_repo.totals(session, session_ids)
    return [found.get(i, FrameTotals()) for i in session_ids]


async def start_test_session(rt: Runtime, viewer: Viewer, session_id: int) -> TestSessionRow:
    """Move the session to RUNNING; a MODEL session's detector job is added in the same transaction
    (no RUNNING session without its job, no job for a session that did not start) and starts after
    the commit, in this process or in a worker (domain.validation.runs). NOT_FOUND (id), CONFLICT for a
    session not CREATED or an archived project's."""
    job = None
    async with rt.sessions() as session, session.begin():
        row = await read_test_session_in(session, session_id)
        running = check_move(row.status, TestStatus.RUNNING, session_id)
        await lock_writable_project(session, row.project_id, "id")  # an archived project's do not start
        started = await repo.update_test_session(
            session,
            session_id,
            {"status": running.value, "started_at": utcnow()},
            only_if_status=sources(running),
        )
        if started is None:
            raise Conflict(f"id: test session {session_id} was started by someone else", field="id")
        row = started
        if row.source == TestSource.MODEL:
            row, job = await add_model_run(rt, session, viewer, row)
    if job is not None:
        await start_model_run(rt, job)
    await publish(rt, row.id, row.status)
    return row


async def stop_test_session(rt: Runtime, viewer: Viewer, session_id: int) -> TestSessionRow:
    """Stop receiving or detecting and evaluate what was processed."""
    # Read apart from the evaluation's sessions: the detector is cancelled (and waited for) between,
    # and the evaluation's guarded write answers CONFLICT for a move made meanwhile.
    row = await read_test_session(rt, session_id)
    check_move(row.status, TestStatus.STOPPED, session_id)
    if row.job_id is not None:
        await rt.jobs.cancel(row.job_id)  # waits for the detector to let go
    return await evaluate_session(rt, session_id, stopped=True)


async def recover_interrupted(rt: Runtime) -> list[int]:
    """At server start: MODEL sessions whose detector job died with the previous server are evaluated
    on what they processed and end STOPPED (partial), instead of staying RUNNING forever."""
    async with rt.sessions() as session:
        running = await repo.list_running(session, TestSource.MODEL.value)
        jobs: dict[int | None, JobRow] = {
            j.id: j
            for j in await jobs_repo.read_jobs_by_ids(session, [r.job_id for r in running if r.job_id])
        }
    ended = []
    # Each session is evaluated in its own sessions (evaluate_session's): one failing leaves the others.
    for row in running:
        job = jobs.get(row.job_id)
        if job is not None and JobStatus(job.status) not in FINISHED:
            continue  # still running: in this process, or held by the queue for a worker
        try:
            await evaluate_session(rt, row.id, stopped=True)
        except Conflict:
            continue  # someone ended it meanwhile
        ended.append(row.id)
    return ended


@dataclass(frozen=True)
class Progress:
    """Where a session stands, from its per-frame counts."""

    row: TestSessionRow
    processed: int
    frames_per_second: float | None
    precision: float | None
    recall: float | None
    eta_seconds: float | None


async def session_progress(rt: Runtime, session_id: int) -> Progress:
    async with rt.sessions() as session:
        row = await read_test_session_in(session, session_id)
        totals = (await frames_repo.totals(session, [session_id])).get(session_id, FrameTotals())
    processed, tp, fp, fn, last = totals.processed, totals.tp, totals.fp, totals.fn, totals.last_at
    running = row.status == TestStatus.RUNNING
    fps = eta = None
    if row.started_at is not None and processed:
        # A running session's rate is up to now; an ended one's up to its last frame.
        end = utcnow() if running else row.stopped_at or last
        assert end is not None  # frames processed have a last processing time
        elapsed = (end - row.started_at).total_seconds()
        if elapsed > 0:
            fps = processed / elapsed
            eta = max(row.frames_total - processed, 0) / fps if running else None
    return Progress(
        row=row,
        processed=processed,
        frames_per_second=fps,
        precision=tp / (tp + fp) if tp + fp else None,
        recall=tp / (tp + fn) if tp + fn else None,
        eta_seconds=eta,
    )
