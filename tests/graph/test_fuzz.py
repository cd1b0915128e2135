"""Schemathesis over the whole schema: generated queries and mutations, signed in as an admin and
anonymously, must never make a server error or an error without a code (an unmasked one).

`make fuzz` runs the same with many more examples per root field (ANNOGRAPH_FUZZ_EXAMPLES), bounded
in time, outside `make test`."""

from __future__ import annotations

import asyncio
import os

import hypothesis
import schemathesis
from graphql import get_introspection_query, graphql_sync
from hypothesis import strategies as st
from starlette.testclient import TestClient

from domain.datasets import register_dataset
from domain.runtime import Runtime
from graph.app import create_app
from graph.schema import schema
from tests.conftest import make_user

# Per root field and caller; bounded so the suite stays quick (`make fuzz` raises it).
EXAMPLES = int(os.environ.get("ANNOGRAPH_FUZZ_EXAMPLES", "30"))
ANONYMOUS_EXAMPLES = int(os.environ.get("ANNOGRAPH_FUZZ_EXAMPLES", "10"))
KNOWN_CODES = {
    "BAD_USER_INPUT",
    "NOT_FOUND",
    "FORBIDDEN",
    "UNAUTHENTICATED",
    "CONFLICT",
    "LIMIT_EXCEEDED",
    "GRAPHQL_VALIDATION_FAILED",
}


async def _prepare(settings, folder) -> str:
    rt = Runtime.build(settings)
    await rt.start()
    try:
        job = await register_dataset(rt, str(folder))
        await rt.jobs.wait(job.id)
        return await make_user(rt, "fuzz-admin", "ADMIN")
    finally:
        await rt.stop()


def _checker(client: TestClient, label: str, strategy, failures: list[str], headers: dict, examples: int):
    @hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.given(case=strategy)
    def check(case) -> None:
        response = client.post("/graphql", json={"query": case.body}, headers=headers)
        if response.status_code >= 500:
            failures.append(f"{label}: HTTP {response.status_code} for {case.body!r}")
            return
        for error in response.json().get("errors") or []:
            code = (error.get("extensions") or {}).get("code")
            if code not in KNOWN_CODES:
                failures.append(f"{label}: {code} {error.get('message')!r} for {case.body!r}")

    return check


# A JSON request cannot carry a file: whatever stands in for an Upload must be refused with a code.
schemathesis.graphql.scalar("Upload", st.sampled_from([
    schemathesis.graphql.nodes.String("not-a-file"), schemathesis.graphql.nodes.Null,
]))


def test_generated_requests_never_break_the_server(settings, tiny_dataset):
    secret = asyncio.run(_prepare(settings, tiny_dataset))
    introspection = graphql_sync(schema._schema, get_introspection_query()).data
    fuzz_schema = schemathesis.graphql.from_dict(introspection)
    failures: list[str] = []
    admin = {"Authorization": f"Bearer {secret}"}
    # One client (one event loop for the app's connections); the anonymous pass sends no token.
    with TestClient(create_app(settings), base_url="http://localhost") as client:
        for result in fuzz_schema.get_all_operations():
            operation = result.ok()
            _checker(client, operation.label, operation.as_strategy(), failures, admin, EXAMPLES)()
            label = f"{operation.label} (anonymous)"
            _checker(client, label, operation.as_strategy(), failures, {}, ANONYMOUS_EXAMPLES)()
    assert failures == [], "\n".join(failures[:10])
