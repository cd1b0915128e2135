"""Segments in the service: versions and CONFLICT, each check naming its field, live events, task text."""

from __future__ import annotations

import asyncio

import h5py
import pytest

from domain.accounts.users import Role, create_user, viewer_of
from domain.annotations import sessions as annotation_sessions
from domain.core.episode_events import session_channel
from domain.core.errors import BadUserInput, Conflict, Forbidden
from domain.segments import service as segments
from domain.segments import task_text, vocabulary
from domain.segments.service import SegmentDraft
from persistence.repositories import episode as episodes_repo
from tests.conftest import register


@pytest.fixture
async def world(runtime, tiny_dataset):
    """The tiny dataset (episode 1: 50 frames, timestamps 2 x frame / 30 + 100 s), two annotators, a
    reviewer, and a vocabulary: reach and grasp must not overlap, `gaze` may."""
    path = tiny_dataset / "episodes" / "episode_000001.hdf5"
    with h5py.File(path, "r+") as f:
        f["timestamp"][:] = f["timestamp"][:] * 2 + 100
    dataset_id = await register(runtime, tiny_dataset)
    async with runtime.sessions() as session:
        episode = await episodes_repo.read_episode_by_index(session, dataset_id, 1)
    assert episode is not None and episode.length == 50
    people = {
        name: viewer_of(await create_user(runtime, name, role))
        for name, role in (("anna", Role.ANNOTATOR), ("ben", Role.ANNOTATOR), ("rita", Role.REVIEWER))
    }
    labels = {
        name: await vocabulary.create_segment_label(runtime, dataset_id, name, None, overlap)
        for name, overlap in (("reach", False), ("grasp", False), ("gaze", True))
    }
    return dataset_id, episode, people, labels


async def test_versions_and_conflict(runtime, world):
    _, episode, people, labels = world
    anna = people["anna"]
    row = await segments.create_segment(
        runtime, anna, episode.id, SegmentDraft(labels["reach"].id, 3, 12, "reach")
    )
    assert row.version == 1 and row.annotator_id == anna.user_id
    assert row.from_time == pytest.approx(3 / 30 * 2 + 100) and row.to_time == pytest.approx(
        12 / 30 * 2 + 100
    )
    changed = await segments.update_segment(
        runtime, anna, row.id, SegmentDraft(labels["reach"].id, 3, 14, "reach the cube"), expected_version=1
    )
    assert changed.version == 2 and changed.to_frame == 14 and changed.instruction == "reach the cube"
    with pytest.raises(Conflict) as stale:
        await segments.update_segment(
            runtime, anna, row.id, SegmentDraft(labels["reach"].id, 0, 5), expected_version=1
        )
    assert stale.value.field == "expected_version"
    assert stale.value.details["currentVersion"] == 2
    assert stale.value.details["current"]["toFrame"] == 14
    with pytest.raises(Conflict):
        await segments.delete_segment(runtime, anna, row.id, expected_version=1)
    # Another annotator may not touch it; a reviewer may.
    with pytest.raises(Forbidden):
        await segments.delete_segment(runtime, people["ben"], row.id, expected_version=2)
    assert await segments.delete_segment(runtime, people["rita"], row.id, expected_version=2)
    assert not await segments.delete_segment(runtime, anna, row.id, expected_version=2)


async def test_concurrent_updates_one_wins(runtime, world):
    _, episode, people, labels = world
    anna = people["anna"]
    row = await segments.create_segment(runtime, anna, episode.id, SegmentDraft(labels["reach"].id, 0, 9))
    results = await asyncio.gather(
        *(
            segments.update_segment(
                runtime, anna, row.id, SegmentDraft(labels["reach"].id, 0, 9 + i), expected_version=1
            )
            for i in range(1, 4)
        ),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, Exception))


@pytest.mark.parametrize(
    ("first", "last", "label", "field"),
    [
        (10, 5, "reach", "to_frame"),  # reversed
        (-1, 5, "reach", "from_frame"),  # before the episode
        (10, 50, "reach", "to_frame"),  # past its last frame (49)
        (60, 70, "reach", "from_frame"),
        (0, 5, None, "label_id"),  # not in the vocabulary
        (5, 15, "grasp", "from_frame"),  # overlaps reach 0..9, and grasp may not overlap
    ],
)
async def test_checks_name_the_field(runtime, world, first, last, label, field):
    _, episode, people, labels = world
    anna = people["anna"]
    await segments.create_segment(runtime, anna, episode.id, SegmentDraft(labels["reach"].id, 0, 9))
    label_id = labels[label].id if label else 10_000
    with pytest.raises(BadUserInput) as refused:
        await segments.create_segment(runtime, anna, episode.id, SegmentDraft(label_id, first, last))
    assert refused.value.field == field, refused.value.message


async def test_overlap_rules_follow_the_vocabulary(runtime, world):
    _, episode, people, labels = world
    anna, ben = people["anna"], people["ben"]
    await segments.create_segment(runtime, anna, episode.id, SegmentDraft(labels["reach"].id, 0, 9))
    # Another annotator's segments never conflict: each annotator marks their own.
    await segments.create_segment(runtime, ben, episode.id, SegmentDraft(labels["grasp"].id, 5, 15))
    # gaze may overlap gaze; gaze over reach is refused, since reach may not be overlapped.
    await segments.create_segment(runtime, anna, episode.id, SegmentDraft(labels["gaze"].id, 20, 30))
    await segments.create_segment(runtime, anna, episode.id, SegmentDraft(labels["gaze"].id, 25, 35))
    with pytest.raises(BadUserInput) as refused:
        await segments.create_segment(runtime, anna, episode.id, SegmentDraft(labels["gaze"].id, 5, 12))
    assert refused.value.field == "from_frame" and "'reach'" in refused.value.message
    # Once reach may overlap, so may gaze over it.
    await vocabulary.update_segment_label(runtime, labels["reach"].id, None, None, True)
    await segments.create_segment(runtime, anna, episode.id, SegmentDraft(labels["gaze"].id, 5, 12))
    # A label segments carry cannot be deleted.
    with pytest.raises(Conflict):
        await vocabulary.delete_segment_label(runtime, labels["reach"].id)


async def test_changes_are_published_to_open_sessions(runtime, world):
    _, episode, people, labels = world
    anna = people["anna"]
    live = await annotation_sessions.start_session(runtime, people["ben"], episode.id)
    async with runtime.events.subscribe(session_channel(live.id)) as messages:
        row = await segments.create_segment(runtime, anna, episode.id, SegmentDraft(labels["reach"].id, 0, 9))
        await segments.update_segment(
            runtime, anna, row.id, SegmentDraft(labels["reach"].id, 0, 8), expected_version=1
        )
        await segments.delete_segment(runtime, anna, row.id, expected_version=2)
        seen = []
        async with asyncio.timeout(10):  # a hang guard: the three messages end the wait
            async for message in messages:
                if message["kind"] == "SEGMENTS_CHANGED":
                    seen.append((message["action"], message["version"], message["segmentId"]))
                if len(seen) == 3:
                    break
    assert seen == [("CREATED", 1, row.id), ("UPDATED", 2, row.id), ("DELETED", 2, row.id)]


async def test_task_text_correction_keeps_the_original(runtime, world):
    _, episode, people, _ = world
    rita = people["rita"].user_id
    first = await task_text.correct_task_text(
        runtime, rita, episode.id, "place the red cube", expected_version=None
    )
    assert (first.text, first.original, first.version, first.corrected) == (
        "place the red cube",
        "place the cube",  # episode 1's task in the tiny dataset
        1,
        True,
    )
    second = await task_text.correct_task_text(
        runtime, rita, episode.id, "place the red cube left", expected_version=1
    )
    assert (second.text, second.original, second.version) == ("place the red cube left", "place the cube", 2)
    for stale in (None, 1):
        with pytest.raises(Conflict) as refused:
            await task_text.correct_task_text(runtime, rita, episode.id, "x", expected_version=stale)
        assert refused.value.field == "expected_version" and refused.value.details["currentVersion"] == 2
    with pytest.raises(BadUserInput) as empty:
        await task_text.correct_task_text(runtime, rita, episode.id, "  ", expected_version=2)
    assert empty.value.field == "text"
    stored = (await task_text.corrections_by_episodes(runtime, [episode.id]))[0]
    assert stored is not None and stored.original == "place the cube"
