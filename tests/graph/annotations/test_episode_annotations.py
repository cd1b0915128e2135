"""saveEpisodeAnnotation / deleteEpisodeAnnotation: content, validation, versions, permissions."""

from __future__ import annotations

import asyncio

import h5py
import pytest
from strawberry.relay import GlobalID

from domain.annotations import service as episode_annotations
from tests.conftest import gql, http_client, make_user, register

SAVE = """mutation($input: SaveEpisodeAnnotationInput!) { saveEpisodeAnnotation(input: $input) {
  id version notes annotator { name }
  taskCompleteness { rating certainty completion failureReason subtaskReached }
  trajectoryQuality { smoothness efficiency safety precision }
  dataQuality { videoQuality syncIssues missingFrames notes }
  anomalies { type severity fromFrame toFrame fromTime toTime description autoDetected verified } } }"""


def payload(episode_id: str, **overrides) -> dict:
    base = {
        "episodeId": episode_id,
        "taskCompleteness": {
            "rating": "PARTIAL",
            "certainty": 4,
            "completion": 60.0,
            "failureReason": "dropped the cube",
            "subtaskReached": "grasp",
        },
        "trajectoryQuality": {"smoothness": 4, "efficiency": 3, "safety": 5, "precision": 2},
        "dataQuality": {"videoQuality": 5, "syncIssues": False, "missingFrames": True, "notes": "ok"},
        "anomalies": [
            {"type": "DROP", "severity": "HIGH", "fromFrame": 10, "toFrame": 20, "description": "cube fell"}
        ],
        "notes": "first look",
    }
    base.update(overrides)
    return base


@pytest.fixture
async def episode_id(client, runtime, tiny_dataset) -> str:
    await register(runtime, tiny_dataset)
    body = await gql(client, "{ datasets { edges { node { episode(index: 1) { id } } } } }")
    return body["data"]["datasets"]["edges"][0]["node"]["episode"]["id"]


@pytest.fixture
async def annotator(app, runtime):
    async with http_client(app, await make_user(runtime, "anna", "ANNOTATOR")) as c:
        yield c


async def test_save_creates_version_one_with_derived_times(annotator, episode_id, tiny_dataset):
    # Timestamps that are not frame / fps, so the times must come from the file.
    path = tiny_dataset / "episodes" / "episode_000001.hdf5"
    with h5py.File(path, "r+") as f:
        f["timestamp"][:] = f["timestamp"][:] * 2 + 100
    body = await gql(annotator, SAVE, input=payload(episode_id))
    assert "errors" not in body, body
    saved = body["data"]["saveEpisodeAnnotation"]
    assert saved["version"] == 1 and saved["annotator"]["name"] == "anna"
    assert saved["taskCompleteness"] == {
        "rating": "PARTIAL",
        "certainty": 4,
        "completion": 60.0,
        "failureReason": "dropped the cube",
        "subtaskReached": "grasp",
    }
    assert saved["trajectoryQuality"] == {"smoothness": 4, "efficiency": 3, "safety": 5, "precision": 2}
    assert saved["dataQuality"]["missingFrames"] is True
    anomaly = saved["anomalies"][0]
    assert (anomaly["fromFrame"], anomaly["toFrame"]) == (10, 20)
    assert anomaly["fromTime"] == pytest.approx(10 / 30 * 2 + 100)
    assert anomaly["toTime"] == pytest.approx(20 / 30 * 2 + 100)


async def test_no_blind_overwrite_and_stale_versions_conflict(annotator, episode_id):
    await gql(annotator, SAVE, input=payload(episode_id))
    blind = await gql(annotator, SAVE, input=payload(episode_id, notes="overwrite"))
    error = blind["errors"][0]
    assert error["extensions"]["code"] == "CONFLICT"
    assert error["extensions"]["currentVersion"] == 1
    assert error["extensions"]["current"]["notes"] == "first look"
    second = await gql(annotator, SAVE, input=payload(episode_id, notes="second", expectedVersion=1))
    assert second["data"]["saveEpisodeAnnotation"]["version"] == 2
    stale = await gql(annotator, SAVE, input=payload(episode_id, notes="stale", expectedVersion=1))
    assert stale["errors"][0]["extensions"]["currentVersion"] == 2
    assert stale["errors"][0]["extensions"]["current"]["notes"] == "second"
    assert stale["errors"][0]["extensions"]["field"] == "input.expectedVersion"
    body = await gql(
        annotator,
        "query($id: ID!) { node(id: $id) { ... on Episode { myAnnotation { version notes } } } }",
        id=episode_id,
    )
    assert body["data"]["node"]["myAnnotation"] == {"version": 2, "notes": "second"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"taskCompleteness": {"rating": "SUCCESS", "certainty": 6}}, "input.taskCompleteness.certainty"),
        # the deprecated name is checked as the new one
        ({"taskCompleteness": {"rating": "SUCCESS", "confidence": 6}}, "input.taskCompleteness.certainty"),
        ({"taskCompleteness": {"rating": "SUCCESS", "completion": 101}}, "input.taskCompleteness.completion"),
        ({"trajectoryQuality": {"smoothness": 0}}, "input.trajectoryQuality.smoothness"),
        ({"dataQuality": {"videoQuality": 9}}, "input.dataQuality.videoQuality"),
        (
            {"anomalies": [{"type": "SLIP", "severity": "LOW", "fromFrame": 5, "toFrame": 50}]},
            "input.anomalies[0].toFrame",
        ),
        (
            {"anomalies": [{"type": "SLIP", "severity": "LOW", "fromFrame": -1, "toFrame": 3}]},
            "input.anomalies[0].fromFrame",
        ),
        (
            {
                "anomalies": [
                    {"type": "SLIP", "severity": "LOW", "fromFrame": 1, "toFrame": 3},
                    {"type": "SLIP", "severity": "LOW", "fromFrame": 9, "toFrame": 4},
                ]
            },
            "input.anomalies[1].toFrame",
        ),
        ({"taskCompleteness": {"rating": "MAYBE"}}, "input.taskCompleteness.rating"),
        (
            {"anomalies": [{"type": "EXPLOSION", "severity": "LOW", "fromFrame": 1, "toFrame": 3}]},
            "input.anomalies[0].type",
        ),
    ],
)
async def test_bad_values_name_the_field_and_write_nothing(annotator, runtime, episode_id, change, field):
    body = await gql(annotator, SAVE, input=payload(episode_id, **change))
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
    assert body["errors"][0]["extensions"]["field"] == field
    rows = await episode_annotations.annotations_by_episodes(
        runtime, [int(GlobalID.from_id(episode_id).node_id)]
    )
    assert rows == [[]]


async def test_who_may_edit_whose(app, runtime, annotator, client, episode_id):
    anna = await gql(annotator, SAVE, input=payload(episode_id))
    anna_id = (await gql(annotator, "{ viewer { id } }"))["data"]["viewer"]["id"]
    async with http_client(app, await make_user(runtime, "bob", "ANNOTATOR")) as bob:
        body = await gql(bob, SAVE, input=payload(episode_id, annotatorId=anna_id, expectedVersion=1))
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        deleted = await gql(
            bob,
            "mutation($e: ID!, $a: ID) { deleteEpisodeAnnotation(episodeId: $e, annotatorId: $a) }",
            e=episode_id,
            a=anna_id,
        )
        assert deleted["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    async with http_client(app, await make_user(runtime, "vic", "VIEWER")) as viewer:
        body = await gql(viewer, SAVE, input=payload(episode_id))
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    async with http_client(app, await make_user(runtime, "rita", "REVIEWER")) as reviewer:
        edited = await gql(
            reviewer, SAVE, input=payload(episode_id, annotatorId=anna_id, expectedVersion=1, notes="fixed")
        )
        saved = edited["data"]["saveEpisodeAnnotation"]
        assert saved["version"] == 2 and saved["annotator"]["name"] == "anna" and saved["notes"] == "fixed"
        deleted = await gql(
            reviewer,
            "mutation($e: ID!, $a: ID) { deleteEpisodeAnnotation(episodeId: $e, annotatorId: $a) }",
            e=episode_id,
            a=anna_id,
        )
        assert deleted["data"]["deleteEpisodeAnnotation"] is True
    assert anna["data"]["saveEpisodeAnnotation"]["version"] == 1
    again = await gql(annotator, "mutation($e: ID!) { deleteEpisodeAnnotation(episodeId: $e) }", e=episode_id)
    assert again["data"]["deleteEpisodeAnnotation"] is False
    listed = await gql(
        client, "query($id: ID!) { node(id: $id) { ... on Episode { annotations { id } } } }", id=episode_id
    )
    assert listed["data"]["node"]["annotations"] == []


async def test_concurrent_saves_lose_nothing(app, runtime, episode_id):
    """200 saves from 8 clients at once against one annotation: each accepted save raised the
    version by exactly one, and every accepted content is kept (as a revision) under its version."""
    anna_token = await make_user(runtime, "anna2", "ANNOTATOR")
    rita_token = await make_user(runtime, "rita2", "REVIEWER")
    async with http_client(app, anna_token) as first:
        created = await gql(first, SAVE, input=payload(episode_id, notes="seed", anomalies=[]))
        anna_id = (await gql(first, "{ viewer { id } }"))["data"]["viewer"]["id"]
    accepted: dict[int, str] = {1: "seed"}
    rejected = 0

    async def client_saves(number: int) -> None:
        nonlocal rejected
        token = anna_token if number % 2 else rita_token  # the annotator and a reviewer, 4 clients each
        version = 1
        async with http_client(app, token) as client:
            for i in range(25):
                label = f"client{number}-save{i}"
                body = await gql(
                    client,
                    SAVE,
                    input=payload(
                        episode_id, notes=label, anomalies=[], expectedVersion=version, annotatorId=anna_id
                    ),
                )
                if "errors" in body:
                    assert body["errors"][0]["extensions"]["code"] == "CONFLICT", body
                    version = body["errors"][0]["extensions"]["currentVersion"]  # lost the race: catch up
                    rejected += 1
                    continue
                new = body["data"]["saveEpisodeAnnotation"]["version"]
                assert new == version + 1 and new not in accepted
                accepted[new] = label
                version = new

    await asyncio.gather(*(client_saves(n) for n in range(8)))
    assert len(accepted) - 1 + rejected == 200
    assert sorted(accepted) == list(range(1, len(accepted) + 1))  # no gaps, no duplicates
    annotation_id = int(GlobalID.from_id(created["data"]["saveEpisodeAnnotation"]["id"]).node_id)
    revisions = await episode_annotations.revisions(runtime, annotation_id)
    assert {r.version: r.content.notes for r in revisions} == accepted
    (row,) = await episode_annotations.annotations_by_ids(runtime, [annotation_id])
    assert row.version == len(accepted) and row.notes == accepted[row.version]
    assert rejected > 0 and len(accepted) > 25  # they really raced, and more than one client won


async def test_saves_commit_while_the_broadcaster_is_down(annotator, runtime, episode_id, monkeypatch):
    from persistence.events import EventHub

    monkeypatch.setattr(runtime, "events", EventHub("redis://127.0.0.1:1/0"))  # nothing listens there
    body = await gql(annotator, SAVE, input=payload(episode_id))
    assert body["data"]["saveEpisodeAnnotation"]["version"] == 1
    again = await gql(annotator, SAVE, input=payload(episode_id, expectedVersion=1, notes="still here"))
    assert again["data"]["saveEpisodeAnnotation"]["notes"] == "still here"
