"""Schemathesis over the whole schema: generated queries and mutations, signed in as an admin and
anonymously, must never make a server error or an error without a code (an unmasked one), and an
accepted answer never resolves more than the cost estimate allowed for (`SLACK` times the estimate:
lists without a page, such as an episode's cameras, are estimated at one item).

Beyond schemathesis's own values the run draws real and malformed global ids, lists of 2,000 items
and sends each case a second time with its literals as JSON `variables`, sometimes with lone
surrogates in their strings (tests/graph/fuzz_strategies.py). A hypothesis pass sends malformed JSON bodies and
out-of-range numbers in the media and download routes. `test_the_run_finds_*` weaken one guard each
and show the run finds what it guards (the `nodes(ids:)` cost and the lone-surrogate refusal).

`make fuzz` runs the same with many more examples per root field (ANNOGRAPH_FUZZ_EXAMPLES), bounded
in time, outside `make test`."""

from __future__ import annotations

import asyncio
import json
import os
from urllib.parse import quote

import hypothesis
import pytest
import schemathesis
from graphql import get_introspection_query, graphql_sync, parse_value
from hypothesis import strategies as st
from starlette.testclient import TestClient

from domain.core.runtime import Runtime
from domain.datasets.service import register_dataset
from graph import app as graph_app
from graph import query_shape
from graph.app import create_app
from graph.schema import schema
from tests.conftest import make_user
from tests.graph import fuzz_strategies as fs

# Per root field and caller; bounded so the suite stays quick (`make fuzz` raises it).
EXAMPLES = int(os.environ.get("ANNOGRAPH_FUZZ_EXAMPLES", "30"))
ANONYMOUS_EXAMPLES = int(os.environ.get("ANNOGRAPH_FUZZ_EXAMPLES", "10"))
SLACK = 10
KNOWN_CODES = {
    "BAD_REQUEST",
    "BAD_USER_INPUT",
    "NOT_FOUND",
    "FORBIDDEN",
    "UNAUTHENTICATED",
    "CONFLICT",
    "LIMIT_EXCEEDED",
    "GRAPHQL_VALIDATION_FAILED",
}

# A JSON request cannot carry a file: whatever stands in for an Upload must be refused with a code.
schemathesis.graphql.scalar(
    "Upload",
    st.sampled_from(
        [
            schemathesis.graphql.nodes.String("not-a-file"),
            schemathesis.graphql.nodes.Null,
        ]
    ),
)
# JSON (the columnar detection-event input): objects of columns of the wrong shape, lists, scalars, null.
schemathesis.graphql.scalar(
    "JSON",
    st.sampled_from(
        [
            parse_value(text)
            for text in (
                "{}",
                "null",
                '"columns"',
                "[1, 2]",
                '{frame: [0, 1], x: ["a"], y: null}',
                "{episodeIndex: [0], frame: [0], camera: [1], label: [[]]}",
            )
        ]
    ),
)
schemathesis.graphql.scalar("ID", fs.ids(schema._schema))
schemathesis.graphql.scalar("String", fs.strings())


async def _prepare(settings, folder) -> str:
    rt = Runtime.build(settings)
    await rt.start()
    try:
        job = await register_dataset(rt, str(folder))
        await rt.jobs.wait(job.id)
        return await make_user(rt, "fuzz-admin", "ADMIN")
    finally:
        await rt.stop()


def _post(client, payload: dict, headers: dict):
    # Encoded here: httpx writes JSON as UTF-8, which a lone surrogate cannot be; clients escape it.
    body = json.dumps(payload, ensure_ascii=True)
    return client.post("/graphql", content=body, headers={**headers, "content-type": "application/json"})


def _problems(response, body: str, variables: dict, default_page: int) -> list[str]:
    if response.status_code >= 500:
        return [f"HTTP {response.status_code}"]
    payload = response.json()
    errors = payload.get("errors") or []
    found = []
    for error in errors:
        code = (error.get("extensions") or {}).get("code")
        if code not in KNOWN_CODES:
            found.append(f"{code} {error.get('message')!r}")
    if not errors or all((e.get("extensions") or {}).get("code") != "LIMIT_EXCEEDED" for e in errors):
        weight = fs.resolved_weight(payload.get("data"), body)
        estimate = fs.estimated_cost(body, variables, default_page)
        if weight > SLACK * max(estimate, 1):
            found.append(f"resolved {weight} field units where the cost estimate was {estimate}")
    return found


def _checker(
    client,
    label,
    strategy,
    failures: list[str],
    headers: dict,
    examples: int,
    default_page: int,
    lengths: tuple[int, ...] = (1, 1, 1, fs.LONG_LIST),
):
    @hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.given(
        case=strategy, length=st.sampled_from(lengths), surrogates=st.sampled_from([False, False, True])
    )
    def check(case, length, surrogates) -> None:
        body = fs.lengthen_lists(case.body, length)
        sent = [(body, {})]
        moved, variables = fs.as_variables(schema._schema, body)
        if variables and fs.json_safe(variables):
            sent.append((moved, fs.with_surrogates(variables) if surrogates else variables))
        for query, values in sent:
            response = _post(client, {"query": query, "variables": values}, headers)
            for problem in _problems(response, query, values, default_page):
                failures.append(f"{label}: {problem} for {query[:300]!r} {json.dumps(values)[:200]}")

    return check


def _run(
    settings,
    secret: str,
    only: set[str] | None = None,
    anonymous: bool = True,
    lengths: tuple[int, ...] = (1, 1, 1, fs.LONG_LIST),
) -> list[str]:
    introspection = graphql_sync(schema._schema, get_introspection_query()).data
    fuzz_schema = schemathesis.graphql.from_dict(introspection)
    failures: list[str] = []
    admin = {"Authorization": f"Bearer {secret}"}
    page = settings.page_size_default
    # One client (one event loop for the app's connections); the anonymous pass sends no token.
    with TestClient(create_app(settings), base_url="http://localhost") as client:
        for result in fuzz_schema.get_all_operations():
            operation = result.ok()
            if only is not None and operation.label not in only:
                continue
            _checker(
                client, operation.label, operation.as_strategy(), failures, admin, EXAMPLES, page, lengths
            )()
            if anonymous:
                label = f"{operation.label} (anonymous)"
                _checker(client, label, operation.as_strategy(), failures, {}, ANONYMOUS_EXAMPLES, page)()
    return failures


def test_generated_requests_never_break_the_server(settings, tiny_dataset):
    secret = asyncio.run(_prepare(settings, tiny_dataset))
    failures = _run(settings, secret)
    assert failures == [], "\n".join(failures[:10])


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.just("\ud800"),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)
BIG = st.one_of(st.integers(min_value=0, max_value=3), st.integers(min_value=2**31 - 2, max_value=2**70))


def test_malformed_bodies_and_route_numbers_never_break_the_server(settings, tiny_dataset):
    """Bodies nested past the parser, lone surrogates in variables, and numbers beyond 32 bits in
    the media and download routes are 400 or 404, never a server error."""
    secret = asyncio.run(_prepare(settings, tiny_dataset))
    headers = {"Authorization": f"Bearer {secret}"}
    failures: list[str] = []
    with TestClient(create_app(settings), base_url="http://localhost") as client:

        @hypothesis.settings(
            max_examples=EXAMPLES * 2,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
        @hypothesis.given(
            variables=JSON_VALUES,
            depth=st.sampled_from([1, 50, 5_000, 200_000]),
            numbers=st.tuples(BIG, BIG, BIG),
            camera=st.text(min_size=1, max_size=8).map(lambda s: quote(s, safe="")),
        )
        def check(variables, depth, numbers, camera) -> None:
            query = "query($name: String) { datasets(first: 1) { edges { node { name } } } viewer { name } }"
            sent = [
                _post(client, {"query": query, "variables": {"name": variables}}, headers),
                client.post(
                    "/graphql", content=_deep(depth), headers={**headers, "content-type": "application/json"}
                ),
                client.get(
                    f"/media/datasets/{numbers[0]}/episodes/{numbers[1]}/cameras/{camera}/frames/{numbers[2]}.jpg",
                    headers=headers,
                ),
                client.get(f"/downloads/jobs/{numbers[0]}/{camera}", headers=headers),
            ]
            for response in sent:
                if response.status_code >= 500:
                    failures.append(
                        f"HTTP {response.status_code} for {response.request.url} {variables!r} {depth}"
                    )

        check()
    assert failures == [], "\n".join(failures[:10])


@pytest.fixture
def fuzz_secret(settings, tiny_dataset) -> str:
    return asyncio.run(_prepare(settings, tiny_dataset))


def test_the_run_finds_ids_that_escape_the_cost(settings, fuzz_secret, monkeypatch):
    """With ids no longer multiplying the estimate (attack item 2), the run reports `nodes`."""
    original = query_shape.fan_out

    def ids_not_counted(field, variables, default_page):
        if any(a.name.value == "ids" for a in field.arguments or ()):
            return 1
        return original(field, variables, default_page)

    monkeypatch.setattr(query_shape, "fan_out", ids_not_counted)
    failures = _run(settings, fuzz_secret, only={"Query.nodes"}, anonymous=False, lengths=(fs.LONG_LIST,))
    assert any("cost estimate" in f for f in failures), failures[:3]


def test_the_run_finds_lone_surrogates_reaching_the_database(settings, fuzz_secret, monkeypatch):
    """With the lone-surrogate refusal gone (attack item 11), the run makes a server error."""
    monkeypatch.setattr(graph_app, "_has_lone_surrogate", lambda value: False)
    failures = _run(
        settings, fuzz_secret, only={"Mutation.createProject", "Mutation.createLabel"}, anonymous=False
    )
    assert any("HTTP 500" in f or "INTERNAL" in f for f in failures), failures[:3]
