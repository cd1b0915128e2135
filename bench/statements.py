"""SQL statements per request for `datasets { episodes(first: N) { task { ... } } }` at page
sizes 10, 50 and 200, on SQLite and (when it answers) PostgreSQL, against the statements a
resolver-per-row (N+1) implementation would send.

    .venv/bin/python -m bench.statements
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import httpx

from bench.scratch import scratch_postgres
from domain.core.runtime import Runtime
from graph.app import create_app
from persistence.engine import StatementCounter
from persistence.migrate import upgrade
from persistence.settings import load_settings
from tests.conftest import make_user
from tests.factories import seed_index

DATASETS = 3
EPISODES = 250
QUERY = """query($first: Int) { datasets { totalCount edges { node { name
  episodes(first: $first) { totalCount edges { node { index length task { index description } } } } } } } }"""


async def measure(database_url: str, var_dir: Path) -> dict[int, int]:
    rt = Runtime.build(load_settings(var_dir=var_dir, database_url=database_url))
    await rt.start()
    try:
        await seed_index(rt, DATASETS, EPISODES)
        token = await make_user(rt, "bench", "ADMIN")
        transport = httpx.ASGITransport(app=create_app(runtime=rt))
        counts = {}
        headers = {"Authorization": f"Bearer {token}"}
        local = "http://localhost"
        async with httpx.AsyncClient(transport=transport, base_url=local, headers=headers) as client:
            await client.post("/graphql", json={"query": "{ viewer { name } }"})  # the token is verified once
            for first in (10, 50, 200):
                with StatementCounter(rt.engine) as counter:
                    body = (
                        await client.post("/graphql", json={"query": QUERY, "variables": {"first": first}})
                    ).json()
                assert "errors" not in body, body
                counts[first] = counter.count
        return counts
    finally:
        await rt.stop()


async def reset_postgres(url: str) -> None:
    """Empty the schema of a database the caller named explicitly (`--database-url`)."""
    from sqlalchemy import text

    from persistence.engine import create_engine

    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


def main() -> None:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        upgrade(url)
        results["SQLite"] = asyncio.run(measure(url, Path(tmp)))
        with scratch_postgres() as pg_url:
            if pg_url is not None:
                upgrade(pg_url)
                results["PostgreSQL"] = asyncio.run(measure(pg_url, Path(tmp)))
    print(f"SQL statements per request, {DATASETS} datasets x {EPISODES} episodes")
    print(f"  {'database':<11}{'first':>7}{'annograph':>11}{'N+1 reference':>15}{'ratio':>8}")
    for name, counts in results.items():
        for first, count in counts.items():
            # One query for the datasets, then per dataset one for its page and per episode one for its task.
            naive = 1 + DATASETS * (1 + first)
            print(f"  {name:<11}{first:>7}{count:>11}{naive:>15}{count / naive:>8.3f}")


if __name__ == "__main__":
    main()
