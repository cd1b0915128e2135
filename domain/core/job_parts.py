"""Data-parallel jobs: a job's items (episode ids) split into parts that several participants take
at once, in one process (the embedded queue) or in many `annograph worker` processes.

The job's function calls `run_in_parts(rt, ctx, items, run_item, finish)`. The first participant
(the job's own task) plans the parts once (persistence/tables/job_part.py) and, with the procrastinate
queue, defers JOINERS more tasks of the same job that any idle worker takes. Every participant runs
`lanes` loops (one per process of its pool): claim a part nobody holds, run its items, store its
result under the part's key (a part run twice overwrites itself, never duplicates), heartbeat while
it works. A part whose holder stopped heartbeating for STALLED seconds is taken over; one lost more
than `settings.job_attempts` times fails the job with WORKER_LOST naming the part. The store of the
last part releases the final step (part -1), claimed like a part: `finish(results)` stores the job's
outcome and `ctx.finish` in one transaction, which also deletes the parts, so a cancelled or failed
job still leaves nothing but its row. Progress adds up the parts' items and reaches `jobUpdates`
through the broadcaster from any process.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from pydantic import JsonValue

from domain.core.errors import DomainError
from domain.core.job_runner import JobContext, JobEnded
from domain.core.job_states import JobStatus
from persistence.columns import utcnow
from persistence.job_queue import STALLED
from persistence.repositories import job_part as parts_repo
from persistence.tables import JobPartRow

if TYPE_CHECKING:
    from domain.core.runtime import Runtime

PART_ITEMS = 25  # the most items in a part: small enough that a lost part costs little
MIN_PARTS = 16  # a job of few items still splits this many ways (one item a part at least)
JOINERS = 8  # tasks deferred to join a queued job: more than the workers that can usefully join
BEAT = 1.0  # seconds between a part's heartbeats (and progress writes)
POLL = 0.25  # seconds a participant with nothing to claim waits before looking again

RunItem = Callable[[int], Awaitable[JsonValue]]
# A whole part at once (one batched model call): its items -> each item's result; `advance(n)` counts
# n more items done, for progress.
RunPart = Callable[[list[int], Callable[[int], None]], Awaitable[dict[int, JsonValue]]]
Finish = Callable[[dict[int, JsonValue]], Awaitable[None]]


class WorkerLost(DomainError):
    """A part's participants kept being lost (killed, or silent for STALLED seconds)."""

    code = "WORKER_LOST"


def split(items: Sequence[int], size: int | None = None) -> list[list[int]]:
    """`items` in order, in parts of `size` items, by default at most PART_ITEMS and at least
    MIN_PARTS parts when there are that many items."""
    size = size or max(1, min(PART_ITEMS, len(items) // MIN_PARTS))
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


async def run_in_parts(
    rt: Runtime,
    ctx: JobContext,
    items: Sequence[int],
    run_item: RunItem | None,
    finish: Finish,
    *,
    run_part: RunPart | None = None,
    part_size: int | None = None,
    noun: str = "episodes",
    lanes: int | None = None,
) -> None:
    """Take part in the job: plan it (the job's own task), run parts, and run the final step if it
    falls to this participant. Each part runs `run_item` on its items one after another, or
    `run_part` on them all at once; `part_size` items a part (default: see `split`); `lanes` parts at
    once in this participant (default: one per pool process). Returns when the job has ended (raises
    JobEnded when another participant ended it, WorkerLost when a part was lost too often)."""
    if (run_item is None) == (run_part is None):
        raise TypeError("run_in_parts takes run_item or run_part")
    participant = _Participant(rt, ctx, run_item, run_part, finish, noun)
    if not ctx.joining:
        await participant.plan(split(items, part_size))
    count = lanes if lanes is not None else rt.worker_count()
    lanes_run = [asyncio.create_task(participant.lane(), name=f"job-{ctx.job.id}-lane") for _ in range(count)]
    try:
        done = await asyncio.gather(*lanes_run)
    finally:
        for lane in lanes_run:
            lane.cancel()
        await asyncio.gather(*lanes_run, return_exceptions=True)
    if not any(done):  # another participant ran the final step
        raise JobEnded(ctx.job.id)


class _Participant:
    def __init__(
        self,
        rt: Runtime,
        ctx: JobContext,
        run_item: RunItem | None,
        run_part: RunPart | None,
        finish: Finish,
        noun: str,
    ) -> None:
        self.rt = rt
        self.ctx = ctx
        self.job_id = ctx.job.id
        self.run_item = run_item
        self.run_part = run_part
        self.finish = finish
        self.noun = noun
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.parts = 0

    async def plan(self, groups: list[list[int]]) -> None:
        async with self.rt.sessions() as session, session.begin():
            if await parts_repo.lock_job(session, self.job_id) != JobStatus.RUNNING.value:
                raise JobEnded(self.job_id)
            if await parts_repo.count_parts(session, self.job_id) > 0:
                return  # planned by an earlier attempt of this task: take part in it
            await parts_repo.create_parts(session, self.job_id, groups)
            queue = self.rt.jobs.queue
            if queue is not None:  # in the plan's transaction: joiners never find no parts
                for _ in range(min(JOINERS, len(groups) - 1)):
                    await queue.defer(
                        session, job_id=self.job_id, queue=self.rt.jobs.queue_of(self.ctx.job), join=True
                    )

    async def lane(self) -> bool:
        """Claim and run parts until the job ends; True if this lane ran the final step. A lane
        cancelled (an abort, its worker stopping) gives its part back at once."""
        try:
            return await self._lane()
        except asyncio.CancelledError:
            await asyncio.shield(self._release())
            raise

    async def _release(self) -> None:
        async with self.rt.sessions() as session, session.begin():
            await parts_repo.release_parts(session, self.job_id, self.name)

    async def _lane(self) -> bool:
        while True:
            part = await self._claim()
            if part is None:
                if await self._ended():
                    return False
                await asyncio.sleep(POLL)
                continue
            if part.attempts > self.rt.jobs.attempts:
                raise WorkerLost(
                    f"{self._describe(part)} was lost with its worker {part.attempts - 1} times "
                    f"(settings.job_attempts is {self.rt.jobs.attempts})"
                )
            if part.part == parts_repo.FINAL:
                await self._final(part)
                return True
            await self._run_part(part)

    async def _claim(self) -> JobPartRow | None:
        now = utcnow()
        stale = now - timedelta(seconds=STALLED)
        async with self.rt.sessions() as session:
            candidates = await parts_repo.list_claimable(session, self.job_id, stale, limit=4)
        for part_id in candidates:
            async with self.rt.sessions() as session, session.begin():
                part = await parts_repo.claim_part(session, part_id, self.name, now, stale)
            if part is not None:
                return part
        return None

    async def _ended(self) -> bool:
        """The job is no longer RUNNING, or its parts are gone (its last write deletes them)."""
        async with self.rt.sessions() as session:
            status = await parts_repo.job_status(session, self.job_id)
            left = await parts_repo.count_parts(session, self.job_id)
        return status != JobStatus.RUNNING.value or left == 0

    def _describe(self, part: JobPartRow) -> str:
        if part.part == parts_repo.FINAL:
            return "the final step"
        first, last = (part.items[0], part.items[-1]) if part.items else (None, None)
        return f"part {part.part + 1} ({part.size} {self.noun}, ids {first}-{last})"

    async def _run_part(self, part: JobPartRow) -> None:
        results: dict[str, JsonValue] = {}
        advanced = [0]

        def advance(count: int) -> None:
            advanced[0] += count

        async def items() -> None:
            if self.run_part is not None:
                found = await self.run_part(list(part.items), advance)
                results.update({str(item): found.get(item) for item in part.items})
                return
            assert self.run_item is not None
            for item in part.items:
                results[str(item)] = await self.run_item(item)
                advance(1)

        if not await self._holding(part, items(), lambda: advanced[0]):
            return
        async with self.rt.sessions() as session, session.begin():
            # The job row's lock makes the stores of the last parts take turns: exactly one of them
            # sees every part DONE and releases the final step.
            if await parts_repo.lock_job(session, self.job_id) != JobStatus.RUNNING.value:
                raise JobEnded(self.job_id)
            if await parts_repo.store_part(session, part.id, self.name, results) is not None:
                await parts_repo.release_final(session, self.job_id)
        await self._progress()

    async def _final(self, part: JobPartRow) -> None:
        async with self.rt.sessions() as session:
            results = await parts_repo.read_results(session, self.job_id)
        # finish's transaction calls ctx.finish, which deletes the parts (and refuses an ended job).
        if not await self._holding(part, self.finish(results), lambda: 0):
            raise JobEnded(self.job_id)  # another participant took the final step over

    async def _holding(self, part: JobPartRow, work: Awaitable[None], done: Callable[[], int]) -> bool:
        """Run `work` while heartbeating the part every BEAT seconds; False when the part was taken
        over (the work is cancelled); JobEnded when the job ended meanwhile."""
        task = asyncio.ensure_future(work)
        try:
            while not task.done():
                await asyncio.wait({task}, timeout=BEAT)
                if task.done():
                    break
                async with self.rt.sessions() as session, session.begin():
                    held = await parts_repo.beat(session, part.id, self.name, utcnow(), done())
                if not held:  # taken over after a stall of ours, or deleted with the ended job
                    task.cancel()
                    if await self._ended():
                        raise JobEnded(self.job_id)
                    return False
                if part.part != parts_repo.FINAL:
                    await self._progress()
            task.result()  # an item's error fails the job
            return True
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    async def _progress(self) -> None:
        async with self.rt.sessions() as session:
            done, total = await parts_repo.progress(session, self.job_id)
        if total:
            await self.ctx.progress(0.95 * done / total, f"{done}/{total} {self.noun}")
