"""No table gives a deleted row's id to a new row, on SQLite (AUTOINCREMENT, migration 0009) and on
PostgreSQL (SERIAL sequences): one row in every table, all deleted, one row in every table again."""

from __future__ import annotations

import asyncio
import importlib
import sqlite3
from datetime import UTC, datetime
from typing import get_origin

from sqlalchemy import JSON, Boolean, Float, Integer, String, Table, delete, insert, inspect, text
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.columns import TypedJSON
from persistence.documents import RevisionContent
from persistence.engine import create_engine, is_sqlite
from persistence.migrate import upgrade
from persistence.tables import metadata
from persistence.tables.base import NEVER_REUSE_IDS

MIGRATION = importlib.import_module("migrations.versions.0009_ids_are_never_reused")
CREATED_AFTER_0009 = {"job_part", "segment_label", "episode_segment"}


def _id_tables() -> list[Table]:
    """Tables whose primary key is one integer id the database gives."""
    return [
        t
        for t in metadata.sorted_tables
        if [c.name for c in t.primary_key.columns] == ["id"] and isinstance(t.c.id.type, Integer)
    ]


def _value(column, parents: dict[str, dict]):
    for fk in column.foreign_keys:  # the parent's row; none for a reference to the table itself
        parent = parents.get(fk.column.table.name)
        return None if parent is None else parent[fk.column.name]
    if column.nullable:
        return None
    kind = column.type
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, Integer):
        return 1
    if isinstance(kind, Float):
        return 0.5
    if isinstance(kind, TypedJSON):  # an empty list, or a model of defaults (a revision needs a rating)
        if get_origin(kind.content) is list:
            return []
        return {"rating": "UNKNOWN"} if kind.content is RevisionContent else {}
    if isinstance(kind, JSON):
        return {}
    if isinstance(kind, String):  # Text too
        return "x"
    return datetime.now(UTC)  # UTCDateTime


def _columns(connection) -> dict[str, set[str]]:
    """The columns each table has in the database (an older revision lacks those added since)."""
    found = inspect(connection)
    return {name: {c["name"] for c in found.get_columns(name)} for name in found.get_table_names()}


async def _one_row_each(connection: AsyncConnection, old: bool = False) -> dict[str, dict]:
    """A row in every table, parents first; returns each row's primary key values. `old`: only the
    columns the database has (a database at an older revision)."""
    keys: dict[str, dict] = {}
    present = await connection.run_sync(_columns) if old else None
    for table in metadata.sorted_tables:
        if present is not None and table.name not in present:
            continue  # created by a later migration
        # By key: a renamed attribute's column keeps its name (object_annotation.score is "confidence").
        values = {
            c.key: _value(c, keys)
            for c in table.columns
            if not (c.primary_key and c.name == "id") and (present is None or c.name in present[table.name])
        }
        result = await connection.execute(insert(table).values(values).returning(*table.primary_key.columns))
        keys[table.name] = dict(result.mappings().one())
    return keys


async def _delete_all(connection: AsyncConnection, keys: dict[str, dict]) -> None:
    for table in reversed([t for t in metadata.sorted_tables if t.name in keys]):
        where = [table.c[name] == value for name, value in keys[table.name].items()]
        await connection.execute(delete(table).where(*where))


async def test_a_deleted_rows_id_is_never_given_again(database_url):
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            first = await _one_row_each(connection)
            await _delete_all(connection, first)
        async with engine.begin() as connection:
            second = await _one_row_each(connection)
    finally:
        await engine.dispose()
    reused = {
        t.name: first[t.name]["id"] for t in _id_tables() if second[t.name]["id"] <= first[t.name]["id"]
    }
    assert reused == {}


def test_every_id_table_is_declared_and_migrated_without_reuse(tmp_path):
    tables = {t.name for t in _id_tables()}
    # Tables created after 0009 are created with AUTOINCREMENT by their own migrations.
    assert tables == set(MIGRATION.TABLES) | {"object_annotation"} | CREATED_AFTER_0009
    declared = {t.name for t in _id_tables() if t.dialect_options["sqlite"]["autoincrement"]}
    assert declared == tables, "add NEVER_REUSE_IDS to the table's __table_args__"
    assert NEVER_REUSE_IDS == {"sqlite_autoincrement": True}
    path = tmp_path / "ids.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    with sqlite3.connect(path) as db:
        sql = dict(db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall())
    assert {name for name in tables if "AUTOINCREMENT" not in sql[name]} == set()


def test_migrating_a_database_with_rows_keeps_every_row_and_reference(tmp_path):
    """0009 rebuilds tables that others refer to (ON DELETE CASCADE / SET NULL): nothing is lost, and the
    next ids continue after the highest one copied."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0008")

    async def fill() -> dict[str, dict]:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                return await _one_row_each(connection, old=True)
        finally:
            await engine.dispose()

    before = asyncio.run(fill())
    upgrade(url)
    with sqlite3.connect(tmp_path / "old.db") as db:
        counts = {
            t.name: db.execute(f'SELECT count(*) FROM "{t.name}"').fetchone()[0]
            for t in metadata.sorted_tables
        }
        owners = db.execute("SELECT owner_id FROM project").fetchall()
        broken = db.execute("PRAGMA foreign_key_check").fetchall()
    assert counts == {t.name: int(t.name in before) for t in metadata.sorted_tables}
    assert owners == [(before["user"]["id"],)] and broken == []

    async def again() -> dict[str, dict]:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                await _delete_all(connection, before)
            async with engine.begin() as connection:
                return await _one_row_each(connection)
        finally:
            await engine.dispose()

    after = asyncio.run(again())
    assert all(after[t.name]["id"] > before[t.name]["id"] for t in _id_tables() if t.name in before)


async def test_postgresql_ids_come_from_sequences(database_url):
    """On PostgreSQL every id column takes its default from a sequence (SERIAL), which never gives a
    number twice; nothing in the schema resets one."""
    if is_sqlite(database_url):
        return

    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT table_name, column_default FROM information_schema.columns "
                    "WHERE table_schema = 'public' AND column_name = 'id'"
                )
            )
            found = dict(rows.all())
    finally:
        await engine.dispose()
    assert {t.name for t in _id_tables()} <= set(found)
    assert all((found[t.name] or "").startswith("nextval(") for t in _id_tables())


def test_every_key_column_is_a_32_bit_integer_as_graph_ids_assume():
    """graph/ids.py refuses keys beyond INTEGER_MIN..INTEGER_MAX (int4 on PostgreSQL) before they reach
    the database: right only while no id or reference column is wider."""
    from sqlalchemy import BigInteger

    from persistence.columns import INTEGER_MAX, INTEGER_MIN

    assert (INTEGER_MIN, INTEGER_MAX) == (-(2**31), 2**31 - 1)
    wide = [
        f"{t.name}.{c.name}"
        for t in metadata.sorted_tables
        for c in t.columns
        if (c.primary_key or c.foreign_keys)
        and isinstance(c.type, Integer)
        and isinstance(c.type, BigInteger)
    ]
    assert wide == []
