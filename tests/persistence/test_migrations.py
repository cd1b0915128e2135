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


async def test_boxes_saved_before_0010_are_no_crowd_without_attributes_or_split(empty_database):
    """0010 adds crowd, attributes and split to object_annotation: boxes already there read as not a
    crowd, no attributes, no split; the downgrade keeps them (and SQLite's AUTOINCREMENT)."""
    from sqlalchemy import select

    from persistence.tables import ObjectAnnotationRow

    url = empty_database
    await asyncio.to_thread(upgrade, url, "0009")
    now = "2026-01-01 00:00:00"
    rows = [
        "INSERT INTO dataset (id, name, path, format, fps, cameras, joint_names, features, episode_count, "
        f"frame_count, created_at, updated_at) VALUES (1, 'd', '/d', 'HDF5', 30, '[]', '[]', '{{}}', 1, 1, "
        f"'{now}', '{now}')",
        'INSERT INTO episode (id, dataset_id, "index", file, length, duration, cameras, missing, file_size, '
        "file_mtime) VALUES (1, 1, 0, 'e.hdf5', 10, 1, '{}', '[]', 1, 1)",
        f"INSERT INTO label (id, dataset_id, name, color, created_at) VALUES (1, 1, 'a', '#808080', '{now}')",
        "INSERT INTO object_annotation (id, episode_id, camera, frame, x, y, width, height, label_id, "
        "track_id, occluded, truncated, difficult, outside, source, keyframe, version, review, created_at, "
        f"updated_at) VALUES (7, 1, 'front', 3, 1, 2, 3, 4, 1, 't', false, false, false, false, 'MANUAL', "
        f"true, 1, 'PENDING', '{now}', '{now}')",
    ]
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for statement in rows:
                await connection.execute(text(statement))
        await asyncio.to_thread(upgrade, url)
        async with engine.connect() as connection:
            box = (await connection.execute(select(ObjectAnnotationRow.__table__))).one()
        assert (box.id, box.crowd, box.attributes, box.split) == (7, False, {}, None)
        await asyncio.to_thread(downgrade, url, "0009")
        async with engine.connect() as connection:
            kept = (await connection.execute(text("SELECT id, x FROM object_annotation"))).all()
            assert [tuple(r) for r in kept] == [(7, 1.0)]
            if is_sqlite(url):
                sql = (
                    await connection.execute(
                        text("SELECT sql FROM sqlite_master WHERE name = 'object_annotation'")
                    )
                ).scalar_one()
                assert "AUTOINCREMENT" in sql
    finally:
        await engine.dispose()
