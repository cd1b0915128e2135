from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.tables import DatasetRow


async def read_dataset(session: AsyncSession, dataset_id: int) -> DatasetRow | None:
    return await session.get(DatasetRow, dataset_id)


async def read_dataset_by_path(session: AsyncSession, path: str) -> DatasetRow | None:
    return (await session.execute(select(DatasetRow).where(DatasetRow.path == path))).scalar_one_or_none()


async def read_datasets_by_ids(session: AsyncSession, ids: Sequence[int]) -> list[DatasetRow]:
    return list((await session.execute(select(DatasetRow).where(DatasetRow.id.in_(ids)))).scalars())


async def list_datasets(session: AsyncSession, *, after_id: int | None, limit: int) -> list[DatasetRow]:
    query = select(DatasetRow).order_by(DatasetRow.id).limit(limit)
    if after_id is not None:
        query = query.where(DatasetRow.id > after_id)
    return list((await session.execute(query)).scalars())


async def count_datasets(session: AsyncSession) -> int:
    return (await session.execute(select(func.count()).select_from(DatasetRow))).scalar_one()


async def delete_dataset_by_path(session: AsyncSession, path: str, created_since=None) -> int | None:
    """Delete the dataset registered from `path` (episodes, labels, boxes and the rest cascade), if it
    was created at or after `created_since`; its id, or None."""
    row = await read_dataset_by_path(session, path)
    if row is None or (created_since is not None and row.created_at < created_since):
        return None
    await session.delete(row)
    await session.flush()
    return row.id


async def upsert_dataset(session: AsyncSession, path: str, **values) -> DatasetRow:
    """Create the dataset of this folder, or update the one already registered from it."""
    row = await read_dataset_by_path(session, path)
    if row is None:
        row = DatasetRow(path=path, **values)
        session.add(row)
    else:
        for key, value in values.items():
            setattr(row, key, value)
    await session.flush()
    return row
