"""Input a client should never send still gets a clear refusal with a code, never a server error."""

from __future__ import annotations

import json

from tests.conftest import gql


async def test_a_deeply_nested_body_is_a_bad_request(client):
    body = '{"query": "{ viewer { name } }", "variables": ' + "[" * 10_000 + "]" * 10_000 + "}"
    response = await client.post("/graphql", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "nests too deeply" in response.json()["errors"][0]["message"]
    assert response.headers["x-request-id"]


async def test_a_lone_surrogate_is_refused_before_it_reaches_the_database(client):
    query = "mutation($name: String!) { createUser(input: {name: $name, role: VIEWER}) { id } }"
    body = json.dumps({"query": query, "variables": {"name": "bad"}}).replace('"bad"', '"bad\\ud800name"')
    response = await client.post("/graphql", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "surrogate" in response.json()["errors"][0]["message"]
    users = await gql(client, "{ users { totalCount } }")
    assert users["data"]["users"]["totalCount"] == 1  # only the admin


async def test_numbers_too_large_for_an_id_name_nothing(client):
    huge = "9" * 40
    for path in (
        f"/media/datasets/{huge}/episodes/0/cameras/front/frames/0.jpg",
        f"/media/datasets/1/episodes/{huge}/cameras/front/frames/0.jpg",
        f"/media/datasets/1/episodes/0/cameras/front/frames/{huge}.jpg",
        f"/downloads/jobs/{huge}/x.zip",
    ):
        response = await client.get(path)
        assert response.status_code == 404, (path, response.status_code, response.text)
    width = await client.get(f"/media/datasets/1/episodes/0/cameras/front/frames/0.jpg?width={'9' * 5000}")
    assert width.status_code in (400, 404)


async def test_a_home_directory_path_is_not_expanded(client):
    body = await gql(client, 'mutation { registerDataset(input: {path: "~unknownuser/data"}) { id } }')
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["extensions"]["field"] == "input.path"
    assert "no such file or folder" in error["message"]
