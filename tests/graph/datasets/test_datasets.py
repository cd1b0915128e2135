"""Datasets and episodes through the graph: fields, pagination, filters, node()."""

from __future__ import annotations

from tests.conftest import gql, register

DATASETS = """
query($first: Int, $after: String) {
  datasets(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id name format fps cameras jointNames episodeCount frameCount
      tasks { index description } } }
  }
}"""


async def test_dataset_fields(client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    body = await gql(client, DATASETS)
    assert "errors" not in body, body
    conn = body["data"]["datasets"]
    assert conn["totalCount"] == 1
    node = conn["edges"][0]["node"]
    assert node["name"] == "tiny"
    assert node["format"] == "HDF5"
    assert node["fps"] == 30.0
    assert node["cameras"] == ["front"]
    assert node["episodeCount"] == 3
    assert node["frameCount"] == 40 + 50 + 60
    assert [t["description"] for t in node["tasks"]] == ["pick the cube", "place the cube"]
    assert node["jointNames"][0] == "joint_1"


async def test_episodes_pagination_and_filters(client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    query = """
    query($first: Int, $after: String, $filter: EpisodeFilter) {
      datasets { edges { node { episodes(first: $first, after: $after, filter: $filter) {
        totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
        edges { node { index length duration taskIndex task { index description } cameras } } } } } }
    }"""
    page = (await gql(client, query, first=2))["data"]["datasets"]["edges"][0]["node"]["episodes"]
    assert [e["node"]["index"] for e in page["edges"]] == [0, 1]
    assert page["totalCount"] == 3
    assert page["pageInfo"]["hasNextPage"] is True
    assert page["edges"][1]["node"]["task"] == {"index": 1, "description": "place the cube"}
    assert abs(page["edges"][0]["node"]["duration"] - 40 / 30) < 1e-6
    rest = (await gql(client, query, first=2, after=page["pageInfo"]["endCursor"]))["data"]["datasets"][
        "edges"
    ][0]
    rest = rest["node"]["episodes"]
    assert [e["node"]["index"] for e in rest["edges"]] == [2]
    assert rest["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "endCursor": rest["pageInfo"]["endCursor"],
    }

    filtered = await gql(client, query, filter={"minLength": 45, "taskIndex": 0})
    eps = filtered["data"]["datasets"]["edges"][0]["node"]["episodes"]
    assert [e["node"]["index"] for e in eps["edges"]] == [2]
    assert eps["totalCount"] == 1
    longest = await gql(client, query, filter={"maxLength": 50})
    assert [
        e["node"]["index"] for e in longest["data"]["datasets"]["edges"][0]["node"]["episodes"]["edges"]
    ] == [0, 1]


async def test_page_size_cap_and_bad_cursor(client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    body = await gql(client, "{ datasets(first: 1000) { totalCount } }")
    assert body["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"
    assert body["errors"][0]["extensions"]["field"] == "first"
    assert body["errors"][0]["extensions"]["limit"] == "pageSize"
    body = await gql(client, '{ datasets(after: "garbage") { totalCount } }')
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}


async def test_node_and_episode_by_index(client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    body = await gql(
        client,
        "{ datasets { edges { node { id episode(index: 1) { id index } missing: episode(index: 9) { id } } } } }",
    )
    dataset = body["data"]["datasets"]["edges"][0]["node"]
    assert dataset["missing"] is None
    episode_id = dataset["episode"]["id"]
    node = await gql(
        client,
        "query($id: ID!, $d: ID!) { e: node(id: $id) { __typename ... on Episode { index dataset { id name } } }"
        " d: node(id: $d) { __typename ... on Dataset { name } } }",
        id=episode_id,
        d=dataset["id"],
    )
    assert node["data"]["e"] == {
        "__typename": "Episode",
        "index": 1,
        "dataset": {"id": dataset["id"], "name": "tiny"},
    }
    assert node["data"]["d"] == {"__typename": "Dataset", "name": "tiny"}
    bad = await gql(client, '{ node(id: "not-a-global-id") { id } }')
    assert bad == {"data": {"node": None}}  # an id that names nothing (tests/graph/test_ids.py)
