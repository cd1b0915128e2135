"""Boxes: batches that are all or nothing, generated tracks, filters, versions, review, permissions."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import gql, http_client, make_user, register
from tests.graph.objects_setup import CREATE, box, labelled_dataset, objects

UPDATE = """mutation($input: UpdateObjectAnnotationInput!) { updateObjectAnnotation(input: $input) {
  id version frame keyframe source review label { name } box { x y width height } } }"""
VALIDATE = """mutation($ids: [ID!]!, $validated: Boolean!, $reason: String) {
  validateObjectAnnotations(ids: $ids, validated: $validated, reason: $reason) {
    id review validated rejectReason reviewedAt reviewedBy { name } version } }"""
DELETE = "mutation($ids: [ID!]!) { deleteObjectAnnotations(ids: $ids) }"
REVIEW = """query($id: ID!) { node(id: $id) { ... on Episode { objectReview { total validated rejected pending }
  tracks { trackId camera firstFrame lastFrame boxCount keyframeCount label { name } }
  dataset { objectReview { total validated rejected pending } } } } }"""


@pytest.fixture
async def setup(client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    return await labelled_dataset(client)


async def test_labels_form_a_set_with_colours_and_parents(client, setup):
    dataset_id, _ = setup
    body = await gql(
        client,
        "query($id: ID!) { node(id: $id) { ... on Dataset { labels { name color parent { name } } } } }",
        id=dataset_id,
    )
    labels = body["data"]["node"]["labels"]
    assert [lab["name"] for lab in labels] == ["pedestrian", "vehicle", "cyclist"]
    assert labels[2]["parent"] == {"name": "vehicle"}
    assert all(lab["color"].startswith("#") and len(lab["color"]) == 7 for lab in labels)
    again = await gql(
        client,
        "mutation($input: CreateLabelInput!) { createLabel(input: $input) { id } }",
        input={"datasetId": dataset_id, "name": "pedestrian"},
    )
    assert again["errors"][0]["extensions"]["code"] == "CONFLICT"
    bad = await gql(
        client,
        "mutation($input: CreateLabelInput!) { createLabel(input: $input) { id } }",
        input={"datasetId": dataset_id, "name": "x", "color": "red"},
    )
    assert bad["errors"][0]["extensions"]["field"] == "input.color"


async def test_a_batch_is_created_with_generated_track_ids(client, setup):
    _, episodes = setup
    body = await gql(
        client,
        CREATE,
        input=[
            box(episodes[0], 0),
            box(episodes[0], 1, label="cyclist"),
            box(episodes[0], 2, trackId="ped-7"),
        ],
    )
    assert "errors" not in body, body
    made = body["data"]["createObjectAnnotations"]
    assert [m["trackId"] for m in made] == ["DET_PEDESTRIAN_0001", "DET_CYCLIST_0002", "ped-7"]
    assert all(m["version"] == 1 and m["review"] == "PENDING" and m["source"] == "MANUAL" for m in made)
    assert made[0]["box"] == {"x": 10.0, "y": 5.0, "width": 20.0, "height": 30.0}
    more = await gql(client, CREATE, input=[box(episodes[0], 3)])
    assert more["data"]["createObjectAnnotations"][0]["trackId"] == "DET_PEDESTRIAN_0003"


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"box": {"x": 50, "y": 0, "width": 20, "height": 10}}, "input[1].x"),  # past the right edge (64)
        ({"box": {"x": 0, "y": -1, "width": 5, "height": 10}}, "input[1].y"),
        ({"box": {"x": 0, "y": 0, "width": 0, "height": 10}}, "input[1].width"),
        ({"box": {"x": 0, "y": 0, "width": 5, "height": 0}}, "input[1].height"),
        ({"frame": 40}, "input[1].frame"),  # episode 0 has 40 frames
        ({"frame": -1}, "input[1].frame"),
        ({"camera": "rear"}, "input[1].camera"),
        ({"label": "dog"}, "input[1].label"),
        ({"score": 1.5}, "input[1].score"),
        ({"confidence": 1.5}, "input[1].score"),  # the deprecated name is checked as the new one
        ({"trackId": "has space"}, "input[1].trackId"),
    ],
)
async def test_a_bad_box_fails_the_whole_batch(client, setup, bad, field):
    _, episodes = setup
    body = await gql(client, CREATE, input=[box(episodes[0], 0), {**box(episodes[0], 1), **bad}])
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["extensions"]["field"] == field
    assert (await objects(client, episodes[0]))["totalCount"] == 0


async def test_one_track_keeps_one_label_and_one_box_per_frame(client, setup):
    _, episodes = setup
    await gql(client, CREATE, input=[box(episodes[0], 0, trackId="t1")])
    relabel = await gql(client, CREATE, input=[box(episodes[0], 1, trackId="t1", label="cyclist")])
    assert relabel["errors"][0]["extensions"]["field"] == "input[0].label"
    twice = await gql(client, CREATE, input=[box(episodes[0], 0, trackId="t1")])
    assert twice["errors"][0]["extensions"]["field"] == "input[0].frame"
    assert (await objects(client, episodes[0]))["totalCount"] == 1


async def test_objects_filter_and_page(client, setup):
    _, episodes = setup
    batch = [box(episodes[0], f, trackId="a") for f in range(0, 10)]
    batch += [box(episodes[0], f, trackId="b", label="cyclist", x=30) for f in range(5, 8)]
    batch += [box(episodes[1], 0)]
    await gql(client, CREATE, input=batch)
    assert (await objects(client, episodes[0]))["totalCount"] == 13
    assert (await objects(client, episodes[0], frame=6))["totalCount"] == 2
    assert (await objects(client, episodes[0], **{"from": 7, "to": 9}))["totalCount"] == 4
    assert (await objects(client, episodes[0], track="b"))["totalCount"] == 3
    assert (await objects(client, episodes[0], label="cyclist"))["totalCount"] == 3
    assert (await objects(client, episodes[0], label="nobody"))["totalCount"] == 0
    assert (await objects(client, episodes[0], source="MANUAL"))["totalCount"] == 13
    assert (await objects(client, episodes[0], validated=True))["totalCount"] == 0
    seen, after = [], None
    while True:
        page = await objects(client, episodes[0], first=4, after=after)
        seen += [(e["node"]["frame"], e["node"]["trackId"]) for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == 13 and seen == sorted(seen)


async def test_update_needs_the_current_version(client, setup):
    _, episodes = setup
    made = (await gql(client, CREATE, input=[box(episodes[0], 0)]))["data"]["createObjectAnnotations"][0]
    moved = await gql(
        client,
        UPDATE,
        input={"id": made["id"], "expectedVersion": 1, "box": {"x": 1, "y": 2, "width": 3, "height": 4}},
    )
    assert moved["data"]["updateObjectAnnotation"]["version"] == 2
    stale = await gql(client, UPDATE, input={"id": made["id"], "expectedVersion": 1, "frame": 3})
    error = stale["errors"][0]["extensions"]
    assert error["code"] == "CONFLICT" and error["currentVersion"] == 2
    assert error["current"]["box"]["x"] == 1.0 and error["current"]["label"]["name"] == "pedestrian"
    outside = await gql(
        client,
        UPDATE,
        input={"id": made["id"], "expectedVersion": 2, "box": {"x": 60, "y": 0, "width": 10, "height": 4}},
    )
    assert outside["errors"][0]["extensions"]["field"] == "input.x"
    page = await objects(client, episodes[0])
    assert page["edges"][0]["node"]["box"] == {"x": 1.0, "y": 2.0, "width": 3.0, "height": 4.0}


async def test_concurrent_updates_lose_nothing(client, setup):
    _, episodes = setup
    made = (await gql(client, CREATE, input=[box(episodes[0], 0)]))["data"]["createObjectAnnotations"][0]
    answers = await asyncio.gather(
        *(
            gql(
                client,
                UPDATE,
                input={
                    "id": made["id"],
                    "expectedVersion": 1,
                    "box": {"x": i, "y": 0, "width": 1, "height": 1},
                },
            )
            for i in range(8)
        )
    )
    accepted = [a for a in answers if "errors" not in a]
    assert len(accepted) == 1
    assert all(a["errors"][0]["extensions"]["code"] == "CONFLICT" for a in answers if "errors" in a)
    x = accepted[0]["data"]["updateObjectAnnotation"]["box"]["x"]
    assert (await objects(client, episodes[0]))["edges"][0]["node"]["box"]["x"] == x


async def test_review_counts_and_rejection_reason(client, setup):
    _, episodes = setup
    made = (await gql(client, CREATE, input=[box(episodes[0], f) for f in range(4)]))["data"][
        "createObjectAnnotations"
    ]
    ids = [m["id"] for m in made]
    ok = await gql(client, VALIDATE, ids=ids[:2], validated=True)
    assert [r["review"] for r in ok["data"]["validateObjectAnnotations"]] == ["VALIDATED", "VALIDATED"]
    assert ok["data"]["validateObjectAnnotations"][0]["reviewedBy"] == {"name": "admin"}
    no_reason = await gql(client, VALIDATE, ids=ids[2:3], validated=False)
    assert no_reason["errors"][0]["extensions"]["field"] == "reason"
    rejected = await gql(client, VALIDATE, ids=ids[2:3], validated=False, reason="not a person")
    assert rejected["data"]["validateObjectAnnotations"][0]["rejectReason"] == "not a person"
    missing = await gql(client, VALIDATE, ids=[ids[3], "T2JqZWN0QW5ub3RhdGlvbjo5OTk5"], validated=True)
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    body = await gql(client, REVIEW, id=episodes[0])
    node = body["data"]["node"]
    assert node["objectReview"] == {"total": 4, "validated": 2, "rejected": 1, "pending": 1}
    assert node["dataset"]["objectReview"] == node["objectReview"]
    assert (await objects(client, episodes[0], validated=True))["totalCount"] == 2
    # An edit sends a validated box back to review.
    edited = await gql(client, UPDATE, input={"id": ids[0], "expectedVersion": 2, "occluded": True})
    assert edited["data"]["updateObjectAnnotation"]["review"] == "PENDING"


async def test_tracks_are_listed_with_their_extent(client, setup):
    _, episodes = setup
    await gql(
        client, CREATE, input=[box(episodes[0], f, trackId="a", keyframe=f % 2 == 0) for f in range(3, 8)]
    )
    tracks = (await gql(client, REVIEW, id=episodes[0]))["data"]["node"]["tracks"]
    assert tracks == [
        {
            "trackId": "a",
            "camera": "front",
            "firstFrame": 3,
            "lastFrame": 7,
            "boxCount": 5,
            "keyframeCount": 2,
            "label": {"name": "pedestrian"},
        }
    ]


async def test_annotators_change_only_their_own_unvalidated_boxes(app, runtime, client, setup):
    _, episodes = setup
    anna = await make_user(runtime, "anna", "ANNOTATOR")
    bob = await make_user(runtime, "bob", "ANNOTATOR")
    viewer = await make_user(runtime, "vic", "VIEWER")
    async with http_client(app, anna) as a, http_client(app, bob) as b, http_client(app, viewer) as v:
        mine = (await gql(a, CREATE, input=[box(episodes[0], 0), box(episodes[0], 1)]))["data"][
            "createObjectAnnotations"
        ]
        assert (await gql(v, CREATE, input=[box(episodes[0], 2)]))["errors"][0]["extensions"][
            "code"
        ] == "FORBIDDEN"
        theirs = await gql(b, UPDATE, input={"id": mine[0]["id"], "expectedVersion": 1, "frame": 5})
        assert theirs["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert (await gql(b, DELETE, ids=[mine[0]["id"]]))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert (await gql(a, VALIDATE, ids=[mine[0]["id"]], validated=True))["errors"][0]["extensions"][
            "code"
        ] == "FORBIDDEN"
        await gql(client, VALIDATE, ids=[mine[1]["id"]], validated=True)
        locked = await gql(a, UPDATE, input={"id": mine[1]["id"], "expectedVersion": 2, "frame": 5})
        assert locked["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert (await gql(a, DELETE, ids=[mine[0]["id"]]))["data"]["deleteObjectAnnotations"] == 1
    assert (await gql(client, DELETE, ids=[mine[1]["id"], mine[0]["id"]]))["data"][
        "deleteObjectAnnotations"
    ] == 1
    assert (await objects(client, episodes[0]))["totalCount"] == 0
