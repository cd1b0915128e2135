"""Jobs: anything longer than a request, run in the server process with progress and versions.

A job row is committed before its work starts and every change is published on the `jobs`
channel after commit. The work itself is an async function given a `JobContext`; it reports
progress and records its outcome in the same transaction as its data (`ctx.finish`), so a
completed job always has its data and a failed one left none. Every status change is checked
against `job_states`, the job state machine.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.core.errors import DomainError, NotFound
from domain.core.job_states import FINISHED, MOVES, JobStatus, check_move
from persistence.columns import utcnow
from persistence.documents import JobParameters, JobResult, JobSummary
from persistence.engine import SessionFactory
from persistence.events import EventHub
from persistence.job_queue import ProcrastinateQueue
from persistence.repositories import job as jobs_repo
from persistence.repositories import job_part as parts_repo
from persistence.tables import JobRow

log = logging.getLogger(__name__)

JOBS_CHANNEL = "jobs"
# Progress is written at most this often; the last step is always written.
PROGRESS_INTERVAL = 0.2
FINISH_ATTEMPTS = 5
# A cancel of a job running elsewhere (a procrastinate worker) waits this long for it to end.
REMOTE_CANCEL_WAIT = 30.0


class JobKind(StrEnum):
    INDEXING = "INDEXING"
    ANALYSIS = "ANALYSIS"
    DETECTION = "DETECTION"
    EXPORT = "EXPORT"
    IMPORT = "IMPORT"
    EVALUATION = "EVALUATION"


class JobEnded(Exception):
    """Raised in a job's work when another participant of a data-parallel job ended it (completed,
    cancelled, failed): the runner writes nothing more for it."""

    def __init__(self, job_id: int) -> None:
        super().__init__(f"job {job_id} was ended by another participant")
        self.job_id = job_id


class JobContext:
    def __init__(self, runner: JobRunner, job: JobRow, joining: bool = False) -> None:
        self._runner = runner
        self.job = job
        # True for a participant that joins a data-parallel job another task started
        # (domain/core/job_parts.py): it neither starts nor completes the job itself.
        self.joining = joining
        self._last_write = 0.0
        self._on_end: list[Callable[[], Awaitable[None]]] = []

    def on_end(self, undo: Callable[[], Awaitable[None]]) -> None:
        """Run `undo` once this process has ended the job FAILED or CANCELLED (not when its worker
        hands it back, nor when it completed): what the job wrote outside the database goes with it."""
        self._on_end.append(undo)

    async def _ended(self) -> None:
        for undo in self._on_end:
            try:
                await asyncio.shield(undo())
            except Exception:  # noqa: BLE001 - the job's status is stored; a leftover is swept at start
                log.warning("job %s: could not undo what it wrote", self.job.id, exc_info=True)

    async def progress(self, fraction: float, message: str | None = None) -> None:
        now = time.monotonic()
        if fraction < 1.0 and now - self._last_write < PROGRESS_INTERVAL:
            return
        self._last_write = now
        await self._runner._update(self.job, progress=min(max(fraction, 0.0), 1.0), message=message)

    async def finish(
        self,
        session: AsyncSession,
        *,
        summary: JobSummary | dict[str, Any],
        result: JobResult | dict[str, Any] | None = None,
        dataset_id: int | None = None,
        message: str | None = None,
    ) -> None:
        """Mark the job completed inside the caller's transaction (published after its commit).
        `summary` and `result` are the kind's documents (persistence/documents/job.py) or their JSON
        form, camelCase keys; the job's columns validate them. Raises JobEnded (the caller's
        transaction rolls back) when the job ended meanwhile: another participant cancelled it."""
        if await parts_repo.lock_job(session, self.job.id) != JobStatus.RUNNING.value:
            raise JobEnded(self.job.id)
        await parts_repo.delete_parts(session, [self.job.id])
        values = dict(
            status=check_move(self.job.status, JobStatus.COMPLETED, self.job.id).value,
            progress=1.0,
            summary=summary,
            result=result,
            message=message,
            finished_at=utcnow(),
        )
        if dataset_id is not None:
            values["dataset_id"] = dataset_id
        await jobs_repo.update_job(session, self.job.id, **values)
        self._runner._finished_in_body.add(self.job.id)


JobBody = Callable[[JobContext], Awaitable[None]]

# The queue a kind's jobs wait on with the procrastinate executor: workers choose their queues
# (`annograph worker --queues detect` on a GPU machine).
QUEUES: dict[JobKind, str] = {
    JobKind.ANALYSIS: "cpu",
    JobKind.EXPORT: "io",
    JobKind.IMPORT: "io",
    JobKind.INDEXING: "io",
    JobKind.DETECTION: "detect",
    JobKind.EVALUATION: "detect",
}


class JobRunner:
    """Runs jobs as asyncio tasks of the server process (CPU work goes to threads or processes), or,
    with a procrastinate `queue`, hands the jobs whose work is registered (a body with `queueable`,
    domain.core.job_registry) to `annograph worker` processes; the rest still run here."""

    def __init__(
        self,
        sessions: SessionFactory,
        events: EventHub,
        queue: ProcrastinateQueue | None = None,
        attempts: int = 3,
    ) -> None:
        self._sessions = sessions
        self._events = events
        self.queue = queue
        self.attempts = attempts
        self._tasks: dict[int, asyncio.Task] = {}
        self._finished_in_body: set[int] = set()
        self._target_locks: dict[str, asyncio.Lock] = {}
        self._version_locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def submit(
        self,
        *,
        kind: JobKind,
        target: str,
        body: JobBody,
        parameters: JobParameters | None = None,
        dataset_id: int | None = None,
    ) -> JobRow:
        # One version per (kind, target): allocations in this process queue on a lock; another
        # process taking the same number first makes the insert fail, and it takes the next one.
        queued = self.queue is not None and getattr(body, "queueable", False)
        lock = self._version_locks.setdefault((kind.value, target), asyncio.Lock())
        async with lock:
            for attempt in range(20):
                try:
                    async with self._sessions() as session, session.begin():
                        job = await self.add(
                            session, kind=kind, target=target, parameters=parameters, dataset_id=dataset_id
                        )
                        if queued:
                            assert self.queue is not None
                            # In the job's transaction: the row and its queue entry commit together.
                            await self.queue.defer(
                                session, job_id=job.id, queue=QUEUES[kind], lock=f"target:{target}"
                            )
                    break
                except IntegrityError:
                    if attempt == 19:
                        raise
                    await asyncio.sleep(random.uniform(0, 0.01 * (attempt + 1)))
        if queued:
            await self._publish(job)
        else:
            await self.start(job, body)
        return job

    async def add(
        self,
        session: AsyncSession,
        *,
        kind: JobKind,
        target: str,
        parameters: JobParameters | None = None,
        dataset_id: int | None = None,
    ) -> JobRow:
        """A PENDING job inserted in the caller's transaction, for a service whose write and job stand
        or fall together; `start` it after the commit. Its version is the next of (kind, target) as the
        transaction sees it: the caller serialises submissions to one target (a guarded update of the
        row the job works on), else a concurrent one fails the commit with IntegrityError (`submit`
        retries instead)."""
        version = await jobs_repo.next_job_version(session, kind.value, target)
        return await jobs_repo.create_job(
            session,
            kind=kind.value,
            status=JobStatus.PENDING.value,
            target=target,
            version=version,
            dataset_id=dataset_id,
            parameters=parameters if parameters is not None else JobParameters(),
        )

    async def start(self, job: JobRow, body: JobBody) -> None:
        """Publish a committed PENDING job and run `body` for it (on its target's queue)."""
        await self._publish(job)
        self._tasks[job.id] = asyncio.create_task(self._run(job, job.target, body), name=f"job-{job.id}")

    async def run_queued(
        self,
        job_id: int,
        body: JobBody,
        handed_back: Callable[[], str | None] | None = None,
        join: bool = False,
    ) -> None:
        """Run a queued job in this process (a procrastinate worker's task), until it ends. A job
        already RUNNING is a retry after its first worker was lost: it starts again from nothing (its
        work stores its outcome in one transaction at the end). A finished or missing job is left.
        When the task is cancelled, `handed_back()` says why: a message when the worker is stopping
        (the job goes back to PENDING with it, for another worker), None for an abort (CANCELLED).
        `join`: this task joins a data-parallel job its own task started (job_parts.JOINERS): it takes
        part while the job runs and never starts or completes it."""
        async with self._sessions() as session:
            job = await jobs_repo.read_job(session, job_id)
        if job is None or JobStatus(job.status) in FINISHED:
            log.warning("queued job %s is %s: nothing to run", job_id, job.status if job else "missing")
            return
        if join:
            if job.status != JobStatus.RUNNING.value:
                return  # its own task has not started it (or it ended): a later joiner will do
            await self._join(job, body, handed_back)
            return
        task = asyncio.current_task()
        assert task is not None
        self._tasks[job.id] = task
        await self._run(
            job, job.target, body, resume=job.status == JobStatus.RUNNING.value, handed_back=handed_back
        )

    async def _join(self, job: JobRow, body: JobBody, handed_back: Callable[[], str | None] | None) -> None:
        ctx = JobContext(self, job, joining=True)
        try:
            await body(ctx)
            if job.id in self._finished_in_body:  # this participant ran the final step: tell it
                self._finished_in_body.discard(job.id)
                await self._reload_and_publish(job.id)
        except JobEnded:
            return
        except asyncio.CancelledError:
            if handed_back is None or handed_back() is None:  # an abort: the job is cancelled
                await self._finish_quietly(job, status=JobStatus.CANCELLED.value, error_message="cancelled")
            raise  # a stopping worker: its parts were released for the other participants
        except DomainError as exc:
            await self._finish_quietly(
                job, status=JobStatus.FAILED.value, error_code=exc.code, error_message=exc.message
            )
        except Exception:
            log.exception("job %s (%s) failed in a joining task", job.id, job.kind)
            await self._finish_quietly(
                job,
                status=JobStatus.FAILED.value,
                error_code="INTERNAL_SERVER_ERROR",
                error_message="the job failed unexpectedly; the server log has the details",
            )
        finally:
            if job.status in (JobStatus.FAILED.value, JobStatus.CANCELLED.value):
                await ctx._ended()

    async def _run(
        self,
        job: JobRow,
        target: str,
        body: JobBody,
        resume: bool = False,
        handed_back: Callable[[], str | None] | None = None,
    ) -> None:
        # Jobs on one target run one after another: two indexings of one folder must not interleave.
        lock = self._target_locks.setdefault(target, asyncio.Lock())
        ctx = JobContext(self, job)
        try:
            async with lock:
                if resume:
                    await self._update(job, progress=0.0, message="started again", started_at=utcnow())
                else:
                    await self._update(job, status=JobStatus.RUNNING.value, started_at=utcnow())
                await body(ctx)
                if job.id in self._finished_in_body:
                    self._finished_in_body.discard(job.id)
                    await self._reload_and_publish(job.id)
                else:
                    await self._update(
                        job, status=JobStatus.COMPLETED.value, progress=1.0, finished_at=utcnow()
                    )
        except JobEnded:
            await self._reload_and_publish(job.id)
        except asyncio.CancelledError:
            message = handed_back() if handed_back is not None else None
            if message is not None:  # its worker stops: not an end, the queue gives it to another worker
                # A data-parallel job stays RUNNING: its other participants go on, and the queue's
                # retry of this task takes part again (its released parts are anyone's to take).
                if job.status == JobStatus.RUNNING.value and not await self._has_parts(job.id):
                    await self._finish_quietly(
                        job, status=JobStatus.PENDING.value, progress=0.0, message=message, finished_at=None
                    )
            else:
                await self._finish_quietly(job, status=JobStatus.CANCELLED.value, error_message="cancelled")
            raise
        except DomainError as exc:
            await self._finish_quietly(
                job, status=JobStatus.FAILED.value, error_code=exc.code, error_message=exc.message
            )
        except Exception:
            log.exception("job %s (%s) failed", job.id, job.kind)
            await self._finish_quietly(
                job,
                status=JobStatus.FAILED.value,
                error_code="INTERNAL_SERVER_ERROR",
                error_message="the job failed unexpectedly; the server log has the details",
            )
        finally:
            self._tasks.pop(job.id, None)
            self._finished_in_body.discard(job.id)
            if job.status in (JobStatus.FAILED.value, JobStatus.CANCELLED.value):
                await ctx._ended()

    async def _finish_quietly(self, job: JobRow, **values) -> None:
        """The job's last write, shielded from a second cancel and retried: a busy database (SQLite's
        single writer under load) must not leave a cancelled or failed job RUNNING."""
        for attempt in range(FINISH_ATTEMPTS):
            try:
                await asyncio.shield(self._update(job, **{"finished_at": utcnow(), **values}))
                return
            except Exception:
                if attempt == FINISH_ATTEMPTS - 1:
                    log.exception("job %s: its final status %s was not stored", job.id, values.get("status"))
                    return
                await asyncio.sleep(0.05 * (attempt + 1))

    async def _update(self, job: JobRow, **values) -> None:
        if "status" in values:  # the runner's own view of the job: it alone moves a running job
            check_move(job.status, JobStatus(values["status"]), job.id)
        # Shielded: a cancel arriving mid-write must not cut the transaction (on SQLite the interrupted
        # connection would keep the write lock, and the job's CANCELLED could not be stored).
        await asyncio.shield(self._write(job.id, values))
        for key, value in values.items():
            setattr(job, key, value)
        await self._publish(job)

    async def _write(self, job_id: int, values: dict) -> None:
        async with self._sessions() as session, session.begin():
            await jobs_repo.update_job(session, job_id, **values)
            if "status" in values and JobStatus(values["status"]) in FINISHED:
                await parts_repo.delete_parts(session, [job_id])  # a job that ended keeps no parts

    async def _has_parts(self, job_id: int) -> bool:
        async with self._sessions() as session:
            return await parts_repo.count_parts(session, job_id) > 0

    def queue_of(self, job: JobRow) -> str:
        """The procrastinate queue of a job's kind."""
        return QUEUES[JobKind(job.kind)]

    async def _reload_and_publish(self, job_id: int) -> None:
        async with self._sessions() as session:
            job = await jobs_repo.read_job(session, job_id)
        if job is not None:
            await self._publish(job)

    async def _publish(self, job: JobRow) -> None:
        try:
            await self._events.publish(
                JOBS_CHANNEL, {"id": job.id, "datasetId": job.dataset_id, "status": job.status}
            )
        except Exception:  # noqa: BLE001 - the job's state is committed; watchers re-read it later
            log.warning("could not publish job %s", job.id, exc_info=True)

    async def wait(self, job_id: int) -> JobRow:
        """Wait for a job of this process, or one the procrastinate queue holds, to end and return its
        final row (another server's embedded job: its row as it is)."""
        task = self._tasks.get(job_id)
        if task is not None:
            # asyncio.wait returns once the task ends, cancelled or not; a cancel of the caller itself
            # propagates (it must not be swallowed: an export cancelled while it waits for its indexing).
            await asyncio.wait({task})
        elif self.queue is not None:
            entry = (await self.queue.find([job_id])).get(job_id)
            while entry is not None and entry.status in ("todo", "doing"):
                async with self._sessions() as session:
                    job = await jobs_repo.read_job(session, job_id)
                if job is None or JobStatus(job.status) in FINISHED:
                    break
                await asyncio.sleep(0.1)
                entry = (await self.queue.find([job_id])).get(job_id)
        async with self._sessions() as session:
            job = await jobs_repo.read_job(session, job_id)
        if job is None:
            raise NotFound(f"job {job_id} does not exist")
        return job

    async def cancel(self, job_id: int) -> JobRow:
        task = self._tasks.get(job_id)
        if task is not None:
            task.cancel()
        elif self.queue is not None:
            return await self._cancel_queued(job_id)
        return await self.wait(job_id)

    async def _cancel_queued(self, job_id: int) -> JobRow:
        """Ask procrastinate to abort the job: one still waiting is cancelled here, one running has its
        task cancelled by its worker (which marks it CANCELLED); wait a while for that."""
        assert self.queue is not None
        entry = (await self.queue.find([job_id])).get(job_id)
        if entry is not None and entry.status in ("todo", "doing"):
            # Every entry: a data-parallel job's joiners run parts on other workers.
            for queue_id in await self.queue.live(job_id):
                await self.queue.abort(queue_id)
            after = (await self.queue.find([job_id])).get(job_id)
            if after is not None and after.status == "cancelled":  # never started: nobody else ends it
                async with self._sessions() as session:
                    job = await jobs_repo.read_job(session, job_id)
                if job is not None and job.status == JobStatus.PENDING.value:
                    await self._finish_quietly(
                        job, status=JobStatus.CANCELLED.value, error_message="cancelled"
                    )
        deadline = time.monotonic() + REMOTE_CANCEL_WAIT
        while True:
            async with self._sessions() as session:
                job = await jobs_repo.read_job(session, job_id)
            if job is None:
                raise NotFound(f"job {job_id} does not exist")
            if JobStatus(job.status) in FINISHED or time.monotonic() > deadline:
                return job
            if job.status == JobStatus.PENDING.value:
                # Handed back by a stopping worker as the abort came: procrastinate ended its entry
                # (an abort-requested retry fails), so no worker will end the row: end it here.
                entry = (await self.queue.find([job_id])).get(job_id)
                if entry is None or entry.status not in ("todo", "doing"):
                    await self._finish_quietly(
                        job, status=JobStatus.CANCELLED.value, error_message="cancelled"
                    )
                    continue
            await asyncio.sleep(0.1)

    async def recover(self) -> list[JobRow]:
        """Mark jobs a stopped server left unfinished as failed; returns them (their owners undo what
        they half did). With a procrastinate queue, jobs it holds (waiting, or running on a worker that
        heartbeats) are left alone, and jobs of lost workers are retried or failed (`reap_stalled`)."""
        unfinished = MOVES.sources(JobStatus.FAILED)
        only: list[int] | None = None
        if self.queue is not None:
            await self.reap_stalled()
            async with self._sessions() as session:
                ids = await jobs_repo.list_unfinished_job_ids(session, unfinished)
            held = await self.queue.find(ids)
            only = [i for i in ids if i not in held or held[i].status not in ("todo", "doing")]
        # The embedded runner's jobs live in the process that started them: unfinished at start means
        # that process stopped.
        async with self._sessions() as session, session.begin():
            jobs = await jobs_repo.fail_unfinished_jobs(
                session,
                "interrupted: the server stopped",
                utcnow(),
                unfinished=unfinished,
                failed=JobStatus.FAILED.value,
                only=only,
            )
        if jobs:
            log.warning("marked %d interrupted job(s) as failed", len(jobs))
        return jobs

    async def reap_stalled(self) -> list[int]:
        """Jobs whose procrastinate worker stopped heartbeating: started again on another worker while
        they have attempts left (settings.job_attempts in all), else FAILED with WORKER_LOST; the ids
        of the jobs failed."""
        assert self.queue is not None
        failed: list[int] = []
        for entry in await self.queue.stalled():
            job_id = int(str(entry.task_kwargs.get("job_id", 0)))
            if entry.attempts + 1 < self.attempts:
                log.warning(
                    "job %s: its worker was lost, starting it again (attempt %d)", job_id, entry.attempts + 2
                )
                await self.queue.retry(entry)
                continue
            assert entry.id is not None
            await self.queue.give_up(entry.id)
            if await self._has_parts(job_id) and await self.queue.live(job_id):
                # A data-parallel job goes on while other participants take part: a part lost too
                # often fails it (job_parts.WorkerLost names the part).
                continue
            async with self._sessions() as session, session.begin():
                jobs = await jobs_repo.fail_unfinished_jobs(
                    session,
                    f"worker lost: its worker stopped heartbeating ({entry.attempts + 1} attempts)",
                    utcnow(),
                    unfinished=MOVES.sources(JobStatus.FAILED),
                    failed=JobStatus.FAILED.value,
                    only=[job_id],
                    code="WORKER_LOST",
                )
            for job in jobs:
                failed.append(job.id)
                await self._publish(job)
        return failed

    async def shutdown(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
