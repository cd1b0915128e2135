"""Async engine and session factory for SQLite (aiosqlite) and PostgreSQL (asyncpg).

Dialect differences stay in this package: SQLite gets WAL, foreign keys and a busy timeout
on every connection, so concurrent writers wait instead of failing.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

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


def create_engine(url: str, **kwargs) -> AsyncEngine:
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


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
