"""An evaluation's TP / FP / FN records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.repositories.pages import first_rows_per_group
from persistence.tables import DetectionComparisonRow

Row = DetectionComparisonRow


async def replace_comparisons(session: AsyncSession, session_id: int, values: Sequence[dict]) -> None:
    await session.execute(delete(Row).where(Row.session_id == session_id))
    rows = [{"session_id": session_id, **v} for v in values]
    for start in range(0, len(rows), 5000):
        await session.execute(insert(Row.__table__), rows[start : start + 5000])


async def list_comparison_pages(
    session: AsyncSession, session_ids: Sequence[int], *, kind: str | None, after_id: int | None, limit: int
) -> dict[int, list[Row]]:
    """The first `limit` comparisons (by id, after `after_id`) of each session, in one statement."""
    clauses = []
    if kind is not None:
        clauses.append(Row.kind == kind)
    if after_id is not None:
        clauses.append(Row.id > after_id)
    return await first_rows_per_group(
        session, Row, Row.session_id, session_ids, clauses=clauses, order_by=(Row.id,), limit=limit
    )


async def count_comparisons(
    session: AsyncSession, session_ids: Sequence[int], kind: str | None
) -> dict[int, int]:
    query = (
        select(Row.session_id, func.count()).where(Row.session_id.in_(session_ids)).group_by(Row.session_id)
    )
    if kind is not None:
        query = query.where(Row.kind == kind)
    counts = dict((await session.execute(query)).all())
    return {s: counts.get(s, 0) for s in session_ids}


class ComparisonValues(NamedTuple):
    """A comparison as plain values (a report reads hundreds of thousands: no ORM objects)."""

    id: int
    episode_id: int
    camera: str
    frame: int
    label: str
    kind: str  # TP | FP | FN | IG
    iou: float
    detection_id: int | None
    annotation_id: int | None
    temporal_offset_ms: float | None


async def read_comparisons(session: AsyncSession, session_id: int) -> list[ComparisonValues]:
    """Every comparison of a test session, by id, in one statement."""
    columns = [getattr(Row, name) for name in ComparisonValues._fields]
    query = select(*columns).where(Row.session_id == session_id).order_by(Row.id)
    return [ComparisonValues._make(r) for r in (await session.execute(query)).all()]
