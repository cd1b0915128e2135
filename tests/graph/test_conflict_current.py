"""A version CONFLICT carries the object as a query answers it (graph/conflicts.py): for every versioned
type, `extensions.current` equals the object queried right after, in the type's camelCase shape with
the graph's ids, and `extensions.currentVersion` is its version."""

from __future__ import annotations

import re

import pytest

from graph.conflicts import current_query
from graph.schema import schema
from tests.conftest import gql, register
from tests.graph.objects_setup import CREATE, box, labelled_dataset

SNAKE = re.compile(r"^[a-z]+_[a-z_]+$")


def keys(value: object) -> set[str]:
    """Every key at any depth of a JSON value."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys(v)}
    return set()


async def queried(client, node_id: str, type_name: str, path: tuple[str, ...] = ()) -> object:
    """The object as a client's own query of it answers (the node reached by `path`)."""
    node_type = "Episode" if path else type_name
    body = await gql(client, current_query(schema._schema, node_type, path, type_name), id=node_id)
    assert "errors" not in body, body
    value = body["data"]["node"]
    for name in path:
        value = value[name]
    return value


def conflict(body: dict) -> dict:
    extensions = body["errors"][0]["extensions"]
    assert extensions["code"] == "CONFLICT" and extensions["field"].endswith("expectedVersion"), body
    current = extensions["current"]
    assert current is not None and not {k for k in keys(current) if SNAKE.match(k)}, current
    return extensions


@pytest.fixture
async def world(client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    return await labelled_dataset(client)


async def test_a_box_conflict_carries_the_box_as_queried(client, world):
    _, episodes = world
    made = await gql(client, CREATE, input=[box(episodes[0], 0, notes="first")])
    box_id = made["data"]["createObjectAnnotations"][0]["id"]
    update = (
        "mutation($input: UpdateObjectAnnotationInput!) { updateObjectAnnotation(input: $input) { version } }"
    )
    moved = await gql(client, update, input={"id": box_id, "expectedVersion": 1, "label": "cyclist"})
    assert moved["data"]["updateObjectAnnotation"]["version"] == 2
    stale = conflict(await gql(client, update, input={"id": box_id, "expectedVersion": 1, "notes": "x"}))
    assert stale["current"] == await queried(client, box_id, "ObjectAnnotation")
    assert stale["currentVersion"] == stale["current"]["version"] == 2
    current = stale["current"]
    assert current["id"] == box_id and current["label"]["name"] == "cyclist"
    assert current["box"] == {"x": 10.0, "y": 5.0, "width": 20.0, "height": 30.0}
    assert current["episode"] == {"id": episodes[0]} and "trackId" in current
    assert current["confidence"] == current["score"]  # the deprecated name, while the schema has it


async def test_an_episode_annotation_conflict_carries_the_annotation_as_queried(client, world):
    _, episodes = world
    save = "mutation($input: SaveEpisodeAnnotationInput!) { saveEpisodeAnnotation(input: $input) { id } }"
    draft = {
        "episodeId": episodes[0],
        "taskCompleteness": {"rating": "FAILURE", "certainty": 3, "failureReason": "dropped the cube"},
        "anomalies": [{"type": "DROP", "severity": "HIGH", "fromFrame": 4, "toFrame": 9}],
        "notes": "first look",
    }
    made = await gql(client, save, input=draft)
    annotation_id = made["data"]["saveEpisodeAnnotation"]["id"]
    blind = conflict(await gql(client, save, input={**draft, "notes": "mine"}))  # no expectedVersion
    assert blind["currentVersion"] == 1
    listed = await queried(client, episodes[0], "EpisodeAnnotation", ("annotations",))
    assert isinstance(listed, list) and blind["current"] == listed[0]
    current = blind["current"]
    assert current["id"] == annotation_id and current["notes"] == "first look"
    assert current["taskCompleteness"]["failureReason"] == "dropped the cube"
    assert current["anomalies"][0]["type"] == "DROP" and current["anomalies"][0]["fromFrame"] == 4
    stale = conflict(await gql(client, save, input={**draft, "expectedVersion": 7}))
    assert stale["current"] == listed[0]


async def test_episode_edits_conflict_carries_the_edits_as_queried(client, world):
    _, episodes = world
    save = "mutation($input: SaveEpisodeEditsInput!) { saveEpisodeEdits(input: $input) { version } }"
    edits = {"removedFrames": [5], "trimFrom": 0, "trimTo": 29}
    assert "errors" not in await gql(client, save, input={"episodeId": episodes[0], "edits": edits})
    stale = conflict(await gql(client, save, input={"episodeId": episodes[0], "edits": {}}))
    assert stale["current"] == await queried(client, episodes[0], "SavedEpisodeEdits", ("edits",))
    assert stale["currentVersion"] == 1 and stale["current"]["edits"]["removedFrames"] == [5]
    assert stale["current"]["edits"]["trimTo"] == 29


async def test_segment_conflicts_carry_the_segment_as_queried(client, world):
    dataset_id, episodes = world
    label = await gql(
        client,
        "mutation($input: CreateSegmentLabelInput!) { createSegmentLabel(input: $input) { id } }",
        input={"datasetId": dataset_id, "name": "reach"},
    )
    label_id = label["data"]["createSegmentLabel"]["id"]
    made = await gql(
        client,
        "mutation($input: CreateEpisodeSegmentInput!) { createEpisodeSegment(input: $input) { id } }",
        input={"episodeId": episodes[0], "labelId": label_id, "fromFrame": 3, "toFrame": 12},
    )
    segment_id = made["data"]["createEpisodeSegment"]["id"]
    update = (
        "mutation($input: UpdateEpisodeSegmentInput!) { updateEpisodeSegment(input: $input) { version } }"
    )
    change = {"id": segment_id, "labelId": label_id, "fromFrame": 3, "toFrame": 14}
    assert (await gql(client, update, input={**change, "expectedVersion": 1}))["data"]
    stale = conflict(await gql(client, update, input={**change, "toFrame": 20, "expectedVersion": 1}))
    as_queried = await queried(client, segment_id, "EpisodeSegment")
    assert stale["current"] == as_queried and stale["currentVersion"] == 2
    assert as_queried["toFrame"] == 14 and as_queried["label"] == {"id": label_id, "name": "reach"}
    delete = "mutation($id: ID!, $v: Int!) { deleteEpisodeSegment(id: $id, expectedVersion: $v) }"
    stale_delete = conflict(await gql(client, delete, id=segment_id, v=1))
    assert stale_delete["current"] == as_queried


async def test_a_task_text_conflict_carries_the_task_text_as_queried(client, world):
    _, episodes = world
    correct = """mutation($input: CorrectEpisodeTaskTextInput!) { correctEpisodeTaskText(input: $input)
      { version } }"""
    first = await gql(client, correct, input={"episodeId": episodes[0], "text": "pick the cube"})
    assert first["data"]["correctEpisodeTaskText"]["version"] == 1
    stale = conflict(await gql(client, correct, input={"episodeId": episodes[0], "text": "place it"}))
    assert stale["current"] == await queried(client, episodes[0], "EpisodeTaskText", ("taskText",))
    assert stale["currentVersion"] == 1 and stale["current"]["text"] == "pick the cube"
    assert stale["current"]["corrected"] is True and "correctedAt" in stale["current"]
