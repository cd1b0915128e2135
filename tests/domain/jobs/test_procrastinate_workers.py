"""Jobs on the procrastinate queue (PostgreSQL), run by real `annograph worker` processes: a submitted
analysis completes in the worker with the embedded run's result, its progress reaches this process
through the broadcaster, a server starting while a worker runs a job leaves it alone, cancel reaches
the worker, and a killed worker's job is started again on another one, or FAILED with WORKER_LOST once
its attempts are spent; indexing, an annotation export and a detection run in a worker as in the
server. SQLite refuses the queue (its jobs stay embedded: the rest of the suite), and `annograph
worker` refuses SQLite, the embedded queue and unknown queues."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import zipfile

import pytest

from domain.accounts.users import Role, Viewer, create_user
from domain.analysis.kinds import AnalysisKind
from domain.analysis.runs import run_analysis
from domain.core.job_runner import JOBS_CHANNEL
from domain.core.runtime import Runtime
from domain.datasets.demo import write_demo_dataset
from domain.detection.service import DetectRequest, detect_objects
from domain.objects.labels import create_label
from domain.objects.transfer.exports import ExportRequest, artifact_path, export_annotations
from domain.objects.transfer.formats.model import ExportFormat
from persistence.repositories import episode as episodes_repo
from persistence.settings import SettingsError, load_settings
from tests.conftest import register
from tests.domain.jobs.queue_support import (
    HANG,
    ROOT,
    SPEC,
    analysis_values,
    gate_job,
    read,
    settings_of,
    until,
)
from tests.factories import write_dataset
from tests.graph.model_setup import IMGSZ, build_confident_checkpoint


def test_sqlite_refuses_the_procrastinate_queue(tmp_path):
    with pytest.raises(
        SettingsError, match="ANNOGRAPH_JOB_QUEUE: procrastinate needs a PostgreSQL database_url"
    ):
        load_settings(var_dir=tmp_path, job_queue="procrastinate")


async def test_a_worker_process_runs_an_analysis_as_the_embedded_runner_does(
    env, server, workers, data_root, tmp_path
):
    write_demo_dataset(data_root / "demo", SPEC)
    user = await create_user(server, "ana", Role.ADMIN)
    viewer = Viewer(user.id, user.name, Role.ADMIN)

    embedded = Runtime.build(settings_of(env, job_queue="embedded"))
    await embedded.start(recover_jobs=False)
    try:
        dataset_id = await register(embedded, data_root / "demo")
        first = await run_analysis(embedded, viewer, dataset_id, AnalysisKind.TRAJECTORY_METRICS, {}, None)
        first = await embedded.jobs.wait(first.id)
    finally:
        await embedded.stop()
    assert first.status == "COMPLETED", first.error_message

    async with server.events.subscribe(JOBS_CHANNEL) as messages:
        queued = await run_analysis(server, viewer, dataset_id, AnalysisKind.TRAJECTORY_METRICS, {}, None)
        assert (await read(server, queued.id)).status == "PENDING"  # no worker yet: it waits in the queue
        workers.start("--queues", "cpu")
        seen = []
        async with asyncio.timeout(HANG):
            async for message in messages:
                if message["id"] == queued.id:
                    seen.append(message["status"])
                    if message["status"] == "COMPLETED":
                        break
    second = await read(server, queued.id)
    assert second.status == "COMPLETED" and second.error_code is None, second.error_message
    assert "RUNNING" in seen  # published by the worker, heard here through the broadcaster
    assert second.summary == first.summary and second.version == first.version + 1
    assert await analysis_values(server, second.id) == await analysis_values(server, first.id)
    assert len(await analysis_values(server, second.id)) == SPEC.episodes


async def test_a_server_starting_leaves_a_job_a_live_worker_holds_alone(env, server, workers, tmp_path):
    workers.start()
    gate = tmp_path / "gate"
    job = await gate_job(server, gate)
    await until(server, job.id, "RUNNING")
    other = Runtime.build(settings_of(env))
    recovered = await other.start()  # a second server: its recovery must not touch the worker's job
    try:
        assert job.id not in {j.id for j in recovered}
        still = await read(other, job.id)
        assert (still.status, still.error_code) == ("RUNNING", None)
        gate.touch()
        done = await until(other, job.id, "COMPLETED", "FAILED", "CANCELLED")
    finally:
        await other.stop()
    assert (done.status, done.error_code) == ("COMPLETED", None)
    assert done.summary is not None and done.summary.model_dump()["pid"] == workers.processes[0].pid


async def test_cancel_reaches_the_worker(server, workers, tmp_path):
    workers.start()
    job = await gate_job(server, tmp_path / "never")
    await until(server, job.id, "RUNNING")
    cancelled = await server.jobs.cancel(job.id)
    assert (cancelled.status, cancelled.error_message) == ("CANCELLED", "cancelled")
    assert workers.processes[0].poll() is None  # the worker lives on


async def test_cancel_of_a_job_no_worker_took_ends_it_in_the_queue(server, tmp_path):
    job = await gate_job(server, tmp_path / "never")
    assert (await read(server, job.id)).status == "PENDING"
    cancelled = await server.jobs.cancel(job.id)
    assert (cancelled.status, cancelled.error_message) == ("CANCELLED", "cancelled")
    entry = (await server.jobs.queue.find([job.id]))[job.id]
    assert entry.status == "cancelled"  # no worker will take it


async def test_a_killed_workers_job_runs_again_on_another_then_fails_with_worker_lost(
    server, workers, tmp_path
):
    # ANNOGRAPH_JOB_ATTEMPTS=2: one start again after a lost worker, then WORKER_LOST.
    first = workers.start()
    gate = tmp_path / "gate"
    job = await gate_job(server, gate)
    started = (await until(server, job.id, "RUNNING")).started_at
    first.kill()  # kill -9: no heartbeat any more, the job stays `doing` in procrastinate
    first.wait()
    second = workers.start()
    async with asyncio.timeout(HANG):
        while (again := await read(server, job.id)).started_at == started:
            await asyncio.sleep(0.1)
    assert (again.status, again.error_code) == ("RUNNING", None)  # started again by the second worker
    second.kill()
    second.wait()
    workers.start()
    lost = await until(server, job.id, "FAILED", "COMPLETED", "CANCELLED")
    assert lost.status == "FAILED" and lost.error_code == "WORKER_LOST", (lost.status, lost.error_message)
    assert lost.error_message is not None and "2 attempts" in lost.error_message


async def test_indexing_and_an_annotation_export_run_in_a_worker(env, server, workers, data_root):
    workers.start("--queues", "io")
    write_demo_dataset(data_root / "demo", SPEC)
    dataset_id = await register(server, data_root / "demo")  # queued; wait() follows the worker's run
    user = await create_user(server, "exporter", Role.ADMIN)
    viewer = Viewer(user.id, user.name, Role.ADMIN)
    request = ExportRequest(format=ExportFormat.COCO, dataset_id=dataset_id)

    queued = await server.jobs.wait((await export_annotations(server, viewer, request)).id)
    embedded = Runtime.build(settings_of(env, job_queue="embedded"))
    await embedded.start(recover_jobs=False)
    try:
        local = await embedded.jobs.wait((await export_annotations(embedded, viewer, request)).id)
    finally:
        await embedded.stop()
    assert (queued.status, local.status) == ("COMPLETED", "COMPLETED"), (
        queued.error_message,
        local.error_message,
    )
    assert queued.result is not None and local.result is not None
    zips = [artifact_path(server, j.id, j.result.artifact or "") for j in (queued, local)]
    contents = []
    for path in zips:
        with zipfile.ZipFile(path) as archive:
            contents.append({name: archive.read(name) for name in archive.namelist()})
    assert contents[0] == contents[1] and contents[0]


async def test_a_detection_runs_in_a_detect_worker_as_in_the_server(env, server, workers, data_root):
    workers.start("--queues", "io,detect")
    dataset_id = await register(server, write_dataset(data_root / "tiny"))
    await create_label(server, dataset_id, "pedestrian", None, None)
    user = await create_user(server, "detector", Role.ADMIN)
    viewer = Viewer(user.id, user.name, Role.ADMIN)
    build_confident_checkpoint(server.settings.models_dir / "confident.pt")
    async with server.sessions() as session:
        (episode, *_) = sorted(
            (
                await episodes_repo.list_episode_pages(
                    session, [dataset_id], filter=episodes_repo.EpisodeFilter(), after_index=None, limit=10
                )
            )[dataset_id],
            key=lambda e: e.index,
        )
    request = DetectRequest(
        episode_id=episode.id,
        camera="front",
        model="confident.pt",
        frames=[0, 1, 2],
        class_map={"person": "pedestrian"},
        image_size=IMGSZ,
    )
    queued = await server.jobs.wait((await detect_objects(server, viewer, request)).id)
    embedded = Runtime.build(settings_of(env, job_queue="embedded"))
    await embedded.start(recover_jobs=False)
    try:
        local = await embedded.jobs.wait((await detect_objects(embedded, viewer, request)).id)
    finally:
        await embedded.stop()
    assert (queued.status, local.status) == ("COMPLETED", "COMPLETED"), (
        queued.error_message,
        local.error_message,
    )
    assert queued.summary is not None and local.summary is not None
    assert queued.summary == local.summary and queued.summary.model_dump()["boxes"] > 0


def test_the_worker_command_refuses_what_it_cannot_run(env, tmp_path):
    def worker(given: dict[str, str], *args: str) -> tuple[int, str]:
        done = subprocess.run(
            [sys.executable, "-m", "graph", "worker", *args],
            cwd=ROOT,
            env=given,
            capture_output=True,
            text=True,
            timeout=HANG,
        )
        return done.returncode, " ".join((done.stdout + done.stderr).split())  # rich wraps lines

    sqlite = {**os.environ, "ANNOGRAPH_VAR_DIR": str(tmp_path), "ANNOGRAPH_JOB_QUEUE": "procrastinate"}
    sqlite.pop("ANNOGRAPH_DATABASE_URL", None)
    code, said = worker(sqlite)
    assert code == 2 and "ANNOGRAPH_JOB_QUEUE: procrastinate needs a PostgreSQL database_url" in said
    code, said = worker({**os.environ, **env, "ANNOGRAPH_JOB_QUEUE": "embedded"})
    assert code == 2 and "`annograph worker` needs procrastinate" in said
    code, said = worker({**os.environ, **env}, "--queues", "cpu,gpu")
    assert code == 2 and "--queues: ['gpu'] are not queues" in said
