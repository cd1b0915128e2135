"""Ids a client sends that name nothing: out of the id columns' range (int4 on PostgreSQL), not an
integer, not a global id at all. `node`/`nodes` answer null; every other root field and mutation that
takes an id (found by walking the schema, so a new one is covered without a line here) answers
NOT_FOUND or BAD_USER_INPUT naming the argument, never INTERNAL_SERVER_ERROR. Cursors likewise. And
a deleted object's id is not given to the next new one."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    get_named_type,
    is_leaf_type,
)

from graph.schema import schema
from tests.conftest import gql, register

BIG = "100000000000000000000"  # beyond any integer column
INT4 = "3000000000"  # beyond PostgreSQL's int4, within SQLite's 64 bits
NOT_AN_INTEGER = ["abc", "1.0", " 1", "+1", "1_000", "٣"]
NOT_A_GLOBAL_ID = ["!!!", "", "RXBpc29kZQ"]  # the last is base64 without a colon


def gid(type_name: str, key: str) -> str:
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


def cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


NODE_TYPES = ["Episode", "Dataset", "Project", "TestSession", "Job", "User", "Label", "ObjectAnnotation"]


async def test_node_and_nodes_answer_null_for_ids_that_name_nothing(client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    first = (await gql(client, "{ datasets { edges { node { episode(index: 0) { id } } } } }"))["data"]
    real = first["datasets"]["edges"][0]["node"]["episode"]["id"]
    bad = [gid(t, k) for t in NODE_TYPES for k in (BIG, INT4, "-1", "0", *NOT_AN_INTEGER)]
    bad += [gid("Nope", "1"), gid("Query", "1"), gid("EpisodeConnection", "1"), *NOT_A_GLOBAL_ID]
    for text in bad:
        body = await gql(client, "query($id: ID!) { node(id: $id) { id } }", id=text)
        assert body == {"data": {"node": None}}, (text, body)
    body = await gql(client, "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", ids=[*bad, real, bad[0]])
    assert body == {"data": {"nodes": [*([None] * len(bad)), {"id": real}, None]}}, body


async def test_cursors_out_of_range_or_malformed_are_bad_user_input(client, runtime, tiny_dataset):
    dataset = await register(runtime, tiny_dataset)
    did = gid("Dataset", str(dataset))
    lists = {
        "project": "{ projects(after: $after) { totalCount } }",
        "dataset": "{ datasets(after: $after) { totalCount } }",
        "job": "{ jobs(after: $after) { totalCount } }",
        "user": "{ users(after: $after) { totalCount } }",
        "episode": f'{{ node(id: "{did}") {{ ... on Dataset {{ episodes(after: $after) {{ totalCount }} }} }} }}',
        "episode-SCORE": f'{{ node(id: "{did}") {{ ... on Dataset {{ episodes(after: $after, '
        "orderBy: OVERALL_GRADE) { totalCount } } } }",
    }
    for kind, selection in lists.items():
        keys = (
            [BIG, INT4, "-3000000000", "abc", ""]
            if kind != "episode-SCORE"
            else [f"1:{BIG}", f"{INT4}:1", "1"]
        )
        for key in keys:
            query = "query($after: String) " + selection
            body = await gql(client, query, after=cursor(f"{kind}:{key}"))
            error = body["errors"][0]
            assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}, (kind, key, body)


# --- every id argument of every root field, found in the schema ---------------------------------


def _required(t) -> bool:
    return isinstance(t, GraphQLNonNull)


def _has_id(t, seen=()) -> bool:
    named = get_named_type(t)
    if named is GraphQLID:
        return True
    if isinstance(named, GraphQLInputObjectType) and named.name not in seen:
        return any(_has_id(f.type, (*seen, named.name)) for f in named.fields.values())
    return False


def _type_text(t) -> str:
    if isinstance(t, GraphQLNonNull):
        return _type_text(t.of_type) + "!"
    if isinstance(t, GraphQLList):
        return f"[{_type_text(t.of_type)}]"
    return t.name


class Call:
    """One root field called with every id argument (required or not) set to a bad id and every
    other required argument set to a plain value of its type."""

    def __init__(self, operation: str, name: str, field: GraphQLField, key: str) -> None:
        self.name, self.key = name, key
        self.id_paths: list[str] = []
        self.uploads: list[str] = []
        arguments = {a: arg for a, arg in field.args.items() if _required(arg.type) or _has_id(arg.type)}
        self.variables = {a: self._value(arg.type, a) for a, arg in arguments.items()}
        declared = ", ".join(f"${a}: {_type_text(arg.type)}" for a, arg in arguments.items())
        passed = ", ".join(f"{a}: ${a}" for a in arguments)
        selection = "" if is_leaf_type(get_named_type(field.type)) else " { __typename }"
        self.query = f"{operation}({declared}) {{ {name}({passed}){selection} }}"
        self.types: dict[str, str] = {}

    def _value(self, t, path: str):
        inner = t.of_type if isinstance(t, GraphQLNonNull) else t
        if isinstance(inner, GraphQLList):
            return [self._value(inner.of_type, f"{path}[0]")]
        if inner is GraphQLID:
            self.id_paths.append(path)
            return path  # replaced per attempt
        if isinstance(inner, GraphQLInputObjectType):
            return {
                n: self._value(f.type, f"{path}.{n}")
                for n, f in inner.fields.items()
                if (_required(f.type) and not _has_default(f)) or _has_id(f.type)
            }
        if isinstance(inner, GraphQLEnumType):
            return next(iter(inner.values))
        assert isinstance(inner, GraphQLScalarType)
        if inner.name == "Upload":
            self.uploads.append(path)
            return None
        return {
            "String": "x",
            "Int": 1,
            "Float": 1.0,
            "Boolean": True,
            "JSON": {},
            "DateTime": datetime.now(UTC).isoformat(),
        }[inner.name]

    def variables_for(self, text_of) -> dict:
        def fill(value, path):
            if isinstance(value, dict):
                return {k: fill(v, f"{path}.{k}") for k, v in value.items()}
            if isinstance(value, list):
                return [fill(v, f"{path}[{i}]") for i, v in enumerate(value)]
            if path in self.id_paths and value == path:
                return text_of(path)
            return value

        return {k: fill(v, k) for k, v in self.variables.items()}

    async def send(self, client, text_of) -> dict:
        variables = self.variables_for(text_of)
        if not self.uploads:
            return await gql(client, self.query, **variables)
        operations = {"query": self.query, "variables": variables}
        files = {
            str(i): (f"f{i}.mp4", b"not a video", "application/octet-stream")
            for i in range(len(self.uploads))
        }
        mapping = {str(i): [f"variables.{p}"] for i, p in enumerate(self.uploads)}
        response = await client.post(
            "/graphql", data={"operations": json.dumps(operations), "map": json.dumps(mapping)}, files=files
        )
        assert response.status_code == 200, response.text
        return response.json()


def _has_default(field) -> bool:
    from graphql.pyutils import Undefined

    return field.default_value is not Undefined


def _calls(key: str) -> list[Call]:
    graphql_schema = schema._schema
    calls = []
    for operation, root in (("query", graphql_schema.query_type), ("mutation", graphql_schema.mutation_type)):
        for name, field in root.fields.items():
            if name in ("node", "nodes"):
                continue
            if any(_has_id(arg.type) for arg in field.args.values()):
                calls.append(Call(operation, name, field, key))
    return calls


WRONG_TYPE = re.compile(r"must be the id of a (\w+), got one of a")


@pytest.mark.parametrize("key", [BIG, INT4, "abc", "-1x"])
async def test_every_id_argument_refuses_ids_that_name_nothing(client, runtime, tiny_dataset, key):
    await register(runtime, tiny_dataset)
    calls = _calls(key)
    assert len(calls) > 30  # the walk found the id-taking fields (not a vacuous pass)
    for call in calls:
        # Learn each argument's type from the answer ("must be the id of a Project"), then ask again.
        for _ in range(len(call.id_paths) + 1):
            body = await call.send(client, lambda p, c=call: gid(c.types.get(p, "Episode"), key))
            errors = body.get("errors") or []
            wrong = [(e["extensions"].get("field"), WRONG_TYPE.search(e["message"])) for e in errors]
            learned = {f: m.group(1) for f, m in wrong if m and f in call.id_paths and f not in call.types}
            if not learned:
                break
            call.types.update(learned)
        assert errors, (call.query, body)
        codes = {e["extensions"]["code"] for e in errors}
        assert codes <= {"NOT_FOUND", "BAD_USER_INPUT"}, (call.query, call.types, body)


@pytest.mark.parametrize("text", NOT_A_GLOBAL_ID)
async def test_text_that_is_no_global_id_is_bad_user_input_naming_the_argument(client, text):
    checked = 0
    for call in _calls("1"):
        if len(call.id_paths) != 1 or call.uploads:
            continue
        body = await call.send(client, lambda _: text)
        error = body["errors"][0]
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": call.id_paths[0]}, (
            call.query,
            body,
        )
        checked += 1
    assert checked > 20
    inline = await gql(client, f'mutation {{ deleteProject(id: "{text}") }}')
    assert inline["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "id"}, inline


async def test_an_out_of_range_id_names_its_argument(client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    body = await gql(client, "mutation($id: ID!) { deleteProject(id: $id) }", id=gid("Project", INT4))
    assert body["errors"][0]["extensions"] == {"code": "NOT_FOUND", "field": "id"}
    assert body["errors"][0]["message"] == f"id: there is no Project {INT4}"
    body = await gql(
        client,
        "mutation($p: ID!, $e: [ID!]!) { linkEpisodes(projectId: $p, episodeIds: $e) { changed } }",
        p=gid("Project", "1"),
        e=[gid("Episode", "1"), gid("Episode", "abc")],
    )
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "episodeIds[1]"}


# The type each subscription's id argument names (a new one fails here until it is added).
SUBSCRIPTION_IDS = {
    ("jobUpdates", "jobId"): "Job",
    ("jobUpdates", "datasetId"): "Dataset",
    ("episodeEvents", "episodeId"): "Episode",
    ("annotationSessionEvents", "sessionId"): "AnnotationSession",
    ("testSessionProgress", "id"): "TestSession",
}


@pytest.mark.parametrize("key", [BIG, INT4, "abc"])
async def test_every_id_argument_of_a_subscription_refuses_ids_that_name_nothing(runtime, key):
    """Subscriptions decode their ids before they subscribe: the first answer is the error."""
    from domain.accounts.users import Role, create_user, viewer_of
    from graph.context import Context

    admin = viewer_of(await create_user(runtime, "admin", Role.ADMIN))
    root = schema._schema.subscription_type
    for name, field in root.fields.items():
        call = Call("subscription", name, field, key)
        for path in call.id_paths:  # one id argument at a time, the others left out
            type_name = SUBSCRIPTION_IDS[(name, path)]
            variables = call.variables_for(lambda p, at=path, t=type_name: gid(t, key) if p == at else None)
            context = Context(runtime=runtime, request=None, response=None, request_id="t", viewer=admin)
            stream = await schema.subscribe(call.query, variable_values=variables, context_value=context)
            first = await anext(stream) if hasattr(stream, "__anext__") else stream
            if hasattr(stream, "aclose"):
                await stream.aclose()
            codes = {(e.extensions or {}).get("code") for e in first.errors or []}
            fields = {(e.extensions or {}).get("field") for e in first.errors or []}
            assert codes and codes <= {"NOT_FOUND", "BAD_USER_INPUT"} and fields == {path}, (
                name,
                path,
                first,
            )


async def test_a_deleted_project_or_test_sessions_id_is_not_given_to_the_next_one(
    client, runtime, tiny_dataset
):
    """A client caching by id (Relay, Apollo) would otherwise show the deleted object for the new one."""
    from tests.graph.validation_setup import LINK, PROJECT

    await register(runtime, tiny_dataset)
    first = (await gql(client, "{ datasets { edges { node { episodes { edges { node { id } } } } } } }"))[
        "data"
    ]
    episodes = [e["node"]["id"] for e in first["datasets"]["edges"][0]["node"]["episodes"]["edges"]]
    session = """mutation($p: ID!, $e: [ID!]) { createTestSession(input: {projectId: $p, name: "s",
      source: EXTERNAL, episodeIds: $e}) { id } }"""

    async def project_with_session(name: str) -> tuple[str, str]:
        project = (await gql(client, PROJECT, input={"name": name}))["data"]["createProject"]["id"]
        assert "errors" not in await gql(client, LINK, p=project, e=episodes)
        made = await gql(client, session, p=project, e=episodes[:1])
        return project, made["data"]["createTestSession"]["id"]

    old_project, old_session = await project_with_session("first")
    assert (await gql(client, "mutation($id: ID!) { deleteProject(id: $id) }", id=old_project))["data"]
    new_project, new_session = await project_with_session("second")
    assert new_project != old_project and new_session != old_session
    gone = await gql(
        client, "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", ids=[old_project, old_session]
    )
    assert gone == {"data": {"nodes": [None, None]}}
