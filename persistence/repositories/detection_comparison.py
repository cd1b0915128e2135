"""An evaluation's TP / FP / FN records."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.tables import DetectionComparisonRow

Row = DetectionComparisonRow


async def replace_comparisons(session: AsyncSession, session_id: int, values: Sequence[dict]) -> None:
    await session.execute(delete(Row).where(Row.session_id == session_id))
    rows = [{"session_id": session_id, **v} for v in values]
    for start in range(0, len(rows), 5000):
        await session.execute(insert(Row.__table__), rows[start : start + 5000])


async def list_comparisons(
    session: AsyncSession, session_id: int, *, kind: str | None, after_id: int | None, limit: int
) -> list[Row]:
    query = select(Row).where(Row.session_id == session_id).order_by(Row.id).limit(limit)
    if kind is not None:
        query = query.where(Row.kind == kind)
    if after_id is not None:
        query = query.where(Row.id > after_id)
    return list((await session.execute(query)).scalars())


async def count_comparisons(session: AsyncSession, session_id: int, kind: str | None) -> int:
    query = select(func.count()).where(Row.session_id == session_id)
    if kind is not None:
        query = query.where(Row.kind == kind)
    return (await session.execute(query)).scalar_one()
