"""Validation projects through the graph: create, update, criteria, archive, link, suggest, delete."""

from __future__ import annotations

from tests.conftest import gql, http_client, make_user, register
from tests.graph.objects_setup import labelled_dataset
from tests.graph.validation_setup import LINK, PROJECT, ground_truth, project_with_episodes

PROJECTS = """query($status: ProjectStatus) { projects(status: $status) { totalCount edges { node { id name status
  owner { name } episodeCount } } } }"""
SUGGEST = """query($p: ID!) { suggestEpisodes(projectId: $p) { validatedBoxes episode { id index } } }"""
UNLINK = """mutation($p: ID!, $e: [ID!]!) { unlinkEpisodes(projectId: $p, episodeIds: $e) { changed
  project { episodeCount } } }"""


async def test_a_project_is_created_with_labels_and_criteria_and_listed(client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    made = await gql(
        client,
        PROJECT,
        input={
            "name": "grasp detector",
            "labels": ["cube", "hand"],
            "criteria": {"minPrecision": 0.8, "maxP95LatencyMs": 50},
        },
    )
    project = made["data"]["createProject"]
    assert project["status"] == "ACTIVE" and project["labels"] == ["cube", "hand"] and project["version"] == 1
    assert project["criteria"] == {
        "minPrecision": 0.8,
        "minRecall": None,
        "minF1": None,
        "minAp50": None,
        "maxP95LatencyMs": 50.0,
        "matchIou": 0.5,
    }
    listed = (await gql(client, PROJECTS))["data"]["projects"]
    assert listed["totalCount"] == 1
    assert listed["edges"][0]["node"] == {
        "id": project["id"],
        "name": "grasp detector",
        "status": "ACTIVE",
        "owner": {"name": "admin"},
        "episodeCount": 0,
    }


async def test_bad_project_input_names_the_field_and_writes_nothing(client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    cases = [
        ({"name": "x", "criteria": {"minRecall": 1.5}}, "input.criteria.minRecall"),
        ({"name": "x", "criteria": {"matchIou": 0}}, "input.criteria.matchIou"),
        ({"name": "x", "criteria": {"iouThreshold": 0}}, "input.criteria.matchIou"),  # deprecated name
        ({"name": "x", "criteria": {"matchIou": 0.5, "iouThreshold": 0.6}}, "input.criteria.matchIou"),
        ({"name": "x", "criteria": {"maxP95LatencyMs": -1}}, "input.criteria.maxP95LatencyMs"),
        ({"name": "x", "labels": ["a", "a"]}, "input.labels[1]"),
        ({"name": "  "}, "input.name"),
    ]
    for value, field in cases:
        body = await gql(client, PROJECT, input=value)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
        assert body["errors"][0]["extensions"]["field"] == field
    assert (await gql(client, PROJECTS))["data"]["projects"]["totalCount"] == 0
    await gql(client, PROJECT, input={"name": "one"})
    twice = await gql(client, PROJECT, input={"name": "one"})
    assert twice["errors"][0]["extensions"]["code"] == "CONFLICT"


async def test_update_criteria_and_archive(client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    pid = (await gql(client, PROJECT, input={"name": "p"}))["data"]["createProject"]["id"]
    updated = await gql(
        client,
        """mutation($i: UpdateProjectInput!) { updateProject(input: $i) { name description
      labels version } }""",
        i={"id": pid, "name": "q", "description": "why", "labels": ["cube"]},
    )
    assert updated["data"]["updateProject"] == {
        "name": "q",
        "description": "why",
        "labels": ["cube"],
        "version": 2,
    }
    criteria = await gql(
        client,
        """mutation($p: ID!, $c: PassFailCriteriaInput!) { setPassFailCriteria(projectId: $p,
      criteria: $c) { criteria { minF1 matchIou iouThreshold } version } }""",
        p=pid,
        c={"minF1": 0.5, "iouThreshold": 0.6},  # the deprecated names, in and out, for one release
    )
    assert criteria["data"]["setPassFailCriteria"] == {
        "criteria": {"minF1": 0.5, "matchIou": 0.6, "iouThreshold": 0.6},
        "version": 3,
    }
    archived = await gql(client, "mutation($id: ID!) { archiveProject(id: $id) { status } }", id=pid)
    assert archived["data"]["archiveProject"]["status"] == "ARCHIVED"
    assert (await gql(client, PROJECTS, status="ACTIVE"))["data"]["projects"]["totalCount"] == 0
    assert (await gql(client, PROJECTS, status="ARCHIVED"))["data"]["projects"]["totalCount"] == 1


async def test_linking_twice_is_idempotent_and_unlinking_keeps_episodes(client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    pid, episodes, _ = await project_with_episodes(client)
    again = await gql(client, LINK, p=pid, e=episodes[:2], r="again")
    assert again["data"]["linkEpisodes"]["changed"] == 0
    assert again["data"]["linkEpisodes"]["project"]["episodeCount"] == 3
    unlinked = await gql(client, UNLINK, p=pid, e=[episodes[0]])
    assert unlinked["data"]["unlinkEpisodes"] == {"changed": 1, "project": {"episodeCount": 2}}
    missing = await gql(client, LINK, p=pid, e=[episodes[0].replace("=", "") + "x"])
    assert "errors" in missing
    count = await gql(client, "{ datasets { edges { node { episodeCount } } } }")
    assert count["data"]["datasets"]["edges"][0]["node"]["episodeCount"] == 3


async def test_suggestions_rank_unlinked_episodes_by_validated_ground_truth(client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    _, episodes = await labelled_dataset(client)
    pid = (await gql(client, PROJECT, input={"name": "p", "labels": ["pedestrian"]}))["data"][
        "createProject"
    ]["id"]
    await ground_truth(client, episodes[0], [(0, "pedestrian", 1, 1, 5, 5)])
    await ground_truth(client, episodes[1], [(f, "pedestrian", 1, 1, 5, 5) for f in range(3)])
    await ground_truth(
        client, episodes[1], [(f, "vehicle", 1, 1, 5, 5) for f in range(5)]
    )  # not the project's
    await ground_truth(
        client, episodes[2], [(f, "pedestrian", 1, 1, 5, 5) for f in range(9)], validated=False
    )
    found = (await gql(client, SUGGEST, p=pid))["data"]["suggestEpisodes"]
    assert [(s["episode"]["id"], s["validatedBoxes"]) for s in found] == [(episodes[1], 3), (episodes[0], 1)]
    await gql(client, LINK, p=pid, e=[episodes[1]])
    found = (await gql(client, SUGGEST, p=pid))["data"]["suggestEpisodes"]
    assert [s["episode"]["id"] for s in found] == [episodes[0]]


async def test_deleting_a_project_keeps_episodes_and_boxes(client, runtime, app, tiny_dataset):
    await register(runtime, tiny_dataset)
    pid, episodes, _ = await project_with_episodes(client)
    await ground_truth(client, episodes[0], [(0, "pedestrian", 1, 1, 5, 5)])
    reviewer = await make_user(runtime, "rita", "REVIEWER")
    async with http_client(app, reviewer) as other:
        refused = await gql(other, "mutation($id: ID!) { deleteProject(id: $id) }", id=pid)
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    annotator = await make_user(runtime, "ann", "ANNOTATOR")
    async with http_client(app, annotator) as other:
        refused = await gql(other, PROJECT, input={"name": "mine"})
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await gql(client, "mutation($id: ID!) { deleteProject(id: $id) }", id=pid))["data"][
        "deleteProject"
    ]
    assert not (await gql(client, "mutation($id: ID!) { deleteProject(id: $id) }", id=pid))["data"][
        "deleteProject"
    ]
    body = await gql(
        client,
        """query($id: ID!) { node(id: $id) { ... on Episode { objects { totalCount } } } }""",
        id=episodes[0],
    )
    assert body["data"]["node"]["objects"]["totalCount"] == 1


async def test_a_project_holds_bounded_text_and_labels(client):
    huge = await gql(client, PROJECT, input={"name": "p", "description": "x" * 900_000})
    assert huge["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.description"}
    many = await gql(client, PROJECT, input={"name": "p", "labels": [f"l{i}" for i in range(50_000)]})
    assert many["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.labels"}
    fine = await gql(
        client,
        PROJECT,
        input={"name": "p", "description": "line one\nline two", "labels": [f"l{i}" for i in range(1000)]},
    )
    assert "errors" not in fine, fine
