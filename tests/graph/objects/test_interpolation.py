"""interpolateTrack: CVAT-style linear filling between keyframes, outside gaps, re-runs, edits."""

from __future__ import annotations

import pytest

from tests.conftest import gql, register
from tests.graph.objects_setup import CREATE, box, labelled_dataset, objects

INTERPOLATE = """mutation($episode: ID!, $track: String!) { interpolateTrack(episodeId: $episode, camera: "front",
  trackId: $track) { id frame source keyframe box { x y width height } } }"""
UPDATE = "mutation($input: UpdateObjectAnnotationInput!) { updateObjectAnnotation(input: $input) { keyframe source } }"


@pytest.fixture
async def episode(client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    return (await labelled_dataset(client))[1][0]


def by_frame(page: dict) -> dict[int, dict]:
    return {e["node"]["frame"]: e["node"] for e in page["edges"]}


async def test_fills_between_keyframes_and_not_across_an_outside_gap(client, episode):
    keys = [
        box(episode, 0, x=0, trackId="t"),
        box(episode, 10, x=20, w=10, trackId="t"),
        box(episode, 20, x=20, trackId="t", outside=True),
        box(episode, 30, x=0, trackId="t"),
        box(episode, 34, x=4, trackId="t"),
    ]
    await gql(client, CREATE, input=keys)
    made = (await gql(client, INTERPOLATE, episode=episode, track="t"))["data"]["interpolateTrack"]
    frames = [m["frame"] for m in made]
    assert frames == [*range(1, 10), *range(11, 20), 31, 32, 33]
    assert all(m["source"] == "INTERPOLATED" and not m["keyframe"] for m in made)
    at5 = next(m for m in made if m["frame"] == 5)
    assert at5["box"] == {"x": 10.0, "y": 5.0, "width": 15.0, "height": 30.0}
    page = await objects(client, episode, first=100)
    assert page["totalCount"] == 5 + len(made)
    assert by_frame(page)[20]["source"] == "MANUAL"


async def test_rerunning_replaces_interpolated_boxes_and_keeps_edited_ones(client, episode):
    await gql(client, CREATE, input=[box(episode, 0, x=0, trackId="t"), box(episode, 4, x=8, trackId="t")])
    first = (await gql(client, INTERPOLATE, episode=episode, track="t"))["data"]["interpolateTrack"]
    middle = next(m for m in first if m["frame"] == 2)
    edited = await gql(
        client,
        UPDATE,
        input={"id": middle["id"], "expectedVersion": 1, "box": {"x": 30, "y": 5, "width": 20, "height": 30}},
    )
    assert edited["data"]["updateObjectAnnotation"] == {"keyframe": True, "source": "MANUAL"}
    again = (await gql(client, INTERPOLATE, episode=episode, track="t"))["data"]["interpolateTrack"]
    assert [m["frame"] for m in again] == [1, 3]
    assert not {m["id"] for m in again} & {m["id"] for m in first}
    boxes = by_frame(await objects(client, episode))
    assert sorted(boxes) == [0, 1, 2, 3, 4]
    assert boxes[1]["box"]["x"] == 15.0 and boxes[3]["box"]["x"] == 19.0  # 0 -> 30 -> 8
    assert [boxes[f]["keyframe"] for f in range(5)] == [True, False, True, False, True]


async def test_an_unknown_track_is_not_found(client, episode):
    body = await gql(client, INTERPOLATE, episode=episode, track="nope")
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_an_annotator_cannot_replace_another_annotators_interpolated_boxes(
    client, runtime, app, episode
):
    from tests.conftest import http_client, make_user

    anna, bob = await make_user(runtime, "anna", "ANNOTATOR"), await make_user(runtime, "bob", "ANNOTATOR")
    async with http_client(app, anna) as a, http_client(app, bob) as b:
        await gql(a, CREATE, input=[box(episode, 0, x=0, trackId="t"), box(episode, 4, x=8, trackId="t")])
        made = (await gql(a, INTERPOLATE, episode=episode, track="t"))["data"]["interpolateTrack"]
        refused = await gql(b, INTERPOLATE, episode=episode, track="t")
        assert refused["errors"][0]["extensions"] == {"code": "FORBIDDEN", "field": "trackId"}
        deleted = await gql(
            b, "mutation($ids: [ID!]!) { deleteObjectAnnotations(ids: $ids) }", ids=[made[0]["id"]]
        )
        assert deleted["errors"][0]["extensions"]["code"] == "FORBIDDEN"  # the same rule on both paths
        page = await objects(client, episode, first=100)
        assert {e["node"]["id"] for e in page["edges"]} >= {m["id"] for m in made}  # nothing replaced
        again = await gql(a, INTERPOLATE, episode=episode, track="t")  # the owner may
        assert "errors" not in again, again
    reviewed = await gql(client, INTERPOLATE, episode=episode, track="t")  # and so may a reviewer (admin)
    assert "errors" not in reviewed, reviewed
