"""Benches measure on a database they create and drop (bench/scratch.py), never on one they were not
pointed at."""

from __future__ import annotations

import asyncio

import asyncpg

from bench.scratch import scratch_postgres
from tests.conftest import PG_URL


async def _databases() -> set[str]:
    dsn = PG_URL.replace("postgresql+asyncpg://", "postgresql://", 1)
    connection = await asyncpg.connect(dsn)
    try:
        return {r["datname"] for r in await connection.fetch("SELECT datname FROM pg_database")}
    finally:
        await connection.close()


def test_a_bench_database_is_new_and_dropped_afterwards():
    before = asyncio.run(_databases())
    with scratch_postgres(PG_URL) as url:
        assert url is not None
        name = url.rsplit("/", 1)[1]
        assert name.startswith("annograph_bench_") and name not in before
        assert name in asyncio.run(_databases())
    assert asyncio.run(_databases()) == before


def test_no_postgres_gives_none_and_touches_nothing(capsys):
    with scratch_postgres("postgresql+asyncpg://postgres@127.0.0.1:1/postgres") as url:
        assert url is None
    assert "not reachable" in capsys.readouterr().out
