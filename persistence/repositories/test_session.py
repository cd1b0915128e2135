"""Test sessions of validation projects."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.tables import TestSessionRow

Row = TestSessionRow


async def read_test_session(session: AsyncSession, session_id: int) -> Row | None:
    return await session.get(Row, session_id, populate_existing=True)


async def lock_test_session(session: AsyncSession, session_id: int) -> Row | None:
    """The test session, its row locked until the transaction ends (PostgreSQL; SQLite's writers
    queue anyway): writes checked against its status wait for one another."""
    query = (
        select(Row).where(Row.id == session_id).with_for_update().execution_options(populate_existing=True)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def read_test_sessions_by_ids(session: AsyncSession, ids: Sequence[int]) -> list[Row]:
    return list((await session.execute(select(Row).where(Row.id.in_(ids)))).scalars())


async def list_by_projects(session: AsyncSession, project_ids: Sequence[int]) -> list[Row]:
    query = select(Row).where(Row.project_id.in_(project_ids)).order_by(Row.project_id, Row.id.desc())
    return list((await session.execute(query)).scalars())


async def insert_test_session(session: AsyncSession, values: dict) -> Row:
    return (await session.execute(insert(Row).values(**values).returning(Row))).scalar_one()


async def update_test_session(
    session: AsyncSession, session_id: int, values: dict, *, only_if_status: Sequence[str] | None = None
) -> Row | None:
    """Update; with `only_if_status`, only from those states (None when the session was elsewhere)."""
    query = update(Row).where(Row.id == session_id).values(**values).returning(Row)
    if only_if_status is not None:
        query = query.where(Row.status.in_(only_if_status))
    return (await session.execute(query)).scalar_one_or_none()


async def latest_evaluated(session: AsyncSession, limit: int) -> list[Row]:
    query = select(Row).where(Row.evaluated_at.is_not(None)).order_by(Row.evaluated_at.desc()).limit(limit)
    return list(reversed(list((await session.execute(query)).scalars())))


async def list_running(session: AsyncSession, source: str) -> list[Row]:
    query = select(Row).where(Row.status == "RUNNING", Row.source == source).order_by(Row.id)
    return list((await session.execute(query)).scalars())
