"""Reading jobs back for the graph (the runner in domain/core/job_runner.py writes them)."""

from __future__ import annotations

from collections.abc import Sequence

from domain.core.runtime import Runtime
from persistence.repositories import job as jobs_repo
from persistence.repositories.job import JobFilter
from persistence.tables import JobRow


async def jobs_by_ids(rt: Runtime, ids: Sequence[int]) -> list[JobRow | None]:
    async with rt.sessions() as session:
        rows = {r.id: r for r in await jobs_repo.read_jobs_by_ids(session, ids)}
    return [rows.get(i) for i in ids]


async def list_jobs(rt: Runtime, *, filter: JobFilter, before_id: int | None, limit: int) -> list[JobRow]:
    async with rt.sessions() as session:
        return await jobs_repo.list_jobs(session, filter=filter, before_id=before_id, limit=limit)


async def count_jobs(rt: Runtime, *, filter: JobFilter) -> int:
    async with rt.sessions() as session:
        return await jobs_repo.count_jobs(session, filter=filter)
