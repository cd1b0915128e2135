"""The job runner: versions per target, outcomes, failures, cancellation, recovery."""

from __future__ import annotations

import asyncio

from domain.core.errors import BadUserInput
from domain.core.job_runner import JobKind
from domain.jobs.queries import jobs_by_ids
from persistence.repositories import job as jobs_repo


async def test_versions_count_per_kind_and_target(runtime):
    async def nothing(ctx):
        return None

    jobs = await asyncio.gather(
        *(runtime.jobs.submit(kind=JobKind.INDEXING, target="t", body=nothing) for _ in range(6))
    )
    other = await runtime.jobs.submit(kind=JobKind.INDEXING, target="u", body=nothing)
    assert sorted(j.version for j in jobs) == [1, 2, 3, 4, 5, 6]
    assert other.version == 1
    for job in [*jobs, other]:
        assert (await runtime.jobs.wait(job.id)).status == "COMPLETED"


async def test_failures_carry_a_code(runtime):
    async def bad_input(ctx):
        await ctx.progress(0.5)
        raise BadUserInput("episodes/x.hdf5: truncated", field="path")

    async def crash(ctx):
        raise ZeroDivisionError("secret")

    first = await runtime.jobs.submit(kind=JobKind.ANALYSIS, target="a", body=bad_input)
    second = await runtime.jobs.submit(kind=JobKind.ANALYSIS, target="b", body=crash)
    first, second = await runtime.jobs.wait(first.id), await runtime.jobs.wait(second.id)
    assert (first.status, first.error_code, first.error_message) == (
        "FAILED",
        "BAD_USER_INPUT",
        "episodes/x.hdf5: truncated",
    )
    assert first.finished_at is not None and first.progress == 0.5
    assert (second.status, second.error_code) == ("FAILED", "INTERNAL_SERVER_ERROR")
    assert "secret" not in second.error_message


async def test_cancel_a_running_job(runtime):
    started = asyncio.Event()

    async def slow(ctx):
        started.set()
        await asyncio.sleep(60)

    job = await runtime.jobs.submit(kind=JobKind.EXPORT, target="c", body=slow)
    await started.wait()
    cancelled = await runtime.jobs.cancel(job.id)
    assert cancelled.status == "CANCELLED" and cancelled.finished_at is not None


async def test_recover_fails_jobs_left_unfinished(runtime):
    async with runtime.sessions() as session, session.begin():
        orphan = await jobs_repo.create_job(session, kind="INDEXING", status="RUNNING", target="x", version=1)
    await runtime.jobs.recover()
    (row,) = await jobs_by_ids(runtime, [orphan.id])
    assert (row.status, row.error_code) == ("FAILED", "INTERRUPTED")
