"""A field a caller may not see is null on its own, with a FORBIDDEN error at its path; everything
else in the answer stays readable. Checked for every guarded field the schema has, and by asking."""

from __future__ import annotations

import base64

from graphql import GraphQLNonNull
from strawberry.types.base import StrawberryObjectDefinition

from graph.permissions import IsViewer
from graph.schema import schema
from tests.conftest import gql, http_client, make_user, register
from tests.graph.test_permissions import _permissions


def _guarded_fields() -> list[tuple[str, str, list]]:
    """(type, field, permission classes) of every field guarded by more than IsViewer, outside the
    Mutation and Subscription roots (a refused mutation or subscription is the whole answer)."""
    out = []
    for name, concrete in schema.schema_converter.type_map.items():
        definition = concrete.definition
        if not isinstance(definition, StrawberryObjectDefinition) or name in ("Mutation", "Subscription"):
            continue
        for field in definition.fields:
            classes = [c if isinstance(c, type) else type(c) for c in _permissions(field)]
            if any(c is not IsViewer for c in classes):
                out.append((name, schema.config.name_converter.from_field(field), classes))
    return out


def test_every_field_guarded_beyond_viewer_is_nullable():
    guarded = _guarded_fields()
    names = {(t, f) for t, f, _ in guarded}
    assert {("Job", "parameters"), ("Dataset", "path"), ("User", "tokens"), ("Query", "users")} <= names
    graphql_schema = schema._schema
    non_null = [
        (t, f) for t, f, _ in guarded if isinstance(graphql_schema.get_type(t).fields[f].type, GraphQLNonNull)
    ]
    assert non_null == [], "a caller refused one of these loses the whole parent object"


def gid(type_name: str, key: int) -> str:
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


def forbidden_paths(body: dict) -> list[list]:
    assert all(e["extensions"]["code"] == "FORBIDDEN" for e in body.get("errors", [])), body
    return [e["path"] for e in body.get("errors", [])]


async def test_an_annotator_reads_the_analysis_history_without_its_parameters(
    app, client, runtime, tiny_dataset
):
    dataset = gid("Dataset", await register(runtime, tiny_dataset))
    started = await gql(
        client,
        "mutation($d: ID!) { runAnalysis(input: {datasetId: $d, kind: TRAJECTORY_METRICS}) { id } }",
        d=dataset,
    )
    job = int(base64.b64decode(started["data"]["runAnalysis"]["id"]).decode().split(":")[1])
    assert (await runtime.jobs.wait(job)).status == "COMPLETED"
    query = """query($d: ID!) { node(id: $d) { ... on Dataset { name path
      analyses(kind: TRAJECTORY_METRICS) { runs { version status parameters summary } latest { version parameters } }
    } } }"""
    admin = await gql(client, query, d=dataset)
    assert "errors" not in admin and admin["data"]["node"]["analyses"]["runs"][0]["parameters"]["kind"]
    async with http_client(app, await make_user(runtime, "ann", "ANNOTATOR")) as annotator:
        body = await gql(annotator, query, d=dataset)
    node = body["data"]["node"]
    assert node["name"] == "tiny" and node["path"] is None
    history = node["analyses"]
    assert history["runs"] == [
        {
            "version": 1,
            "status": "COMPLETED",
            "parameters": None,
            "summary": admin["data"]["node"]["analyses"]["runs"][0]["summary"],
        }
    ]
    assert history["latest"] == {"version": 1, "parameters": None}
    assert sorted(forbidden_paths(body)) == sorted(
        [
            ["node", "path"],
            ["node", "analyses", "runs", 0, "parameters"],
            ["node", "analyses", "latest", "parameters"],
        ]
    )


async def test_a_list_with_a_guarded_field_stays_readable(app, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    async with http_client(app, await make_user(runtime, "rev", "REVIEWER")) as reviewer:
        body = await gql(
            reviewer, "{ viewer { name } users { totalCount } datasets { edges { node { name path } } } }"
        )
        own = await gql(reviewer, "{ viewer { name tokens { name } } }")
    assert body["data"] == {
        "viewer": {"name": "rev"},
        "users": None,
        "datasets": {"edges": [{"node": {"name": "tiny", "path": None}}]},
    }
    assert sorted(forbidden_paths(body)) == sorted([["users"], ["datasets", "edges", 0, "node", "path"]])
    assert own == {"data": {"viewer": {"name": "rev", "tokens": [{"name": "tests"}]}}}


async def test_another_users_tokens_are_null_and_their_name_readable(app, client, runtime):
    await make_user(runtime, "someone", "VIEWER")
    async with http_client(app, await make_user(runtime, "viewer", "VIEWER")) as viewer:
        body = await gql(
            viewer,
            "query($id: ID!) { node(id: $id) { ... on User { name tokens { name } } } }",
            id=gid("User", 2),
        )
    assert body["data"] == {"node": {"name": "someone", "tokens": None}}
    assert forbidden_paths(body) == [["node", "tokens"]]
    admin = await gql(
        client, "query($id: ID!) { node(id: $id) { ... on User { tokens { name } } } }", id=gid("User", 2)
    )
    assert admin == {"data": {"node": {"tokens": [{"name": "tests"}]}}}
