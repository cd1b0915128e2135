"""Hostile requests: each is refused with LIMIT_EXCEEDED (naming the limit) and changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from persistence.tables import UserRow
from tests.conftest import gql, register

CREATE = 'createUser(input: {name: "intruder", role: ADMIN}) { id }'


async def _users(runtime) -> int:
    async with runtime.sessions() as session:
        return (await session.execute(select(func.count()).select_from(UserRow))).scalar_one()


def _limit(body: dict) -> str:
    assert body.get("data") is None, body
    extensions = body["errors"][0]["extensions"]
    assert extensions["code"] == "LIMIT_EXCEEDED", body
    return extensions["limit"]


async def test_deep_query(client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    inner = "index"
    for _ in range(25):  # 50 levels: episode -> dataset -> episode -> ...
        inner = f"dataset {{ episode(index: 0) {{ {inner} }} }}"
    query = f"{{ datasets {{ edges {{ node {{ episode(index: 0) {{ {inner} }} }} }} }} }}"
    assert _limit(await gql(client, query)) == "depth"


async def test_many_aliases(client, runtime):
    before = await _users(runtime)
    aliases = f"first: {CREATE} " + " ".join(f"a{i}: __typename" for i in range(999))
    response = await client.post("/graphql", json={"query": f"mutation {{ {aliases} }}"})
    assert _limit(response.json()) == "aliases"
    assert await _users(runtime) == before


async def test_ten_megabyte_query(client, runtime):
    before = await _users(runtime)
    query = "mutation { " + CREATE + " }" + " " * (10 * 1024 * 1024)
    response = await client.post("/graphql", json={"query": query})
    assert response.status_code == 413
    assert _limit(response.json()) == "bodySize"
    assert await _users(runtime) == before


async def test_too_many_tokens(client):
    fields = " ".join("__typename" for _ in range(6000))  # ~66 KB: under the body limit
    response = await client.post("/graphql", json={"query": f"{{ {fields} }}"})
    assert _limit(response.json()) == "tokens"


async def test_expensive_query(client):
    query = """{ datasets(first: 200) { edges { node { episodes(first: 200) { edges { node {
      trajectory { frames } } } } } } } }"""
    body = await gql(client, query)
    assert _limit(body) == "cost"
    assert "estimated cost" in body["errors"][0]["message"]
    cheap = await gql(client, "query($n: Int) { datasets(first: $n) { totalCount } }", n=5)
    assert "errors" not in cheap


async def test_cost_uses_variables(client):
    query = """query($a: Int, $b: Int) { datasets(first: $a) { edges { node { episodes(first: $b) { edges { node {
      trajectory { frames } } } } } } } }"""
    assert _limit(await gql(client, query, a=200, b=200)) == "cost"
    assert "errors" not in await gql(client, query, a=2, b=2)


async def test_batching_is_off(client, runtime):
    before = await _users(runtime)
    response = await client.post("/graphql", json=[{"query": f"mutation {{ {CREATE} }}"}] * 2)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert await _users(runtime) == before


async def test_introspection_and_graphiql_can_be_turned_off(client, runtime, monkeypatch):
    assert "errors" not in await gql(client, "{ __schema { queryType { name } } }")
    monkeypatch.setattr(runtime.settings, "introspection", False)
    body = await gql(client, "{ __schema { queryType { name } } }")
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "introspection" in body["errors"][0]["message"].lower()


async def test_graphiql_off(runtime, admin_token, monkeypatch):
    from graph.app import create_app
    from tests.conftest import http_client

    monkeypatch.setattr(runtime.settings, "graphiql", False)
    async with http_client(create_app(runtime=runtime), admin_token) as c:
        page = await c.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 404


async def test_upload_bodies_have_their_own_limit(client, runtime, monkeypatch):
    monkeypatch.setattr(runtime.settings, "max_upload_bytes", 2048)
    monkeypatch.setattr(runtime.settings, "max_archive_bytes", 2048)
    files = {"file": ("labels.json", b"x" * 4096, "application/json")}
    response = await client.post("/graphql", data={"operations": "{}", "map": "{}"}, files=files)
    assert response.status_code == 413
    assert _limit(response.json()) == "bodySize"


def _fan_out(levels: int) -> str:
    """Fragments that each spread the next twice: 2^levels paths in 1.5 KB."""
    fragments = " ".join(f"fragment F{i} on User {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels))
    return f"{{ viewer {{ ...F0 }} }} {fragments} fragment F{levels} on User {{ name }}"


async def test_fragment_fan_out_is_refused_at_the_cost_of_parsing(anonymous, client):
    """40 levels (2^40 paths): refused by measuring each fragment once; the server keeps answering."""
    import asyncio

    async with asyncio.timeout(120):  # a hang guard (it used to never answer), not a speed check
        refused = await anonymous.post("/graphql", json={"query": _fan_out(40)})
    assert _limit(refused.json()) == "cost"
    # Refused before validation; meanwhile /health answers (nothing blocked the event loop for long).
    health, again = await asyncio.gather(
        client.get("/health"), client.post("/graphql", json={"query": _fan_out(21)})
    )
    assert health.status_code == 200 and _limit(again.json()) == "cost"
    # A small fan-out is an ordinary query.
    small = await gql(client, _fan_out(3))
    assert "errors" not in small and small["data"]["viewer"]["name"] == "admin"


async def test_depth_and_aliases_through_fragments(client):
    deep = "fragment D on Dataset { episodes { edges { node { dataset { ...D } } } } }"  # a cycle: invalid
    body = await gql(client, "{ datasets { edges { node { ...D } } } } " + deep)
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    aliased = " ".join(f"fragment A{i} on User {{ a: name b: name ...A{i + 1} }}" for i in range(20))
    body = await gql(client, "{ viewer { ...A0 } } " + aliased + " fragment A20 on User { name }")
    assert _limit(body) == "aliases"


async def test_ids_multiply_the_cost_like_a_page(client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    body = await gql(
        client, "{ datasets { edges { node { episodes(first: 1) { edges { node { id } } } } } } }"
    )
    episode = body["data"]["datasets"]["edges"][0]["node"]["episodes"]["edges"][0]["node"]["id"]
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Episode { trajectory { frames } } } }"
    assert _limit(await gql(client, query, ids=[episode] * 2000)) == "cost"
    ids = ", ".join(f'"{episode}"' for _ in range(2000))
    literal = f"{{ nodes(ids: [{ids}]) {{ ... on Episode {{ trajectory {{ frames }} }} }} }}"
    assert _limit(await gql(client, literal)) == "cost"
    few = await gql(client, query, ids=[episode] * 3)
    assert "errors" not in few and len(few["data"]["nodes"]) == 3


async def test_without_introspection_errors_suggest_no_names(anonymous, client, runtime, monkeypatch):
    with_suggestions = await gql(client, "{ viewer { tokenz } }")
    assert "Did you mean 'tokens'?" in with_suggestions["errors"][0]["message"]
    monkeypatch.setattr(runtime.settings, "introspection", False)
    for query in (
        "{ viewer { tokenz } }",
        "{ viewer { role } users(first: 1) { edgez } }",
        "{ userz }",
        'mutation { setUserRole(id: "x", role: ADMINN) { id } }',
    ):
        body = (await anonymous.post("/graphql", json={"query": query})).json()
        assert body["errors"], body
        assert all("Did you mean" not in e["message"] for e in body["errors"]), body
