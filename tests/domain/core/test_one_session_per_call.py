"""One service call, one database session: its reads and checks share the write's transaction.

Each test counts the sessions a call opens (through the runtime's factory and the job runner's) and
the transactions begun on the engine, from the calling task only (a job the call starts runs in its
own task, with its own sessions). A service that went back to reading outside its write transaction
opens a second session and fails here.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import pytest
from sqlalchemy import event

from domain.accounts import tokens, users
from domain.accounts.users import Role, Viewer, viewer_of
from domain.annotations import service as annotations
from domain.annotations import sessions as live_sessions
from domain.annotations.drafts import AnnotationDraft, AnomalyDraft, AnomalyType, Rating, Severity
from domain.annotations.session_states import SessionStatus
from domain.core.errors import BadUserInput, Conflict, Unauthenticated
from domain.datasets.demo.writer import episode_name
from domain.edits import service as episode_edits
from domain.objects import labels
from domain.objects.demo_truth import load_demo_truth
from domain.objects.transfer import imports
from domain.objects.transfer.formats import annograph_json
from domain.objects.transfer.formats.model import (
    AnnotationSet,
    BoxEntry,
    ExportFormat,
    ImageEntry,
    LabelEntry,
)
from domain.validation import projects, runs, states, test_sessions
from domain.validation.ingest import DetectionEventInput, ingest_detection_events
from persistence.repositories import detection_event as events_repo
from persistence.repositories import episode as episodes_repo
from persistence.repositories import job as jobs_repo
from persistence.repositories import object_annotation as boxes_repo
from persistence.repositories import test_session as test_sessions_repo
from tests.conftest import register


class Counted:
    """Sessions opened and transactions begun by the task that last called `reset`."""

    def __init__(self, runtime, monkeypatch) -> None:
        self.task: asyncio.Task | None = None
        self.sessions = 0
        self.transactions = 0
        factory = runtime.sessions

        def opened(*args, **kwargs):
            if asyncio.current_task() is self.task:
                self.sessions += 1
            return factory(*args, **kwargs)

        def begun(_connection) -> None:
            if asyncio.current_task() is self.task:
                self.transactions += 1

        monkeypatch.setattr(runtime, "sessions", opened)
        monkeypatch.setattr(runtime.jobs, "_sessions", opened)  # a job's row, inserted by the runner
        event.listen(runtime.engine.sync_engine, "begin", begun)
        self._stop = lambda: event.remove(runtime.engine.sync_engine, "begin", begun)

    def reset(self) -> None:
        self.task = asyncio.current_task()
        self.sessions = self.transactions = 0

    def close(self) -> None:
        self._stop()

    def __repr__(self) -> str:
        return f"{self.sessions} session(s), {self.transactions} transaction(s)"


@pytest.fixture
def counted(runtime, monkeypatch):
    counter = Counted(runtime, monkeypatch)
    yield counter
    counter.close()


@dataclass
class Tiny:
    admin: Viewer
    dataset_id: int
    episode_ids: list[int]  # by index: 40, 50 and 60 frames, camera front (64 x 48)


@pytest.fixture
async def tiny(runtime, tiny_dataset) -> Tiny:
    admin = viewer_of(await users.create_user(runtime, "admin", Role.ADMIN))
    dataset_id = await register(runtime, tiny_dataset)
    async with runtime.sessions() as session, session.begin():
        await labels.ensure_labels(session, dataset_id, [("pedestrian", None, None)])
        pages = await episodes_repo.list_episode_pages(
            session, [dataset_id], filter=episodes_repo.EpisodeFilter(), after_index=None, limit=10
        )
    return Tiny(admin, dataset_id, [e.id for e in pages[dataset_id]])


def one_and_one(counted: Counted) -> bool:
    return (counted.sessions, counted.transactions) == (1, 1)


async def test_saving_an_episode_annotation(runtime, tiny, counted):
    episode = tiny.episode_ids[0]
    anomaly = AnomalyDraft(AnomalyType.SLIP, Severity.LOW, 3, 5)
    draft = AnnotationDraft(Rating.SUCCESS, anomalies=(anomaly,))
    counted.reset()
    first = await annotations.save_annotation(runtime, tiny.admin, episode, draft, expected_version=None)
    assert first.version == 1 and one_and_one(counted), counted
    counted.reset()
    second = await annotations.save_annotation(
        runtime, tiny.admin, episode, AnnotationDraft(Rating.FAILURE), expected_version=1
    )
    assert second.version == 2 and one_and_one(counted), counted
    # CONFLICT, stale or without a version: built in the same session after the write rolled back.
    for expected in (1, None):
        counted.reset()
        with pytest.raises(Conflict) as raised:
            await annotations.save_annotation(runtime, tiny.admin, episode, draft, expected_version=expected)
        assert raised.value.field == "expected_version"
        assert raised.value.details["currentVersion"] == 2
        assert raised.value.details["current"]["rating"] == "FAILURE"
        assert counted.sessions == 1, counted
    # A draft its episode refuses names its field, in the one session, and writes nothing.
    beyond = AnnotationDraft(Rating.SUCCESS, anomalies=(AnomalyDraft(AnomalyType.SLIP, Severity.LOW, 3, 40),))
    counted.reset()
    with pytest.raises(BadUserInput) as refused:
        await annotations.save_annotation(runtime, tiny.admin, episode, beyond, expected_version=2)
    assert refused.value.field is not None and one_and_one(counted), counted
    (row,) = await annotations.annotations_by_keys(runtime, [(episode, tiny.admin.user_id)])
    assert row is not None and row.version == 2


async def test_moving_in_an_annotation_session(runtime, tiny, counted):
    other = viewer_of(await users.create_user(runtime, "anna", Role.ANNOTATOR))
    started = await live_sessions.start_session(runtime, tiny.admin, tiny.episode_ids[0])
    steps = [
        live_sessions.join_session(runtime, other, started.id),
        live_sessions.move_cursor(runtime, other, started.id, 7),
        live_sessions.set_status(runtime, tiny.admin, started.id, SessionStatus.PAUSED),
        live_sessions.leave_session(runtime, other, started.id),
    ]
    for step in steps:
        counted.reset()
        await step
        assert one_and_one(counted), counted
    counted.reset()
    with pytest.raises(Conflict) as raised:  # the status it has: checked in the write's transaction
        await live_sessions.set_status(runtime, tiny.admin, started.id, SessionStatus.PAUSED)
    assert raised.value.field == "id" and one_and_one(counted), counted
    counted.reset()
    with pytest.raises(BadUserInput):  # left already
        await live_sessions.leave_session(runtime, other, started.id)
    assert one_and_one(counted), counted


def annograph_file(track: str, frame: int) -> bytes:
    image = ImageEntry(f"episode_000000_front_{frame:06d}.jpg", 0, "front", frame, 64, 48)
    data = AnnotationSet(
        labels=[LabelEntry("pedestrian", "#aa3300")],
        images=[image],
        boxes=[BoxEntry(image.file_name, "pedestrian", 1, 2, 10, 12, track_id=track)],
    )
    files: dict[str, bytes] = {}
    annograph_json.write(data, files.__setitem__)
    return files[annograph_json.FILE]


async def test_importing_annotations(runtime, tiny, counted):
    request = imports.ImportRequest(
        tiny.dataset_id, "boxes.json", annograph_file("t1", 0), ExportFormat.ANNOGRAPH
    )
    counted.reset()
    summary = await imports.import_annotations(runtime, tiny.admin, request)
    assert summary.boxes == 1 and one_and_one(counted), counted
    # The same box again: the insert fails, and the clash is named from the same session.
    counted.reset()
    with pytest.raises(BadUserInput) as raised:
        await imports.import_annotations(runtime, tiny.admin, request)
    assert raised.value.field == imports.FIELD and "already has a box on frame 0" in raised.value.message
    assert counted.sessions == 1, counted
    counted.reset()
    with pytest.raises(BadUserInput) as missing:  # a label the dataset lacks, checked in the transaction
        await imports.import_annotations(
            runtime,
            tiny.admin,
            imports.ImportRequest(
                tiny.dataset_id, "cats.json", annograph_file("t2", 1).replace(b"pedestrian", b"cat")
            ),
        )
    assert "createMissingLabels" in missing.value.message and one_and_one(counted), counted
    async with runtime.sessions() as session:
        counts = await boxes_repo.review_counts_by_datasets(session, [tiny.dataset_id])
    assert sum(counts[tiny.dataset_id].values()) == 1


async def project_session(runtime, tiny, source: states.TestSource, model: str | None = None) -> int:
    project = await projects.create_project(
        runtime, tiny.admin, projects.NewProject("p", None, ["pedestrian"], projects.Criteria())
    )
    await projects.link_episodes(runtime, tiny.admin, project.id, tiny.episode_ids, None)
    row = await test_sessions.create_test_session(
        runtime, tiny.admin, test_sessions.NewTestSession(project.id, "s", source, model=model)
    )
    return row.id


async def test_a_device_s_detections_and_the_session_s_reads(runtime, tiny, counted):
    session_id = await project_session(runtime, tiny, states.TestSource.EXTERNAL)
    batch = [
        DetectionEventInput(
            tiny.episode_ids[0], "front", frame=2, label="pedestrian", x=1, y=1, width=5, height=5
        )
    ]
    counted.reset()
    with pytest.raises(Conflict) as not_running:  # still CREATED: checked in the write's transaction
        await ingest_detection_events(runtime, tiny.admin, session_id, batch)
    assert not_running.value.field == "session_id" and one_and_one(counted), counted
    counted.reset()
    started = await test_sessions.start_test_session(runtime, tiny.admin, session_id)
    assert started.status == "RUNNING" and one_and_one(counted), counted
    counted.reset()
    assert await ingest_detection_events(runtime, tiny.admin, session_id, batch) == 1
    assert one_and_one(counted), counted
    counted.reset()
    with pytest.raises(BadUserInput) as refused:
        no_such_camera = DetectionEventInput(tiny.episode_ids[0], "back", frame=2)
        await ingest_detection_events(runtime, tiny.admin, session_id, [*batch, no_such_camera])
    assert refused.value.field == "events[1].camera" and one_and_one(counted), counted
    async with runtime.sessions() as session:
        assert len(await events_repo.read_events(session, session_id)) == 1
    counted.reset()
    progress = await test_sessions.session_progress(runtime, session_id)
    assert progress.processed == 1 and counted.sessions == 1, counted
    counted.reset()
    await projects.suggest_episodes(runtime, started.project_id, 5)
    assert counted.sessions == 1, counted


async def test_starting_a_model_session_adds_its_job_in_the_same_transaction(
    runtime, tiny, counted, monkeypatch
):
    async def model_found(rt, name, field="model"):
        return name

    async def detect_nothing(*_args) -> None:
        return None

    monkeypatch.setattr(test_sessions, "check_model", model_found)
    monkeypatch.setattr(runs, "check_model", model_found)
    monkeypatch.setattr(runs, "_run", detect_nothing)
    session_id = await project_session(runtime, tiny, states.TestSource.MODEL, model="some.pt")
    counted.reset()
    started = await test_sessions.start_test_session(runtime, tiny.admin, session_id)
    assert one_and_one(counted), counted
    assert started.status == "RUNNING" and started.job_id is not None
    job = await runtime.jobs.wait(started.job_id)
    assert (job.kind, job.target, job.status) == ("EVALUATION", f"test_session:{session_id}", "COMPLETED")


async def test_a_model_session_whose_model_is_gone_does_not_start(runtime, tiny, counted, monkeypatch):
    async def model_found(rt, name, field="model"):
        return name

    async def model_gone(rt, name, field="model"):
        raise BadUserInput(f"{field}: no model {name!r}", field=field)

    monkeypatch.setattr(test_sessions, "check_model", model_found)
    session_id = await project_session(runtime, tiny, states.TestSource.MODEL, model="some.pt")
    monkeypatch.setattr(runs, "check_model", model_gone)
    counted.reset()
    with pytest.raises(BadUserInput) as raised:
        await test_sessions.start_test_session(runtime, tiny.admin, session_id)
    assert raised.value.field == "model" and one_and_one(counted), counted
    async with runtime.sessions() as session:
        row = await test_sessions_repo.read_test_session(session, session_id)
        jobs = await jobs_repo.list_jobs(
            session, filter=jobs_repo.JobFilter(kind="EVALUATION"), before_id=None, limit=5
        )
    assert row is not None and (row.status, row.job_id) == ("CREATED", None) and jobs == []


async def test_login_codes_and_users(runtime, tiny, counted):
    code = await tokens.create_login_code(runtime, tiny.admin.user_id)
    counted.reset()
    secret = await tokens.exchange_login_code(runtime, code)
    assert one_and_one(counted), counted
    assert (
        await tokens.authenticate(runtime, secret, kinds=[tokens.TokenKind.SESSION])
    ).user_id == tiny.admin.user_id
    counted.reset()
    with pytest.raises(Unauthenticated, match="used already"):
        await tokens.exchange_login_code(runtime, code)
    assert one_and_one(counted), counted
    for call in (
        users.ensure_user(runtime, "local", Role.ADMIN),
        users.ensure_user(runtime, "local", Role.ADMIN),
        users.first_admin(runtime),
    ):
        counted.reset()
        await call
        assert one_and_one(counted), counted
    assert (await users.first_admin(runtime)).id == tiny.admin.user_id


async def test_saving_episode_edits_over_a_version_answers_from_the_same_session(runtime, tiny, counted):
    episode = tiny.episode_ids[1]
    await episode_edits.save_episode_edits(runtime, tiny.admin, episode, {"removedFrames": [1]}, None)
    counted.reset()
    with pytest.raises(Conflict) as raised:
        await episode_edits.save_episode_edits(runtime, tiny.admin, episode, {"removedFrames": [2]}, None)
    assert raised.value.details["currentVersion"] == 1 and counted.sessions == 1, counted
    assert raised.value.details["current"]["removedFrames"] == [1]


async def test_loading_the_demo_truth(runtime, tiny, tiny_dataset, counted):
    truth = {
        "cameras": {
            "front": [
                {"frame": 0, "x": 1, "y": 1, "width": 5, "height": 5, "label": "pedestrian", "track_id": "t1"}
            ]
        }
    }
    (tiny_dataset / "ground_truth").mkdir()
    (tiny_dataset / "ground_truth" / episode_name(0, ".json")).write_text(json.dumps(truth))
    counted.reset()
    assert await load_demo_truth(runtime, tiny_dataset) == 1
    assert one_and_one(counted), counted
    counted.reset()
    assert await load_demo_truth(runtime, tiny_dataset) == 0  # it has boxes: nothing loaded again
    assert one_and_one(counted), counted
