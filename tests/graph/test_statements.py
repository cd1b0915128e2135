"""No N+1: the SQL statements of a nested query do not grow with the page size or dataset count."""

from __future__ import annotations

from persistence.engine import StatementCounter
from tests.conftest import gql
from tests.factories import seed_index

NESTED = """query($first: Int) { datasets { edges { node { name
  episodes(first: $first) { totalCount edges { node { index length task { index description } } } } } } } }"""


async def count_statements(client, runtime, first: int) -> tuple[int, dict]:
    with StatementCounter(runtime.engine) as counter:
        body = await gql(client, NESTED, first=first)
    assert "errors" not in body, body
    return counter.count, body


async def test_statements_do_not_grow_with_page_size(client, runtime):
    await seed_index(runtime, datasets=3, episodes=210)
    await gql(client, "{ viewer { name } }")  # the token's last use is written once a minute, not here
    counts = {}
    for first in (10, 50, 200):
        counts[first], body = await count_statements(client, runtime, first)
        edges = body["data"]["datasets"]["edges"]
        assert len(edges) == 3
        assert all(len(e["node"]["episodes"]["edges"]) == first for e in edges)
        assert edges[2]["node"]["episodes"]["edges"][5]["node"]["task"]["description"] == "push"
    assert counts[10] == counts[50] == counts[200], counts
    # datasets, their count... one statement per loader batch: a handful, whatever the sizes.
    assert counts[200] <= 5, counts


async def test_statements_do_not_grow_with_dataset_count(client, runtime):
    await seed_index(runtime, datasets=1, episodes=20)
    await gql(client, "{ viewer { name } }")
    one, _ = await count_statements(client, runtime, 20)
    await seed_index(runtime, datasets=6, episodes=20)  # set0 re-seeded; five more datasets
    six, body = await count_statements(client, runtime, 20)
    assert len(body["data"]["datasets"]["edges"]) == 6
    assert one == six
