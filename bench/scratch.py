"""The PostgreSQL database a bench measures on: a new one it creates and drops, never one it was not
pointed at (a bench once dropped the schema of whatever database was named `dev`).

    with scratch_postgres() as url:   # None when no PostgreSQL answers at ANNOGRAPH_BENCH_POSTGRES
        ...

ANNOGRAPH_BENCH_POSTGRES names the server (any database on it; the bench creates its own beside it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlparse, urlunparse

SERVER_URL = os.environ.get("ANNOGRAPH_BENCH_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")


def _with_database(url: str, name: str) -> str:
    parts = urlparse(url)
    return urlunparse(parts._replace(path=f"/{name}"))


async def _admin(url: str, statement: str) -> None:
    import asyncpg

    dsn = _with_database(url, "postgres").replace("postgresql+asyncpg://", "postgresql://", 1)
    connection = await asyncpg.connect(dsn, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextlib.contextmanager
def scratch_postgres(server_url: str = SERVER_URL) -> Iterator[str | None]:
    """Create `annograph_bench_<hex>` on the server, yield its SQLAlchemy URL, drop it afterwards
    (also when the bench fails). Yields None, after saying why, when the server does not answer."""
    name = f"annograph_bench_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}"'))
    except (TimeoutError, OSError) as exc:
        print(f"PostgreSQL not reachable at {server_url} ({exc}): measured without it")
        yield None
        return
    try:
        yield _with_database(server_url, name)
    finally:
        asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
