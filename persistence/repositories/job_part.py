"""Parts of data-parallel jobs (persistence/tables/job_part.py): planned once, claimed by one
participant at a time with a guarded UPDATE (on both databases: PostgreSQL re-checks the guard on the
row a concurrent claim committed, SQLite has one writer), kept alive by heartbeats, stored under their
key so a part done twice overwrites itself."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import JsonValue
from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.tables import JobPartRow, JobRow

FINAL = -1  # the part number of a job's final step


async def count_parts(session: AsyncSession, job_id: int) -> int:
    query = select(func.count()).select_from(JobPartRow).where(JobPartRow.job_id == job_id)
    return int((await session.execute(query)).scalar_one())


async def create_parts(session: AsyncSession, job_id: int, groups: Sequence[Sequence[int]]) -> None:
    """The job's parts, PENDING, and its final step, WAITING."""
    rows = [
        JobPartRow(job_id=job_id, part=i, items=list(g), size=len(g), status="PENDING")
        for i, g in enumerate(groups)
    ]
    rows.append(JobPartRow(job_id=job_id, part=FINAL, items=[], size=0, status="WAITING"))
    session.add_all(rows)
    await session.flush()


def _claimable(stale_before: datetime):
    return or_(
        JobPartRow.status == "PENDING",
        and_(JobPartRow.status == "RUNNING", JobPartRow.heartbeat_at < stale_before),
    )


async def list_claimable(session: AsyncSession, job_id: int, stale_before: datetime, limit: int) -> list[int]:
    """Ids of parts nobody holds (PENDING, or RUNNING with a heartbeat older than `stale_before`)."""
    query = (
        select(JobPartRow.id)
        .where(JobPartRow.job_id == job_id, _claimable(stale_before))
        .order_by(JobPartRow.part)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def claim_part(
    session: AsyncSession, part_id: int, worker: str, now: datetime, stale_before: datetime
) -> JobPartRow | None:
    """Take the part if it is still claimable; None when another participant took it first."""
    result = await session.execute(
        update(JobPartRow)
        .where(JobPartRow.id == part_id, _claimable(stale_before))
        .values(status="RUNNING", worker=worker, heartbeat_at=now, attempts=JobPartRow.attempts + 1, done=0)
        .returning(JobPartRow)
    )
    return result.scalars().one_or_none()


async def beat(session: AsyncSession, part_id: int, worker: str, now: datetime, done: int) -> bool:
    """Record that `worker` still works on the part (`done` items so far); False when it no longer
    holds it (taken over after a stall, or deleted with its ended job)."""
    result = await session.execute(
        update(JobPartRow)
        .where(JobPartRow.id == part_id, JobPartRow.worker == worker, JobPartRow.status == "RUNNING")
        .values(heartbeat_at=now, done=done)
        .returning(JobPartRow.id)
    )
    return result.scalar_one_or_none() is not None


async def release_parts(session: AsyncSession, job_id: int, worker: str) -> None:
    """The parts `worker` holds back to PENDING, their claim not counted as a loss (it let go)."""
    await session.execute(
        update(JobPartRow)
        .where(JobPartRow.job_id == job_id, JobPartRow.worker == worker, JobPartRow.status == "RUNNING")
        .values(status="PENDING", worker=None, attempts=JobPartRow.attempts - 1, done=0)
    )


async def store_part(
    session: AsyncSession, part_id: int, worker: str, result: dict[str, JsonValue]
) -> JobPartRow | None:
    """The part DONE with its result (None when `worker` no longer holds it)."""
    query = (
        update(JobPartRow)
        .where(JobPartRow.id == part_id, JobPartRow.worker == worker, JobPartRow.status == "RUNNING")
        .values(status="DONE", result=result, done=JobPartRow.size)
        .returning(JobPartRow)
    )
    return (await session.execute(query)).scalars().one_or_none()


async def job_status(session: AsyncSession, job_id: int) -> str | None:
    return (await session.execute(select(JobRow.status).where(JobRow.id == job_id))).scalar_one_or_none()


async def lock_job(session: AsyncSession, job_id: int) -> str | None:
    """The job's status, its row locked until the transaction ends (FOR UPDATE; SQLite locks the
    database at the first write anyway): stores of a job's last parts take turns."""
    query = select(JobRow.status).where(JobRow.id == job_id).with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def release_final(session: AsyncSession, job_id: int) -> bool:
    """When every part is DONE, the final step becomes PENDING (claimable); True if it did now."""
    left = (
        select(func.count())
        .select_from(JobPartRow)
        .where(JobPartRow.job_id == job_id, JobPartRow.part != FINAL, JobPartRow.status != "DONE")
    )
    if int((await session.execute(left)).scalar_one()) > 0:
        return False
    result = await session.execute(
        update(JobPartRow)
        .where(JobPartRow.job_id == job_id, JobPartRow.part == FINAL, JobPartRow.status == "WAITING")
        .values(status="PENDING")
        .returning(JobPartRow.id)
    )
    return result.scalar_one_or_none() is not None


async def progress(session: AsyncSession, job_id: int) -> tuple[int, int]:
    """(items done, items in all) over the job's parts."""
    query = select(func.coalesce(func.sum(JobPartRow.done), 0), func.coalesce(func.sum(JobPartRow.size), 0))
    done, total = (await session.execute(query.where(JobPartRow.job_id == job_id))).one()
    return int(done), int(total)


async def list_parts(session: AsyncSession, job_id: int) -> list[JobPartRow]:
    query = select(JobPartRow).where(JobPartRow.job_id == job_id).order_by(JobPartRow.part)
    return list((await session.execute(query)).scalars())


async def read_results(session: AsyncSession, job_id: int) -> dict[int, JsonValue]:
    """item id -> result, over the job's DONE parts."""
    query = select(JobPartRow.result).where(
        JobPartRow.job_id == job_id, JobPartRow.part != FINAL, JobPartRow.status == "DONE"
    )
    merged: dict[int, JsonValue] = {}
    for result in (await session.execute(query)).scalars():
        merged.update({int(k): v for k, v in (result or {}).items()})
    return merged


async def delete_parts(session: AsyncSession, job_ids: Sequence[int]) -> None:
    await session.execute(delete(JobPartRow).where(JobPartRow.job_id.in_(list(job_ids))))


async def delete_parts_of_finished_jobs(session: AsyncSession, finished: Sequence[str]) -> None:
    """Parts left behind by jobs that ended without their last write (a process killed in it)."""
    ended = select(JobRow.id).where(JobRow.status.in_(list(finished)))
    await session.execute(delete(JobPartRow).where(JobPartRow.job_id.in_(ended)))
