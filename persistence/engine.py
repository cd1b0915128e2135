"""Async engine and session factory for SQLite (aiosqlite) and PostgreSQL (asyncpg).

Dialect differences stay in this package: SQLite gets WAL, foreign keys and a busy timeout
on every connection, so concurrent writers wait instead of failing.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SessionFactory = async_sessionmaker[AsyncSession]


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _json_loads(text: str | bytes) -> Any:
    """JSON columns as they are read: orjson (several times faster than `json` on the rows a page or
    a loader decodes), `json` for what orjson refuses (an integer over 64 bits)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def create_engine(url: str, **kwargs) -> AsyncEngine:
    kwargs.setdefault("json_deserializer", _json_loads)
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = create_async_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine)
    return engine


# A pooled connection idle longer than this (seconds) is pinged before use.
PING_AFTER_IDLE = 2.0


def _ping_when_idle(engine: AsyncEngine, idle: float = PING_AFTER_IDLE) -> None:
    """Pessimistic disconnect handling for connections that sat in the pool: one idle longer than
    `idle` seconds is pinged when checked out and replaced when the ping fails (the pool retries
    the checkout). SQLAlchemy's pool_pre_ping pings on every checkout, a round trip per request
    while the connection was in use a millisecond before; a server restart or an idle timeout is
    what kills pooled connections, and neither happens between two requests of a busy server.
    A connection that breaks while in use fails that request as before and is invalidated."""
    dialect = engine.sync_engine.dialect

    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(_dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < idle:
            return  # new, or back in the pool a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:  # any failure to answer: the pool opens another connection
            raise DisconnectionError(
                f"a pooled connection idle {time.monotonic() - since:.0f} s is gone"
            ) from exc


async def refresh_statistics(connection: AsyncConnection | AsyncSession, tables: Sequence[str] = ()) -> None:
    """ANALYZE `tables` (all when empty) so that the planner knows rows loaded in bulk (a demo, an
    import): without statistics PostgreSQL plans a page of boxes as if the table were empty until
    autovacuum's analyze comes around. Allowed inside the loading transaction (it then counts that
    transaction's own rows). A no-op on SQLite, whose planner the indexes already steer."""
    dialect = connection.dialect if isinstance(connection, AsyncConnection) else connection.get_bind().dialect
    if dialect.name != "postgresql":
        return
    names = ", ".join(dialect.identifier_preparer.quote(t) for t in tables)
    await connection.execute(text(f"ANALYZE {names}".rstrip()))


# A load of at least this many rows into a table refreshes the table's statistics in the loading
# transaction (refresh_after_load): the planner then knows the rows at once, not at autovacuum's turn,
# which comes after 10% of the table changed and, until then, plans pages of the new rows as empty.
BULK_ROWS = 5_000


async def refresh_after_load(session: AsyncSession, table: str, rows: int) -> None:
    """refresh_statistics([table]) when `rows` rows were just loaded into it and that is a bulk load
    (at least BULK_ROWS); otherwise nothing."""
    if rows >= BULK_ROWS:
        await refresh_statistics(session, [table])


class _LockedTransaction:
    def __init__(self, lock: asyncio.Lock, transaction) -> None:
        self._lock = lock
        self._transaction = transaction

    async def __aenter__(self):
        await self._lock.acquire()
        try:
            return await self._transaction.__aenter__()
        except BaseException:
            self._lock.release()
            raise

    async def __aexit__(self, *exc):
        try:
            return await self._transaction.__aexit__(*exc)
        finally:
            self._lock.release()


def _sqlite_session_class() -> type[AsyncSession]:
    """Sessions whose explicit transactions (`session.begin()`, the write paths) queue on one
    lock per engine. SQLite has one writer at a time; without the queue, concurrent writers
    poll for its lock (busy_timeout) and some wait seconds while others go again and again."""
    lock = asyncio.Lock()

    class SerializedWriteSession(AsyncSession):
        def begin(self):
            return _LockedTransaction(lock, super().begin())

    return SerializedWriteSession


def create_session_factory(engine: AsyncEngine) -> SessionFactory:
    # expire_on_commit=False: rows stay readable after commit without implicit I/O.
    if engine.dialect.name == "sqlite":
        return async_sessionmaker(engine, expire_on_commit=False, class_=_sqlite_session_class())
    return async_sessionmaker(engine, expire_on_commit=False)


def create_read_session_factory(engine: AsyncEngine, sessions: SessionFactory) -> SessionFactory:
    """Sessions for reads whose statements each stand alone (a loader's batch, a page): on PostgreSQL
    in autocommit, so a read is one round trip instead of BEGIN, the query and ROLLBACK (three for a
    `node(id:)`); each statement still sees one snapshot. Never for writes, nor for reads that need
    several statements to agree (use `sessions`). On SQLite, where switching the mode costs a PRAGMA
    per checkout, `sessions` itself (so its one writer lock stays the only one)."""
    if engine.dialect.name == "sqlite":
        return sessions
    return async_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False)


class StatementCounter:
    """Counts SQL statements sent through an engine (tests and benchmarks use it to catch N+1)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine.sync_engine
        self.count = 0
        self.statements: list[str] = []

    def _on_execute(self, _conn, _cursor, statement, *_args) -> None:
        self.count += 1
        self.statements.append(statement)

    def __enter__(self) -> StatementCounter:
        event.listen(self._engine, "before_cursor_execute", self._on_execute)
        return self

    def __exit__(self, *_exc) -> None:
        event.remove(self._engine, "before_cursor_execute", self._on_execute)
