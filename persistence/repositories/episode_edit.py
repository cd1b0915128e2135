"""Edits saved on episodes, versioned."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.columns import utcnow
from persistence.documents import StoredEdits
from persistence.tables import EpisodeEditRow

Row = EpisodeEditRow


async def read_edits(session: AsyncSession, episode_ids: Sequence[int]) -> list[Row]:
    return list((await session.execute(select(Row).where(Row.episode_id.in_(episode_ids)))).scalars())


async def insert_edits(
    session: AsyncSession, episode_id: int, edits: StoredEdits, user_id: int | None
) -> Row:
    query = insert(Row).values(
        episode_id=episode_id, version=1, edits=edits, updated_by=user_id, updated_at=utcnow()
    )
    return (await session.execute(query.returning(Row))).scalar_one()


async def update_edits_if_version(
    session: AsyncSession, episode_id: int, expected: int, edits: StoredEdits, user_id: int | None
) -> Row | None:
    """Save over version `expected` only; None when someone saved in between."""
    query = (
        update(Row)
        .where(Row.episode_id == episode_id, Row.version == expected)
        .values(version=expected + 1, edits=edits, updated_by=user_id, updated_at=utcnow())
        .returning(Row)
    )
    return (await session.execute(query)).scalar_one_or_none()
