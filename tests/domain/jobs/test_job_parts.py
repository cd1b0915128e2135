"""Data-parallel jobs (domain/core/job_parts.py): parts of one job run on two `annograph worker`
processes at once; a worker killed with `kill -9` in the middle has its parts taken over by the other
and the job completes once, with a one-worker run's results and no duplicate rows, while a second
server starting meanwhile leaves it alone; a cancel reaches the parts on every worker; a part lost more
often than settings.job_attempts fails the job with WORKER_LOST naming it; a detection cancelled while
two workers run its parts leaves no boxes; the embedded runner (SQLite and PostgreSQL) runs the same
parts in the server process."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from domain.accounts.users import Role, Viewer, create_user
from domain.analysis.kinds import AnalysisKind
from domain.analysis.runs import run_analysis
from domain.core.job_parts import MIN_PARTS, PART_ITEMS, split
from domain.core.job_registry import registered_body
from domain.core.job_runner import JOBS_CHANNEL, JobKind
from domain.core.runtime import Runtime
from domain.detection.service import DetectRequest, detect_objects
from domain.objects.labels import create_label
from persistence.columns import utcnow
from persistence.tables import EpisodeAnalysisRow, EpisodeRow, JobPartRow, ObjectAnnotationRow
from tests.conftest import register
from tests.domain.jobs.parted_gate_job import PartedGateParameters
from tests.domain.jobs.queue_support import HANG, analysis_values, read, settings_of, until
from tests.factories import write_dataset
from tests.graph.model_setup import IMGSZ, build_confident_checkpoint

ENDED = ("COMPLETED", "FAILED", "CANCELLED")


async def parted_job(rt: Runtime, gate: Path, items: int):
    return await rt.jobs.submit(
        kind=JobKind.EVALUATION,
        target=f"parted:{gate.name}",
        body=registered_body(rt),
        parameters=PartedGateParameters(gate=str(gate), items=items),
    )


async def parts(rt: Runtime, job_id: int) -> list[JobPartRow]:
    async with rt.sessions() as session:
        query = select(JobPartRow).where(JobPartRow.job_id == job_id).order_by(JobPartRow.part)
        return list((await session.execute(query)).scalars())


async def held_by(rt: Runtime, job_id: int, holders: int) -> set[int]:
    """The pids of the processes holding the job's parts, once at least `holders` of them do at once."""
    async with asyncio.timeout(HANG):
        while True:
            pids = {
                int((p.worker or "").split(":")[1]) for p in await parts(rt, job_id) if p.status == "RUNNING"
            }
            if len(pids) >= holders:
                return pids
            await asyncio.sleep(0.05)


def test_items_split_in_order_into_small_parts():
    assert split([]) == []
    assert split([7, 8, 9]) == [[7], [8], [9]]  # fewer items than MIN_PARTS: one a part
    parts = split(list(range(2000)))
    assert [i for p in parts for i in p] == list(range(2000))
    assert max(len(p) for p in parts) == PART_ITEMS
    assert len(split(list(range(100)))) >= MIN_PARTS


async def test_parts_of_one_job_run_on_two_workers_at_once(server, workers, tmp_path):
    first, second = workers.start(), workers.start()
    gate = tmp_path / "gate"
    job = await parted_job(server, gate, 8)
    assert await held_by(server, job.id, 2) == {first.pid, second.pid}
    gate.touch()
    done = await until(server, job.id, *ENDED)
    assert (done.status, done.error_code) == ("COMPLETED", None), done.error_message
    assert done.summary is not None
    summary = done.summary.model_dump()
    assert summary["items"] == list(range(8))  # every item once
    assert summary["pids"] == sorted({first.pid, second.pid})
    assert await parts(server, job.id) == []  # the final step deleted them


async def test_a_killed_workers_parts_are_taken_over_and_a_starting_server_leaves_the_job_alone(
    env, server, workers, tmp_path
):
    first = workers.start()
    gate = tmp_path / "gate"
    job = await parted_job(server, gate, 8)
    assert await held_by(server, job.id, 1) == {first.pid}  # the job's own task: it planned the parts
    second = workers.start()  # takes a joiner
    await held_by(server, job.id, 2)
    first.kill()  # kill -9: its parts stay RUNNING until their heartbeats are STALLED seconds old
    first.wait()
    other = Runtime.build(settings_of(env))
    recovered = await other.start()
    try:
        assert job.id not in {j.id for j in recovered}
        assert (await read(other, job.id)).status == "RUNNING"
        async with other.events.subscribe(JOBS_CHANNEL) as messages:
            gate.touch()
            async with asyncio.timeout(HANG):
                async for message in messages:  # the worker's progress, heard by the second server
                    if message["id"] == job.id and message["status"] in ENDED:
                        break
        done = await read(other, job.id)
    finally:
        await other.stop()
    assert (done.status, done.error_code) == ("COMPLETED", None), done.error_message
    assert done.summary is not None
    assert done.summary.model_dump() == {"items": list(range(8)), "pids": [second.pid]}


async def test_cancel_reaches_the_parts_on_every_worker(server, workers, tmp_path):
    first, second = workers.start(), workers.start()
    job = await parted_job(server, tmp_path / "never", 8)
    await held_by(server, job.id, 2)
    cancelled = await server.jobs.cancel(job.id)
    assert (cancelled.status, cancelled.error_message) == ("CANCELLED", "cancelled")
    assert await parts(server, job.id) == []
    assert server.jobs.queue is not None
    async with asyncio.timeout(HANG):  # every participant's task ends (aborted), none is left running
        while await server.jobs.queue.live(job.id):
            await asyncio.sleep(0.05)
    assert first.poll() is None and second.poll() is None  # the workers live on


async def test_an_analysis_completes_after_its_worker_is_killed_midway_as_a_one_worker_run(
    env, server, workers, data_root
):
    episodes = 400
    write_dataset(data_root / "many", episodes=episodes, lengths=[400] * episodes, size=(8, 8), name="many")
    alone = workers.start("--queues", "cpu,io")
    dataset_id = await register(server, data_root / "many")  # indexed by the worker
    user = await create_user(server, "ana", Role.ADMIN)
    viewer = Viewer(user.id, user.name, Role.ADMIN)

    reference = await run_analysis(server, viewer, dataset_id, AnalysisKind.TRAJECTORY_METRICS, {}, None)
    reference = await until(server, reference.id, *ENDED)
    assert reference.status == "COMPLETED", reference.error_message

    job = await run_analysis(server, viewer, dataset_id, AnalysisKind.TRAJECTORY_METRICS, {}, None)
    async with asyncio.timeout(HANG):  # midway: some parts stored, some held by the worker
        while True:
            states = {p.status for p in await parts(server, job.id)}
            if {"DONE", "RUNNING"} <= states:
                break
            assert (await read(server, job.id)).status not in ENDED, "the analysis ended before the kill"
            await asyncio.sleep(0.01)
    alone.kill()
    alone.wait()
    workers.start("--queues", "cpu")  # takes the job's joiners, then the dead worker's parts
    done = await until(server, job.id, *ENDED)
    assert (done.status, done.error_code) == ("COMPLETED", None), done.error_message
    assert done.summary == reference.summary
    assert await analysis_values(server, done.id) == await analysis_values(server, reference.id)
    async with server.sessions() as session:
        query = select(func.count(), func.count(func.distinct(EpisodeAnalysisRow.episode_id)))
        rows, distinct = (await session.execute(query.where(EpisodeAnalysisRow.job_id == done.id))).one()
    assert rows == distinct == episodes  # no duplicate rows


@pytest.fixture
async def embedded(runtime):
    return runtime


async def test_the_embedded_runner_runs_the_parts_in_the_server(embedded, tmp_path):
    gate = tmp_path / "gate"
    job = await parted_job(embedded, gate, 5)
    await held_by(embedded, job.id, 1)
    gate.touch()
    done = await embedded.jobs.wait(job.id)
    assert (done.status, done.error_code) == ("COMPLETED", None), done.error_message
    assert done.summary is not None and done.summary.model_dump()["items"] == list(range(5))
    assert await parts(embedded, job.id) == []


async def test_a_part_lost_too_often_fails_the_job_with_worker_lost_naming_it(embedded, tmp_path):
    gate = tmp_path / "gate"
    job = await parted_job(embedded, gate, 8)
    await held_by(embedded, job.id, 1)
    # Part 6 as a participant that died holding it for the last allowed time would leave it.
    async with embedded.sessions() as session, session.begin():
        await session.execute(
            update(JobPartRow)
            .where(JobPartRow.job_id == job.id, JobPartRow.part == 5)
            .values(
                status="RUNNING", worker="gone:1:x", attempts=embedded.jobs.attempts, heartbeat_at=utcnow()
            )
        )
    gate.touch()
    # Its heartbeat goes stale after STALLED seconds; the next claim is one too many.
    failed = await embedded.jobs.wait(job.id)
    assert (failed.status, failed.error_code) == ("FAILED", "WORKER_LOST")
    assert failed.error_message is not None and failed.error_message.startswith("part 6 (1 items, ids 5-5)")
    assert await parts(embedded, job.id) == []


async def test_a_cancelled_embedded_job_leaves_no_parts(embedded, tmp_path):
    job = await parted_job(embedded, tmp_path / "never", 8)
    await held_by(embedded, job.id, 1)
    cancelled = await embedded.jobs.cancel(job.id)
    assert (cancelled.status, cancelled.error_message) == ("CANCELLED", "cancelled")
    assert await parts(embedded, job.id) == []


async def test_a_detection_cancelled_while_two_workers_run_its_parts_leaves_no_boxes(
    server, workers, data_root
):
    first, second = workers.start("--queues", "io,detect"), workers.start("--queues", "detect")
    dataset_id = await register(server, write_dataset(data_root / "long", episodes=1, lengths=[1600]))
    await create_label(server, dataset_id, "pedestrian", None, None)
    user = await create_user(server, "detector", Role.ADMIN)
    build_confident_checkpoint(server.settings.models_dir / "confident.pt")
    async with server.sessions() as session:
        episode_id = (
            await session.execute(select(EpisodeRow.id).where(EpisodeRow.dataset_id == dataset_id))
        ).scalar_one()
    request = DetectRequest(
        episode_id=episode_id,
        camera="front",
        model="confident.pt",
        frame_stride=1,
        class_map={"person": "pedestrian"},
        image_size=IMGSZ,
    )
    job = await detect_objects(server, Viewer(user.id, user.name, Role.ADMIN), request)
    assert await held_by(server, job.id, 2) == {first.pid, second.pid}
    cancelled = await server.jobs.cancel(job.id)
    assert (cancelled.status, cancelled.error_message) == ("CANCELLED", "cancelled")
    async with server.sessions() as session:
        boxes = (
            await session.execute(select(func.count()).where(ObjectAnnotationRow.episode_id == episode_id))
        ).scalar_one()
    assert boxes == 0 and await parts(server, job.id) == []
    assert first.poll() is None and second.poll() is None
