"""A registered data-parallel job kind for the queue tests (domain/core/job_parts.py): each item waits
until a gate file exists and returns the process that ran it, so a test sees parts held by several
workers at once and decides when they end (no sleeps in the assertions). Registered in worker
subprocesses through tests/domain/jobs/gate_job.py."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from pydantic import JsonValue

from domain.core.job_parts import run_in_parts
from domain.core.job_registry import register
from domain.core.job_runner import JobContext, JobKind
from domain.core.runtime import Runtime
from persistence.documents import JobParameters


class PartedGateParameters(JobParameters):
    gate: str  # the file whose existence lets every item end
    items: int  # items 0 .. items-1


@register(JobKind.EVALUATION, PartedGateParameters)
async def run_parted_gate_job(rt: Runtime, ctx: JobContext) -> None:
    stored = ctx.job.parameters.as_kind(PartedGateParameters)
    assert stored is not None
    gate = Path(stored.gate)

    async def run_item(item: int) -> JsonValue:
        while not gate.exists():
            await asyncio.sleep(0.05)
        return {"item": item, "pid": os.getpid()}

    async def finish(results: dict[int, JsonValue]) -> None:
        pids = sorted(
            {r["pid"] for r in results.values() if isinstance(r, dict) and isinstance(r["pid"], int)}
        )
        async with rt.sessions() as session, session.begin():
            await ctx.finish(session, summary={"items": sorted(results), "pids": pids})

    await run_in_parts(rt, ctx, list(range(stored.items)), run_item, finish, noun="items", lanes=2)
