"""One Alembic chain: upgrades and downgrades on SQLite and PostgreSQL, and matches the models."""

from __future__ import annotations

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from persistence.engine import create_engine, is_sqlite
from persistence.migrate import current_revision, downgrade, head_revision, upgrade
from persistence.tables import metadata
from tests.conftest import PG_URL


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_database(request, tmp_path, migrated_templates):
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
        return
    # A database of its own, so the shared test database keeps its schema; named after the test
    # database, so suites run against different databases at once do not drop each other's.
    name = f"{PG_URL.rsplit('/', 1)[1]}_migrations"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        await connection.execute(text(f"CREATE DATABASE {name}"))
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    async with admin.connect() as connection:
        await connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    await admin.dispose()


def _diff(connection) -> list:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, metadata)


def _tables(connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_upgrade_downgrade_and_no_drift(empty_database):
    url = empty_database
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    try:
        assert await current_revision(engine) == head_revision()
        async with engine.connect() as connection:
            assert await connection.run_sync(_diff) == []
            assert {"dataset", "episode", "task", "job"} <= await connection.run_sync(_tables)
            if is_sqlite(url):
                mode = (await connection.execute(text("PRAGMA journal_mode"))).scalar_one()
                keys = (await connection.execute(text("PRAGMA foreign_keys"))).scalar_one()
                assert (mode, keys) == ("wal", 1)
        await asyncio.to_thread(downgrade, url, "base")
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) <= {"alembic_version"}
        await asyncio.to_thread(upgrade, url)
        async with engine.connect() as connection:
            assert await connection.run_sync(_diff) == []
    finally:
        await engine.dispose()
