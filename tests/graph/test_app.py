"""The app around the graph: GraphiQL, health, error masking, request ids."""

from __future__ import annotations

import logging

from domain.datasets import service as datasets
from persistence.engine import create_engine
from persistence.events import EventHub
from tests.conftest import gql


async def test_graphiql_is_served(client):
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_health_checks_database_and_broadcaster(client, runtime):
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": {"status": "up"}, "broadcaster": {"status": "up"}},
    }


async def test_health_names_what_is_down(client, runtime, monkeypatch):
    # A broadcaster pointed at a port where no Redis listens, and a database that refuses.
    dead = EventHub("redis://127.0.0.1:1/0")
    monkeypatch.setattr(runtime, "events", dead)

    monkeypatch.setattr(runtime, "engine", create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/none"))
    response = await client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"]["database"]["status"] == "down"
    assert "refused" in body["checks"]["database"]["error"].lower()
    assert body["checks"]["broadcaster"]["status"] == "down"


async def test_unexpected_errors_are_masked_and_logged(client, runtime, monkeypatch, caplog):
    async def explode(*_args, **_kwargs):
        raise RuntimeError("secret detail /etc/passwd")

    monkeypatch.setattr(datasets, "list_datasets", explode)
    with caplog.at_level(logging.ERROR, logger="annograph.errors"):
        response = await client.post(
            "/graphql", json={"query": "{ datasets { totalCount } }"}, headers={"X-Request-ID": "req-123"}
        )
    body = response.json()
    error = body["errors"][0]
    assert error["message"] == "Internal server error"
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-123"}
    assert "secret" not in response.text
    assert response.headers["x-request-id"] == "req-123"
    assert any("req-123" in r.getMessage() and r.exc_info for r in caplog.records)


async def test_validation_errors_have_a_code(client):
    body = await gql(client, "{ datasets { nope } }")
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
