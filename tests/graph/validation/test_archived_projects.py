"""An archived project is read only: every write to it is CONFLICT naming the argument and changes
nothing, until it is reactivated; it can still be deleted. A project whose test session runs cannot be
archived (the session would go on writing into it)."""

from __future__ import annotations

import json

from tests.conftest import gql, register
from tests.graph.validation_setup import LINK, project_with_episodes

ARCHIVE = "mutation($id: ID!, $a: Boolean!) { archiveProject(id: $id, archived: $a) { status version } }"
SESSION = """mutation($p: ID!, $e: [ID!]) { createTestSession(input: {projectId: $p, name: "s", source: EXTERNAL,
  episodeIds: $e}) { id status } }"""
START = "mutation($id: ID!) { startTestSession(id: $id) { status } }"
STOP = "mutation($id: ID!) { stopTestSession(id: $id) { status } }"
STATE = """query($id: ID!) { node(id: $id) { ... on Project { name description labels version status episodeCount
  criteria { minF1 } testSessions { id status } } } }"""


def refused(body: dict, field: str) -> None:
    error = body["errors"][0]
    assert error["extensions"] == {"code": "CONFLICT", "field": field}, body
    assert "archived" in error["message"] and "reactivate" in error["message"], error["message"]


async def upload_into(client, project: str) -> dict:
    query = 'mutation($f: Upload!, $p: ID) { uploadVideo(file: $f, name: "v", projectId: $p) { id } }'
    operations = {"query": query, "variables": {"f": None, "p": project}}
    response = await client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.f"]})},
        files={"0": ("v.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64, "video/mp4")},
    )
    return response.json()


async def test_every_write_to_an_archived_project_is_refused(client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    project, episodes, _ = await project_with_episodes(client, criteria={"minF1": 0.5})
    waiting = (await gql(client, SESSION, p=project, e=episodes[:1]))["data"]["createTestSession"]["id"]
    running = (await gql(client, SESSION, p=project, e=episodes[:1]))["data"]["createTestSession"]["id"]
    assert (await gql(client, START, id=running))["data"]["startTestSession"]["status"] == "RUNNING"

    busy = await gql(client, ARCHIVE, id=project, a=True)
    assert busy["errors"][0]["extensions"] == {"code": "CONFLICT", "field": "id"}
    assert "running test sessions" in busy["errors"][0]["message"]
    assert (await gql(client, STOP, id=running))["data"]["stopTestSession"]["status"] == "STOPPED"
    archived = (await gql(client, ARCHIVE, id=project, a=True))["data"]["archiveProject"]
    assert archived["status"] == "ARCHIVED"
    before = (await gql(client, STATE, id=project))["data"]["node"]

    refused(
        await gql(
            client,
            "mutation($i: UpdateProjectInput!) { updateProject(input: $i) { name } }",
            i={"id": project, "name": "renamed", "labels": ["x"]},
        ),
        "input.id",
    )
    refused(
        await gql(
            client,
            "mutation($p: ID!) { setPassFailCriteria(projectId: $p, criteria: {minF1: 0.9}) { version } }",
            p=project,
        ),
        "projectId",
    )
    refused(await gql(client, LINK, p=project, e=episodes, r="more"), "projectId")
    refused(
        await gql(
            client,
            "mutation($p: ID!, $e: [ID!]!) { unlinkEpisodes(projectId: $p, episodeIds: $e) { changed } }",
            p=project,
            e=episodes[:1],
        ),
        "projectId",
    )
    refused(await gql(client, SESSION, p=project, e=episodes[:1]), "input.projectId")
    refused(await gql(client, START, id=waiting), "id")
    refused(await upload_into(client, project), "projectId")
    assert (await gql(client, STATE, id=project))["data"]["node"] == before  # nothing changed
    datasets = await gql(client, "{ datasets { totalCount } }")
    assert datasets["data"]["datasets"]["totalCount"] == 1  # the refused video left nothing

    again = (await gql(client, ARCHIVE, id=project, a=True))["data"]["archiveProject"]
    assert again == archived  # archiving twice changes nothing
    active = (await gql(client, ARCHIVE, id=project, a=False))["data"]["archiveProject"]
    assert active["status"] == "ACTIVE"
    assert (await gql(client, START, id=waiting))["data"]["startTestSession"]["status"] == "RUNNING"
    renamed = await gql(
        client,
        "mutation($i: UpdateProjectInput!) { updateProject(input: $i) { name } }",
        i={"id": project, "name": "r"},
    )
    assert renamed["data"]["updateProject"]["name"] == "r"


async def test_an_archived_project_can_still_be_deleted(client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    project, _, _ = await project_with_episodes(client)
    assert "errors" not in await gql(client, ARCHIVE, id=project, a=True)
    assert (await gql(client, "mutation($id: ID!) { deleteProject(id: $id) }", id=project))["data"][
        "deleteProject"
    ]
    assert (await gql(client, "{ projects { totalCount } }"))["data"]["projects"]["totalCount"] == 0
