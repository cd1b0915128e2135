from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.key_sets import entities_with_keys
from persistence.tables import TaskRow


async def read_tasks_by_keys(session: AsyncSession, keys: Sequence[tuple[int, int]]) -> list[TaskRow]:
    """Tasks by (dataset_id, index) pairs, in one statement."""
    return await entities_with_keys(session, TaskRow, (TaskRow.dataset_id, TaskRow.index), keys)


async def read_tasks_by_datasets(session: AsyncSession, dataset_ids: Sequence[int]) -> list[TaskRow]:
    query = select(TaskRow).where(TaskRow.dataset_id.in_(dataset_ids)).order_by(TaskRow.index)
    return list((await session.execute(query)).scalars())


async def read_tasks_by_ids(session: AsyncSession, ids: Sequence[int]) -> list[TaskRow]:
    return list((await session.execute(select(TaskRow).where(TaskRow.id.in_(ids)))).scalars())


async def replace_tasks(session: AsyncSession, dataset_id: int, tasks: Sequence[tuple[int, str]]) -> None:
    existing = {t.index: t for t in await read_tasks_by_datasets(session, [dataset_id])}
    wanted = dict(tasks)
    stale = [i for i in existing if i not in wanted]
    if stale:
        await session.execute(
            delete(TaskRow).where(TaskRow.dataset_id == dataset_id, TaskRow.index.in_(stale))
        )
    for index, description in wanted.items():
        if index in existing:
            existing[index].description = description
        else:
            session.add(TaskRow(dataset_id=dataset_id, index=index, description=description))
    await session.flush()
