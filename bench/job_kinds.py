"""Job kinds for bench.jobs, registered on ANALYSIS (the `cpu` queue) beside the real analysis: a no-op,
and a spin that reports its process id and waits for a gate file (optionally after starting every
process of its runtime's pool). Their parameters carry a `bench` key real analyses never have, so a
real analysis job never validates as one of them.

Imported by the bench and by its worker subprocesses (`python -m bench.job_kinds worker --queues cpu`),
which run the real `annograph` command with these kinds registered besides the product's (as
tests/domain/jobs/gate_job.py does for the tests).
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Literal

from domain.core.job_registry import register
from domain.core.job_runner import JobContext, JobKind
from domain.core.runtime import Runtime
from persistence.documents import JobParameters


class NoopParameters(JobParameters):
    bench: Literal["noop"]


class SpinParameters(JobParameters):
    bench: Literal["spin"]
    gate: str  # the file whose existence ends the job
    warm: bool = False  # start every process of the runtime's pool first


def warm_process() -> int:
    """Run in a pool process: import what an analysis imports, and stay busy long enough that the pool
    starts another process for the next call. Its pid."""
    import domain.analysis.episode_work  # noqa: F401

    time.sleep(0.3)
    return os.getpid()


@register(JobKind.ANALYSIS, NoopParameters)
async def run_noop(rt: Runtime, ctx: JobContext) -> None:
    """Nothing: the runner's own writes (RUNNING, COMPLETED) are the whole job."""


@register(JobKind.ANALYSIS, SpinParameters)
async def run_spin(rt: Runtime, ctx: JobContext) -> None:
    stored = ctx.job.parameters.as_kind(SpinParameters)
    assert stored is not None
    if stored.warm:
        loop = asyncio.get_running_loop()
        pool = rt.workers()
        await asyncio.gather(*(loop.run_in_executor(pool, warm_process) for _ in range(rt.worker_count())))
    gate = Path(stored.gate)
    await ctx.progress(0.0, f"pid {os.getpid()}")  # the first progress is always written
    while not gate.exists():
        await asyncio.sleep(0.05)
    async with rt.sessions() as session, session.begin():
        await ctx.finish(session, summary={"pid": os.getpid()})


if __name__ == "__main__":
    from graph.cli import app

    app()
