"""The job kinds converted last, run by real `annograph worker` processes on the procrastinate queue
(PostgreSQL): an episode export (as a zip, and as a dataset) and a MODEL test session's detector run
complete in a worker with what the embedded runner makes of the same request (files, summaries, rows).
An export as a dataset indexes its folder inside the export's worker: one worker with one slot on
`io` runs it to the end (the indexing is not queued behind the export that waits for it). A stop of a
MODEL session reaches the worker that runs its detector."""

from __future__ import annotations

import asyncio
import json
import zipfile
from pathlib import Path

from domain.accounts.users import Role, Viewer, create_user
from domain.core.runtime import Runtime
from domain.detection.detector import DetectorSettings
from domain.edits.export import EpisodeChoice, ExportEpisodesRequest, ExportOutput, export_episodes
from domain.objects.transfer import imports
from domain.objects.transfer.exports import artifact_path
from domain.objects.transfer.formats import annograph_json
from domain.objects.transfer.formats.model import (
    AnnotationSet,
    BoxEntry,
    ExportFormat,
    ImageEntry,
    LabelEntry,
)
from domain.validation import projects, states, test_sessions
from persistence.repositories import dataset as datasets_repo
from persistence.repositories import detection_event as events_repo
from persistence.repositories import episode as episodes_repo
from persistence.repositories import job as jobs_repo
from persistence.repositories import object_annotation as boxes_repo
from persistence.repositories import test_session as sessions_repo
from persistence.tables import TestSessionRow
from tests.conftest import register
from tests.domain.jobs.queue_support import HANG, read, settings_of, until
from tests.factories import write_dataset
from tests.graph.model_setup import IMGSZ, build_confident_checkpoint

# Episode 0 (40 frames): frame 5 removed, the front camera cropped at (8, 8) to 48 x 32 and doubled.
EDITS = {
    "removedFrames": [5],
    "cameras": {
        "front": {"crop": {"x": 8, "y": 8, "width": 48, "height": 32}, "resize": {"width": 96, "height": 64}}
    },
}
CHOICES = (EpisodeChoice(index=0, edits=EDITS), EpisodeChoice(index=2))


async def embedded(env: dict[str, str]) -> Runtime:
    """A server on the same database whose jobs run in its own process (the embedded runner)."""
    rt = Runtime.build(settings_of(env, job_queue="embedded"))
    await rt.start(recover_jobs=False)
    return rt


async def tiny_with_boxes(server: Runtime, data_root: Path) -> tuple[Viewer, int]:
    """The admin and the tiny dataset (3 episodes of 40/50/60 frames, camera front, 64 x 48), registered
    through the queue, with validated pedestrian boxes on episode 0 (frames 0, 5, 10, 20, 30)."""
    user = await create_user(server, "admin", Role.ADMIN)
    viewer = Viewer(user.id, user.name, Role.ADMIN)
    dataset_id = await register(server, write_dataset(data_root / "tiny"))
    images = [
        ImageEntry(f"episode_000000_front_{f:06d}.jpg", 0, "front", f, 64, 48) for f in (0, 5, 10, 20, 30)
    ]
    data = AnnotationSet(
        labels=[LabelEntry("pedestrian", "#aa3300")],
        images=images,
        boxes=[
            BoxEntry(i.file_name, "pedestrian", 10, 12, 20, 16, track_id="p1", review="VALIDATED")
            for i in images
        ],
    )
    files: dict[str, bytes] = {}
    annograph_json.write(data, files.__setitem__)
    request = imports.ImportRequest(
        dataset_id=dataset_id,
        file_name=annograph_json.FILE,
        content=files[annograph_json.FILE],
        format=ExportFormat.ANNOGRAPH,
        create_missing_labels=True,
    )
    assert (await imports.import_annotations(server, viewer, request)).boxes == len(images)
    return viewer, dataset_id


def zip_contents(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


async def test_an_episode_export_as_a_zip_runs_in_a_worker_as_in_the_server(env, server, workers, data_root):
    workers.start("--queues", "io")
    viewer, dataset_id = await tiny_with_boxes(server, data_root)
    request = ExportEpisodesRequest(dataset_id=dataset_id, episodes=CHOICES, name="curated")

    submitted = await export_episodes(server, viewer, request)
    queued = await until(server, submitted.id, "COMPLETED", "FAILED", "CANCELLED")
    local_rt = await embedded(env)
    try:
        local = await local_rt.jobs.wait((await export_episodes(local_rt, viewer, request)).id)
    finally:
        await local_rt.stop()
    assert (queued.status, local.status) == ("COMPLETED", "COMPLETED"), (
        queued.error_message,
        local.error_message,
    )
    assert queued.summary is not None and local.summary is not None and queued.result is not None
    assert queued.summary == local.summary
    summary = queued.summary.model_dump(by_alias=True)
    assert (summary["episodes"], summary["frames"], summary["boxes"]) == (2, 39 + 60, 4)
    assert summary["dropped"] == {"on removed frames": 1}
    zips = [
        artifact_path(server, j.id, (j.result.artifact if j.result else None) or "") for j in (queued, local)
    ]
    written = [zip_contents(path) for path in zips]
    assert written[0] == written[1]  # byte for byte: the episodes' HDF5 files, info.json, annotations
    assert {"curated/info.json", "curated/annotations.json", "curated/episodes/episode_000001.hdf5"} <= set(
        written[0]
    )


async def test_an_export_as_a_dataset_completes_on_a_single_io_worker(env, server, workers, data_root):
    # One worker, one slot, queue io only: were the indexing of the exported folder queued on io, the
    # export holding the slot would wait for it forever (this test would end at its hang guard).
    workers.start("--queues", "io", "--concurrency", "1")
    viewer, dataset_id = await tiny_with_boxes(server, data_root)

    def request(name: str) -> ExportEpisodesRequest:
        return ExportEpisodesRequest(
            dataset_id=dataset_id, episodes=CHOICES, output=ExportOutput.DATASET, name=name
        )

    submitted = await export_episodes(server, viewer, request("in-worker"))
    queued = await until(server, submitted.id, "COMPLETED", "FAILED", "CANCELLED")
    local_rt = await embedded(env)
    try:
        local = await local_rt.jobs.wait((await export_episodes(local_rt, viewer, request("in-server"))).id)
    finally:
        await local_rt.stop()
    assert (queued.status, local.status) == ("COMPLETED", "COMPLETED"), (
        queued.error_message,
        local.error_message,
    )
    assert queued.summary is not None and local.summary is not None and queued.result is not None
    made = {j.id: j.summary.model_dump(by_alias=True).pop("datasetId") for j in (queued, local) if j.summary}
    assert {k: v for k, v in queued.summary.model_dump(by_alias=True).items() if k != "datasetId"} == {
        k: v for k, v in local.summary.model_dump(by_alias=True).items() if k != "datasetId"
    }
    assert queued.result.model_dump(by_alias=True)["path"] == "exports/in-worker"

    exports = data_root / "exports"
    for name in ("info.json", "annotations.json"):  # the same but for the name each export was given
        mine = (exports / "in-worker" / name).read_text().replace("in-worker", "in-server")
        assert json.loads(mine) == json.loads((exports / "in-server" / name).read_text())
    for episode in ("episode_000000.hdf5", "episode_000001.hdf5"):
        assert (exports / "in-worker" / "episodes" / episode).read_bytes() == (
            exports / "in-server" / "episodes" / episode
        ).read_bytes()

    rows = {d: await dataset_rows(server, d) for d in made.values()}
    async with server.sessions() as session:
        indexings = await jobs_repo.list_jobs(
            session,
            filter=jobs_repo.JobFilter(kind="INDEXING", dataset_id=made[queued.id]),
            before_id=None,
            limit=5,
        )
    in_worker, in_server = rows[made[queued.id]], rows[made[local.id]]
    assert (in_worker["name"], in_server["name"]) == ("in-worker", "in-server")
    assert in_worker["episodes"] == in_server["episodes"]
    assert [e[:2] for e in in_worker["episodes"]] == [(0, 39), (1, 60)]
    assert in_worker["boxes"] == in_server["boxes"] and len(in_worker["boxes"]) == 4
    # The worker indexed the folder itself, as part of the export: its indexing job never was queued.
    (indexing,) = indexings
    assert indexing.status == "COMPLETED" and indexing.dataset_id == made[queued.id]
    assert server.jobs.queue is not None and indexing.id not in await server.jobs.queue.find([indexing.id])


async def dataset_rows(rt: Runtime, dataset_id: int) -> dict:
    """A registered dataset as stored: its name, episodes (index, length, cameras) and boxes."""
    async with rt.sessions() as session:
        dataset = await datasets_repo.read_dataset(session, dataset_id)
        assert dataset is not None
        pages = await episodes_repo.list_episode_pages(
            session, [dataset_id], filter=episodes_repo.EpisodeFilter(), after_index=None, limit=10
        )
        episodes = sorted(pages[dataset_id], key=lambda e: e.index)
        boxes = await boxes_repo.read_export_rows(session, [e.id for e in episodes], None, False)
    index = {e.id: e.index for e in episodes}
    return {
        "name": dataset.name,
        "episodes": [(e.index, e.length, e.cameras) for e in episodes],
        "boxes": sorted(
            (index[b.episode_id], b.camera, b.frame, b.x, b.y, b.width, b.height, b.track_id, b.review)
            for b in boxes
        ),
    }


async def model_session(rt: Runtime, viewer: Viewer, project_id: int, name: str, **given) -> TestSessionRow:
    new = test_sessions.NewTestSession(
        project_id,
        name,
        states.TestSource.MODEL,
        model="confident.pt",
        detector=DetectorSettings(image_size=IMGSZ, class_map={"person": "pedestrian"}, **given),
    )
    return await test_sessions.create_test_session(rt, viewer, new)


async def ended(rt: Runtime, session_id: int) -> TestSessionRow:
    """The test session once it left RUNNING."""
    async with asyncio.timeout(HANG):
        while True:
            async with rt.sessions() as session:
                row = await sessions_repo.read_test_session(session, session_id)
            assert row is not None
            if row.status not in ("CREATED", "RUNNING"):
                return row
            await asyncio.sleep(0.05)


async def detections(rt: Runtime, session_id: int) -> list[tuple]:
    async with rt.sessions() as session:
        events = await events_repo.read_events(session, session_id)
    return sorted(
        (e.episode_id, e.camera, e.frame, e.label, e.x, e.y, e.width, e.height, e.score) for e in events
    )


async def test_a_model_test_session_runs_in_a_detect_worker_as_in_the_server(env, server, workers, data_root):
    workers.start("--queues", "io,detect")
    viewer, dataset_id = await tiny_with_boxes(server, data_root)
    build_confident_checkpoint(server.settings.models_dir / "confident.pt")
    project = await projects.create_project(
        server, viewer, projects.NewProject("p", None, ["pedestrian"], projects.Criteria(min_recall=0.01))
    )
    async with server.sessions() as session:
        pages = await episodes_repo.list_episode_pages(
            session, [dataset_id], filter=episodes_repo.EpisodeFilter(), after_index=None, limit=10
        )
    await projects.link_episodes(server, viewer, project.id, [e.id for e in pages[dataset_id]], None)

    queued = await model_session(server, viewer, project.id, "in worker", frame_stride=5)
    started = await test_sessions.start_test_session(server, viewer, queued.id)
    assert started.status == "RUNNING" and started.job_id is not None
    job = await until(server, started.job_id, "COMPLETED", "FAILED", "CANCELLED")
    in_worker = await ended(server, queued.id)
    local_rt = await embedded(env)
    try:
        here = await model_session(local_rt, viewer, project.id, "in server", frame_stride=5)
        here_started = await test_sessions.start_test_session(local_rt, viewer, here.id)
        assert here_started.job_id is not None
        local_job = await local_rt.jobs.wait(here_started.job_id)
        in_server = await ended(local_rt, here.id)
    finally:
        await local_rt.stop()
    assert (job.status, local_job.status) == ("COMPLETED", "COMPLETED"), (
        job.error_message,
        local_job.error_message,
    )
    assert (in_worker.status, in_server.status) == ("COMPLETED", "COMPLETED")
    assert in_worker.metrics is not None and in_server.metrics is not None
    # Everything but the detector's timing, which is the machine's.
    timing = {"latency"}
    assert in_worker.metrics.model_dump(exclude=timing) == in_server.metrics.model_dump(exclude=timing)
    assert in_worker.metrics.frames == in_worker.frames_total == (8 + 10 + 12)
    assert in_worker.metrics.detections > 0 and in_worker.metrics.ground_truth == 5
    assert (in_worker.passed, in_worker.reasons) == (in_server.passed, in_server.reasons)
    found = await detections(server, queued.id)
    assert found and [d[:4] + tuple(round(v, 3) for v in d[4:]) for d in found] == [
        d[:4] + tuple(round(v, 3) for v in d[4:]) for d in await detections(server, here.id)
    ]


async def test_a_stop_reaches_the_worker_running_a_model_session(env, server, workers, data_root):
    workers.start("--queues", "io,detect")
    user = await create_user(server, "admin", Role.ADMIN)
    viewer = Viewer(user.id, user.name, Role.ADMIN)
    dataset_id = await register(server, write_dataset(data_root / "long", lengths=[400, 400]))
    build_confident_checkpoint(server.settings.models_dir / "confident.pt")
    project = await projects.create_project(server, viewer, projects.NewProject("p", None, ["pedestrian"]))
    async with server.sessions() as session:
        pages = await episodes_repo.list_episode_pages(
            session, [dataset_id], filter=episodes_repo.EpisodeFilter(), after_index=None, limit=10
        )
    await projects.link_episodes(server, viewer, project.id, [e.id for e in pages[dataset_id]], None)
    row = await model_session(server, viewer, project.id, "long")
    started = await test_sessions.start_test_session(server, viewer, row.id)
    assert started.job_id is not None
    async with asyncio.timeout(HANG):
        while (await test_sessions.session_progress(server, row.id)).processed == 0:
            await asyncio.sleep(0.05)
    assert (await read(server, started.job_id)).status == "RUNNING"
    stopped = await test_sessions.stop_test_session(server, viewer, row.id)
    assert stopped.status == "STOPPED" and stopped.partial is True and stopped.metrics is not None
    assert 0 < stopped.metrics.frames < 800
    job = await read(server, started.job_id)
    assert (job.status, job.error_message) == ("CANCELLED", "cancelled")
    assert workers.processes[0].poll() is None  # the worker lives on
