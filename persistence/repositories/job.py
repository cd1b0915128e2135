from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.tables import JobRow


@dataclass(frozen=True)
class JobFilter:
    kind: str | None = None
    status: Sequence[str] | None = None
    dataset_id: int | None = None

    def clauses(self) -> list:
        clauses = []
        if self.kind is not None:
            clauses.append(JobRow.kind == self.kind)
        if self.status:
            clauses.append(JobRow.status.in_(list(self.status)))
        if self.dataset_id is not None:
            clauses.append(JobRow.dataset_id == self.dataset_id)
        return clauses


async def read_job(session: AsyncSession, job_id: int) -> JobRow | None:
    return await session.get(JobRow, job_id)


async def read_jobs_by_ids(session: AsyncSession, ids: Sequence[int]) -> list[JobRow]:
    return list((await session.execute(select(JobRow).where(JobRow.id.in_(ids)))).scalars())


async def next_job_version(session: AsyncSession, kind: str, target: str) -> int:
    query = select(func.max(JobRow.version)).where(JobRow.kind == kind, JobRow.target == target)
    return ((await session.execute(query)).scalar_one() or 0) + 1


async def create_job(session: AsyncSession, **values) -> JobRow:
    row = JobRow(**values)
    session.add(row)
    await session.flush()
    return row


async def list_jobs(
    session: AsyncSession, *, filter: JobFilter, before_id: int | None, limit: int
) -> list[JobRow]:
    """Newest first: the jobs a person most wants to see are the latest."""
    query = select(JobRow).where(*filter.clauses()).order_by(JobRow.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(JobRow.id < before_id)
    return list((await session.execute(query)).scalars())


async def count_jobs(session: AsyncSession, *, filter: JobFilter) -> int:
    query = select(func.count()).select_from(JobRow).where(*filter.clauses())
    return (await session.execute(query)).scalar_one()


async def update_job(session: AsyncSession, job_id: int, **values) -> None:
    await session.execute(update(JobRow).where(JobRow.id == job_id).values(**values))


async def fail_unfinished_jobs(
    session: AsyncSession,
    message: str,
    finished_at,
    *,
    unfinished: Sequence[str],
    failed: str,
    only: Sequence[int] | None = None,
    code: str = "INTERRUPTED",
) -> list[JobRow]:
    """Jobs left in the `unfinished` statuses by a stopped server can never finish: move them to
    `failed` (the domain's job state machine names both) with error `code`; the jobs. `only`: just
    these ids (None: every unfinished job)."""
    query = update(JobRow).where(JobRow.status.in_(list(unfinished)))
    if only is not None:
        query = query.where(JobRow.id.in_(list(only)))
    result = await session.execute(
        query.values(
            status=failed, error_code=code, error_message=message, finished_at=finished_at
        ).returning(JobRow)
    )
    return list(result.scalars())


async def list_unfinished_job_ids(session: AsyncSession, unfinished: Sequence[str]) -> list[int]:
    """Ids of the jobs in the `unfinished` statuses."""
    result = await session.execute(select(JobRow.id).where(JobRow.status.in_(list(unfinished))))
    return list(result.scalars())


async def list_jobs_by_targets(session: AsyncSession, kind: str, targets: Sequence[str]) -> list[JobRow]:
    """Every job of `kind` on these targets, newest version first."""
    query = (
        select(JobRow)
        .where(JobRow.kind == kind, JobRow.target.in_(targets))
        .order_by(JobRow.target, JobRow.version.desc())
    )
    return list((await session.execute(query)).scalars())
