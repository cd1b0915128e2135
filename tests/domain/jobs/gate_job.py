"""A registered job kind for the queue tests: it reports progress in steps until a gate file exists,
so a test decides when a job that a worker process runs ends (no sleeps in the assertions).

Imported by the test and by the worker subprocess (`python -m tests.domain.jobs.gate_job worker`),
which then runs the real `annograph` command with this kind registered besides the product's."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

# Registered before the gate kind: a job runs the first registration its parameters validate as, and
# the parted gate's parameters (gate, items) also validate as the gate's (gate).
import tests.domain.jobs.parted_gate_job  # noqa: F401, I001
from domain.core.job_registry import register
from domain.core.job_runner import JobContext, JobKind
from domain.core.runtime import Runtime
from persistence.documents import JobParameters


class GateParameters(JobParameters):
    gate: str  # the file whose existence ends the job


@register(JobKind.EVALUATION, GateParameters)
async def run_gate_job(rt: Runtime, ctx: JobContext) -> None:
    stored = ctx.job.parameters.as_kind(GateParameters)
    assert stored is not None
    gate = Path(stored.gate)
    steps = 0
    while not gate.exists():
        steps += 1
        await ctx.progress(min(0.9, steps / 1000), f"waiting for {gate.name}")
        await asyncio.sleep(0.05)
    async with rt.sessions() as session, session.begin():
        await ctx.finish(session, summary={"pid": os.getpid()})


if __name__ == "__main__":
    from graph.cli import app

    app()
