"""Tasks: what the robot was asked to do in an episode, per dataset."""

from __future__ import annotations

from collections.abc import Sequence

from domain.core.runtime import Runtime
from persistence.repositories import task as tasks_repo
from persistence.tables import TaskRow


async def tasks_by_keys(rt: Runtime, keys: Sequence[tuple[int, int]]) -> list[TaskRow | None]:
    async with rt.sessions() as session:
        rows = {(t.dataset_id, t.index): t for t in await tasks_repo.read_tasks_by_keys(session, keys)}
    return [rows.get(k) for k in keys]


async def tasks_by_datasets(rt: Runtime, dataset_ids: Sequence[int]) -> list[list[TaskRow]]:
    async with rt.sessions() as session:
        rows = await tasks_repo.read_tasks_by_datasets(session, dataset_ids)
    grouped: dict[int, list[TaskRow]] = {d: [] for d in dataset_ids}
    for row in rows:
        grouped[row.dataset_id].append(row)
    return [grouped[d] for d in dataset_ids]


async def tasks_by_ids(rt: Runtime, ids: Sequence[int]) -> list[TaskRow | None]:
    async with rt.sessions() as session:
        rows = {t.id: t for t in await tasks_repo.read_tasks_by_ids(session, ids)}
    return [rows.get(i) for i in ids]
