"""The media and download routes answer like the GraphQL endpoint: JSON errors with a code, and an
unexpected failure logged under the request id it answers with (body and X-Request-ID)."""

from __future__ import annotations

import logging

from domain.datasets import episodes
from domain.jobs import queries as jobs_queries
from tests.conftest import gql, register

URL = """{ datasets { edges { node { episode(index: 2) { frameUrl(frame: 3, camera: "front") } } } } }"""


async def _frame_url(client) -> str:
    body = await gql(client, URL)
    return body["data"]["datasets"]["edges"][0]["node"]["episode"]["frameUrl"]


def _failed_as_graphql(response, caplog) -> None:
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    (error,) = response.json()["errors"]
    request_id = response.headers["x-request-id"]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
    assert "boom" not in response.text  # internals stay in the log
    logged = [r for r in caplog.records if r.name == "annograph.errors" and request_id in r.getMessage()]
    assert logged and logged[0].exc_info is not None and "boom" in str(logged[0].exc_info[1])


async def test_a_frame_that_fails_is_logged_and_answered_with_its_request_id(
    client, runtime, tiny_dataset, monkeypatch, caplog
):
    await register(runtime, tiny_dataset)
    url = await _frame_url(client)

    async def boom(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(episodes, "render_frame", boom)
    with caplog.at_level(logging.ERROR, logger="annograph.errors"):
        response = await client.get(url, headers={"X-Request-ID": "frame-fails-1"})
    assert response.headers["x-request-id"] == "frame-fails-1"
    _failed_as_graphql(response, caplog)


async def test_a_download_that_fails_is_logged_and_answered_with_its_request_id(client, monkeypatch, caplog):
    async def boom(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(jobs_queries, "jobs_by_ids", boom)
    with caplog.at_level(logging.ERROR, logger="annograph.errors"):
        response = await client.get("/downloads/jobs/1/export.zip")
    _failed_as_graphql(response, caplog)


async def test_refusals_carry_a_code_like_graphql_errors(client, anonymous, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    url = await _frame_url(client)
    cases = [
        (anonymous.get(url), 401, "UNAUTHENTICATED"),
        (client.get(url.replace("/frames/3.jpg", "/frames/99999.jpg")), 404, "NOT_FOUND"),
        (client.get(url + "&width=wide"), 400, "BAD_USER_INPUT"),
        (client.get("/downloads/jobs/99999/export.zip"), 404, "NOT_FOUND"),
    ]
    for request, status, code in cases:
        response = await request
        assert response.status_code == status, response.text
        (error,) = response.json()["errors"]
        assert error["extensions"]["code"] == code and error["message"]
        assert response.headers["x-request-id"]
