from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.columns import utcnow
from persistence.tables import LabelRow, ObjectAnnotationRow


async def read_labels_by_datasets(session: AsyncSession, dataset_ids: Sequence[int]) -> list[LabelRow]:
    query = select(LabelRow).where(LabelRow.dataset_id.in_(dataset_ids)).order_by(LabelRow.id)
    return list((await session.execute(query)).scalars())


async def read_labels_by_ids(session: AsyncSession, ids: Sequence[int]) -> list[LabelRow]:
    return list((await session.execute(select(LabelRow).where(LabelRow.id.in_(ids)))).scalars())


async def insert_labels(session: AsyncSession, values: Sequence[dict]) -> list[LabelRow]:
    """Insert labels in order (a parent before its children) and return the rows."""
    rows = []
    for value in values:
        fields = {"created_at": utcnow(), **value}
        result = await session.execute(insert(LabelRow).values(**fields).returning(LabelRow))
        rows.append(result.scalar_one())
    return rows


async def update_label(session: AsyncSession, label_id: int, values: dict) -> LabelRow | None:
    result = await session.execute(
        update(LabelRow).where(LabelRow.id == label_id).values(**values).returning(LabelRow)
    )
    return result.scalar_one_or_none()


async def count_label_boxes(session: AsyncSession, label_id: int) -> int:
    query = select(func.count()).where(ObjectAnnotationRow.label_id == label_id)
    return (await session.execute(query)).scalar_one()


async def delete_label(session: AsyncSession, row: LabelRow) -> None:
    await session.delete(row)
    await session.flush()
