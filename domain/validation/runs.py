"""A MODEL test session's run: the detector over every covered frame as a job, each batch stored as
detection events with its frames' counts (so progress and a stop midway see it), then the evaluation.

The job's work is registered (`run_evaluation_job`: EVALUATION, EvaluationParameters) and rebuilt from
the test session's row: its episodes, cameras, frame stride, detector settings and model are stored
there, and the run holds nothing in the process that started the session (each batch is committed,
watchers read the database and hear `test_session:<id>` through the event broadcaster, a stop cancels
the job wherever it runs: JobRunner.cancel). So the server runs it (embedded queue) or an `annograph
worker` taking queue `detect` does (procrastinate). A run started again after its worker was lost
detects only the frames not processed yet: a batch's events and frame counts commit together.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession

from domain.accounts.users import Viewer
from domain.core.errors import Conflict, NotFound
from domain.core.job_registry import register, registered_body
from domain.core.job_runner import JOBS_CHANNEL, QUEUES, JobContext, JobKind
from domain.core.runtime import Runtime
from domain.detection.detector import check_model, detect_frames, stored_detector
from domain.validation.evaluation import evaluate_session, update_frame_counts
from domain.validation.events import publish
from domain.validation.states import TestStatus, check_move, sources
from persistence.columns import utcnow
from persistence.documents import EvaluationParameters
from persistence.episode_sources import SourceRef, episode_ref
from persistence.repositories import dataset as datasets_repo
from persistence.repositories import detection_event as events_repo
from persistence.repositories import episode as episodes_repo
from persistence.repositories import test_frame as frames_repo
from persistence.repositories import test_session as sessions_repo
from persistence.tables import JobRow, TestSessionRow

# What a run detects on: (episode id, episode's source, camera, frames) in order.
Work = list[tuple[int, SourceRef, str, list[int]]]


async def add_model_run(
    rt: Runtime, session: AsyncSession, viewer: Viewer, row: TestSessionRow
) -> tuple[TestSessionRow, JobRow]:
    """The detector job of a MODEL session that is moving to RUNNING, added in the caller's transaction
    with the session's job_id (with the procrastinate queue, its queue entry too): the session as
    updated and the job, for `start_model_run` after the commit. BAD_USER_INPUT (model) when the model
    is no longer there."""
    assert row.model is not None  # a MODEL session names its detector
    # In the transaction, so that a session whose model is gone does not start (seconds on a process's
    # first use: it imports torch).
    await check_model(rt, row.model)
    target = f"test_session:{row.id}"
    # One job per session ever: the caller's guarded move to RUNNING serialises its version.
    job = await rt.jobs.add(
        session,
        kind=JobKind.EVALUATION,
        target=target,
        parameters=EvaluationParameters(test_session_id=row.id, model=row.model, requested_by=viewer.user_id),
    )
    if rt.jobs.queue is not None:
        # As JobRunner.submit queues a registered job, in the job's transaction: the session, its job
        # and the queue entry commit together (no RUNNING session whose job no worker will take).
        await rt.jobs.queue.defer(
            session, job_id=job.id, queue=QUEUES[JobKind.EVALUATION], lock=f"target:{target}"
        )
    updated = await sessions_repo.update_test_session(session, row.id, {"job_id": job.id})
    assert updated is not None  # the session being started
    return updated, job


async def start_model_run(rt: Runtime, job: JobRow) -> None:
    """After the commit of `add_model_run`: run the job in this process (the embedded runner), or,
    queued, announce it PENDING on the jobs channel as JobRunner.submit does; a worker takes it."""
    if rt.jobs.queue is None:
        await rt.jobs.start(job, registered_body(rt))
        return
    try:
        await rt.events.publish(
            JOBS_CHANNEL, {"id": job.id, "datasetId": job.dataset_id, "status": job.status}
        )
    except Exception:  # noqa: BLE001 - committed and queued; the worker publishes it RUNNING
        pass


@register(JobKind.EVALUATION, EvaluationParameters)
async def run_evaluation_job(rt: Runtime, ctx: JobContext) -> None:
    """A MODEL session's run rebuilt from its row: the frames of its episodes and cameras at its stride,
    less those a previous attempt of this job processed. NOT_FOUND for a session that is gone, CONFLICT
    for one no longer RUNNING (stopped before the job started)."""
    stored = ctx.job.parameters.as_kind(EvaluationParameters)
    assert stored is not None  # the registry chose this function for these parameters
    async with rt.sessions() as session:
        row = await sessions_repo.read_test_session(session, stored.test_session_id)
        if row is None:
            raise NotFound(f"test session {stored.test_session_id} does not exist")
        if row.status != TestStatus.RUNNING.value:
            raise Conflict(f"test session {row.id} is {row.status}: there is nothing to detect")
        episodes = await episodes_repo.read_episodes_by_ids(session, row.episode_ids)
        dataset_ids = list({e.dataset_id for e in episodes})
        datasets = {d.id: d for d in await datasets_repo.read_datasets_by_ids(session, dataset_ids)}
        processed = set(await frames_repo.processed_frames(session, row.id))
    stride = row.settings.frame_stride or 1
    work = [
        (
            e.id,
            episode_ref(datasets[e.dataset_id], e),
            camera,
            [f for f in range(0, e.length, stride) if (e.id, camera, f) not in processed],
        )
        for e in sorted(episodes, key=lambda e: e.id)
        for camera in (row.cameras if row.cameras is not None else list(e.cameras))
    ]
    await _run(rt, ctx, row, work)


async def _run(rt: Runtime, ctx: JobContext, row: TestSessionRow, work: Work) -> None:
    try:
        assert row.model is not None  # a MODEL session names its detector
        # Checked again where the job runs: a worker's models_dir may lack it (the session FAILS).
        spec = await check_model(rt, row.model)
        await _detect_and_evaluate(rt, ctx, row, spec, work)
    except Exception as exc:
        # The job records the failure; the session must not stay RUNNING with nothing behind it.
        message = getattr(exc, "message", None) or "the detector failed; the server log has the details"
        failed = check_move(row.status, TestStatus.FAILED, row.id)
        async with rt.sessions() as session, session.begin():
            # Guarded: a session a user stopped (and evaluated) meanwhile stays STOPPED.
            moved = await sessions_repo.update_test_session(
                session,
                row.id,
                {"status": failed.value, "stopped_at": utcnow(), "error_message": message},
                only_if_status=sources(failed),
            )
        if moved is not None:
            await publish(rt, row.id, failed.value)
        raise


async def _detect_and_evaluate(rt: Runtime, ctx: JobContext, row: TestSessionRow, spec, work: Work) -> None:
    total = sum(len(frames) for *_, frames in work)
    done = 0
    detector = stored_detector(row.settings)
    for episode_id, path, camera, frames in work:
        async for batch, result in detect_frames(rt, spec, path, camera, frames, detector):
            received = utcnow()
            per_frame_ms = 1000.0 * result.inference_seconds / max(len(batch), 1)
            values = [
                {
                    "session_id": row.id,
                    "episode_id": episode_id,
                    "camera": camera,
                    "frame": frame,
                    "label": d.label,
                    "x": d.x,
                    "y": d.y,
                    "width": d.width,
                    "height": d.height,
                    "score": d.score,
                    "received_at": received,
                    "latency_ms": per_frame_ms,
                }
                for frame, detections in zip(batch, result.detections, strict=True)
                for d in detections
            ]
            keys = [(episode_id, camera, f) for f in batch]
            # A transaction per batch: progress and a stop midway see what was detected so far. Shielded:
            # a stop cancels the job, and a transaction cut midway would keep SQLite's write lock.
            await asyncio.shield(_store_batch(rt, row, values, keys, per_frame_ms))
            done += len(batch)
            await ctx.progress(min(done / max(total, 1), 0.99), f"{done}/{total} frames")
            await publish(rt, row.id, row.status)
    await evaluate_session(rt, row.id, stopped=False)
    await ctx.progress(1.0, f"{done}/{total} frames")


async def _store_batch(
    rt: Runtime, row: TestSessionRow, values: list[dict], keys: list, per_frame_ms: float
) -> None:
    """One batch's detection events and frame counts, in one transaction."""
    async with rt.sessions() as session, session.begin():
        await events_repo.insert_events(session, values)
        await update_frame_counts(session, row, keys, {k: per_frame_ms for k in keys})
