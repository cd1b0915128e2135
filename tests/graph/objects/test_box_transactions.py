"""A box service call is one database session: its reads and checks share the write's transaction."""

from __future__ import annotations

import pytest
from strawberry import relay

from domain.accounts.users import Role, Viewer
from domain.core.errors import BadUserInput, Conflict
from domain.objects import service as object_annotations
from domain.objects.boxes import BoxChanges, BoxDraft
from persistence.repositories import object_annotation as boxes_repo
from tests.conftest import register
from tests.graph.objects_setup import labelled_dataset

ADMIN = Viewer(1, "admin", Role.ADMIN)


@pytest.fixture
async def episode_id(client, runtime, tiny_dataset) -> int:
    await register(runtime, tiny_dataset)
    _, episodes = await labelled_dataset(client)
    return int(relay.GlobalID.from_id(episodes[0]).node_id)


class SessionCount:
    """Wraps a runtime's session factory and counts the sessions opened."""

    def __init__(self, factory) -> None:
        self.factory = factory
        self.opened = 0

    def __call__(self, *args, **kwargs):
        self.opened += 1
        return self.factory(*args, **kwargs)


def draft(episode_id: int, frame: int = 0) -> BoxDraft:
    return BoxDraft(episode_id, "front", frame, 10, 5, 20, 30, "pedestrian", track_id="t1")


async def test_each_box_change_opens_one_session(runtime, episode_id, monkeypatch):
    count = SessionCount(runtime.sessions)
    monkeypatch.setattr(runtime, "sessions", count)
    made = await object_annotations.create_boxes(runtime, ADMIN, [draft(episode_id), draft(episode_id, 1)])
    assert count.opened == 1
    updated = await object_annotations.update_box(
        runtime, ADMIN, made[0].id, 1, BoxChanges(frame=2, notes="moved")
    )
    assert (updated.frame, updated.notes, updated.version) == (2, "moved", 2)
    assert count.opened == 2
    await object_annotations.review_boxes(runtime, ADMIN, [made[1].id], True, None)
    assert count.opened == 3
    assert await object_annotations.delete_boxes(runtime, ADMIN, [made[1].id]) == 1
    assert count.opened == 4


async def test_bad_changes_name_their_field_and_write_nothing(runtime, episode_id):
    made = await object_annotations.create_boxes(runtime, ADMIN, [draft(episode_id)])
    for changes, field in (
        (BoxChanges(x=60.0), "x"),
        (BoxChanges(label="nobody"), "label"),
        (BoxChanges(camera="back"), "camera"),
        (BoxChanges(score=2.0), "score"),
    ):
        with pytest.raises(BadUserInput) as raised:
            await object_annotations.update_box(runtime, ADMIN, made[0].id, 1, changes)
        assert raised.value.field == field
    async with runtime.sessions() as session:
        (row,) = await boxes_repo.read_boxes_by_ids(session, [made[0].id])
    assert (row.version, row.x) == (1, 10.0)


# PostgreSQL only: SQLite's writers queue in one process, so no write can land inside another's
# transaction there.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_an_edit_committed_during_the_checks_answers_conflict_with_it(
    runtime, episode_id, database_url, monkeypatch
):
    """Another writer commits between the edit's read and its write: the version-guarded write
    refuses, and CONFLICT carries the box as that writer left it (not the copy read first)."""
    made = await object_annotations.create_boxes(runtime, ADMIN, [draft(episode_id)])
    read_label_sets = object_annotations._label_sets

    async def label_sets_then_a_rival_edit(session, dataset_ids):
        async with runtime.sessions() as other, other.begin():
            await boxes_repo.update_box_if_version(other, made[0].id, 1, {"notes": "theirs"})
        return await read_label_sets(session, dataset_ids)

    monkeypatch.setattr(object_annotations, "_label_sets", label_sets_then_a_rival_edit)
    with pytest.raises(Conflict) as raised:
        await object_annotations.update_box(runtime, ADMIN, made[0].id, 1, BoxChanges(notes="mine"))
    assert raised.value.details["currentVersion"] == 2
    assert raised.value.details["current"]["notes"] == "theirs"
