"""Jobs as tasks of procrastinate, the PostgreSQL task queue (settings.job_queue = "procrastinate").

Every queued job is one procrastinate job of the task `annograph.run_job` with args {"job_id": <our
job id>}, on its kind's queue, locked by its target (procrastinate runs jobs of one lock one after
another, as the embedded runner does per target). Deferring is one SQL function call
(`procrastinate_defer_jobs_v1`) in the caller's SQLAlchemy transaction, so a job row and its queue
entry commit together. Everything else (abort, heartbeats, stalled jobs, the worker) goes through
procrastinate's own App over a psycopg connection pool opened by `open()`.

procrastinate's schema is applied by `ensure_schema` (the server's start and `annograph migrate`
with the procrastinate queue): its tables, types and functions are all named procrastinate_*.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass

import procrastinate
import psycopg
from procrastinate import jobs as procrastinate_jobs
from procrastinate.retry import BaseRetryStrategy, RetryDecision
from procrastinate.schema import SchemaManager
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)

TASK_NAME = "annograph.run_job"
# A worker heartbeats every HEARTBEAT seconds; one silent for STALLED seconds is taken for dead.
HEARTBEAT = 2.0
STALLED = 10.0

_DEFER = text(
    "SELECT (procrastinate_defer_jobs_v1(ARRAY[ROW(CAST(:queue AS varchar), CAST(:task AS varchar), 0,"
    " CAST(:lock AS text), NULL::text, CAST(:args AS jsonb), NULL::timestamptz)"
    "::procrastinate_job_to_defer_v1]))[1]"
)


class HandedBack(Exception):
    """Raised by the task of a job its stopping worker hands back (its row is PENDING again)."""


class _HandBack(BaseRetryStrategy):
    """Retry a handed-back job at once (procrastinate puts it back to `todo`, counting an attempt);
    any other error or an abort ends the task as it is."""

    def get_retry_decision(
        self, *, exception: BaseException, job: procrastinate_jobs.Job
    ) -> RetryDecision | None:
        return RetryDecision(retry_in={"seconds": 0}) if isinstance(exception, HandedBack) else None


HAND_BACK = _HandBack()


def conninfo(database_url: str) -> str:
    """The libpq address of an SQLAlchemy PostgreSQL URL (postgresql+asyncpg://... -> postgresql://...)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(frozen=True)
class QueuedJob:
    """Our job `job_id` as procrastinate holds it: its procrastinate id, status (todo, doing, ...),
    attempts so far and whether the worker running it stopped heartbeating."""

    queue_id: int
    job_id: int
    status: str
    attempts: int
    stalled: bool


class ProcrastinateQueue:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(conninfo=conninfo(database_url)),
        )
        self._open = False

    async def open(self) -> None:
        if not self._open:
            await self.app.open_async()
            self._open = True

    async def close(self) -> None:
        if self._open:
            self._open = False
            await self.app.close_async()

    async def ensure_schema(self) -> None:
        """Apply procrastinate's schema once (a database that has its jobs table is left as it is),
        and our index on the job id its entries carry. Under an advisory lock in one transaction:
        servers and workers starting together on a new database do not race to create it. Opens the
        app (its connection pool) for what follows."""
        await self.open()
        async with await psycopg.AsyncConnection.connect(conninfo(self.database_url)) as connection:
            async with connection.transaction():
                await connection.execute(
                    "SELECT pg_advisory_xact_lock(hashtext('annograph:procrastinate-schema'))"
                )
                found = await (
                    await connection.execute("SELECT to_regclass('procrastinate_jobs')")
                ).fetchone()
                if found is None or found[0] is None:
                    await connection.execute(SchemaManager.get_schema())
                    log.info("applied procrastinate's schema")
                # `find` and `live` look entries up by our job id: without it, a scan of every job ever.
                await connection.execute(
                    "CREATE INDEX IF NOT EXISTS annograph_procrastinate_jobs_job_id ON procrastinate_jobs"
                    " (((args->>'job_id')::bigint))"
                )

    async def defer(
        self, session: AsyncSession, *, job_id: int, queue: str, lock: str | None = None, join: bool = False
    ) -> int:
        """Queue our job `job_id` in the caller's transaction; the procrastinate job's id. `join`: a
        task that joins the data-parallel job its own task runs (no lock: they run at once)."""
        args: dict[str, object] = {"job_id": job_id}
        if join:
            args["join"] = True
        result = await session.execute(
            _DEFER, {"queue": queue, "task": TASK_NAME, "lock": lock, "args": json.dumps(args)}
        )
        return int(result.scalar_one())

    async def find(self, job_ids: Iterable[int]) -> dict[int, QueuedJob]:
        """The procrastinate job that speaks for each of our jobs that has one (a running one, else a
        waiting one, else the newest), by our job id."""
        ids = [int(i) for i in job_ids]
        if not ids:
            return {}
        await self.open()
        rows = await self.app.connector.execute_query_all_async(
            "SELECT DISTINCT ON ((j.args->>'job_id')::bigint) j.id, (j.args->>'job_id')::bigint AS job_id,"
            " j.status, j.attempts,"
            " (j.status = 'doing' AND (w.id IS NULL OR w.last_heartbeat < NOW() - make_interval("
            "secs => %(stalled)s))) AS stalled"
            " FROM procrastinate_jobs j LEFT JOIN procrastinate_workers w ON w.id = j.worker_id"
            " WHERE j.task_name = %(task)s AND (j.args->>'job_id')::bigint = ANY(%(ids)s)"
            # A data-parallel job has several entries (its own and its joiners): the liveliest speaks
            # for it, running before waiting before ended.
            " ORDER BY (j.args->>'job_id')::bigint, j.status = 'doing' DESC, j.status = 'todo' DESC,"
            " j.id DESC",
            task=TASK_NAME,
            ids=ids,
            stalled=STALLED,
        )
        return {
            r["job_id"]: QueuedJob(r["id"], r["job_id"], r["status"], r["attempts"], r["stalled"])
            for r in rows
        }

    async def live(self, job_id: int) -> list[int]:
        """The ids of every waiting or running procrastinate job of our job `job_id` (a data-parallel
        job has its own and its joiners')."""
        await self.open()
        rows = await self.app.connector.execute_query_all_async(
            "SELECT id FROM procrastinate_jobs WHERE task_name = %(task)s"
            " AND (args->>'job_id')::bigint = %(job_id)s AND status IN ('todo', 'doing') ORDER BY id",
            task=TASK_NAME,
            job_id=job_id,
        )
        return [int(r["id"]) for r in rows]

    async def abort(self, queue_id: int) -> bool:
        """Ask procrastinate to abort a job: a waiting one is cancelled, a running one's task is
        cancelled by its worker (within its abort polling interval, or at once through NOTIFY)."""
        await self.open()
        return await self.app.job_manager.cancel_job_by_id_async(queue_id, abort=True)

    async def stalled(self) -> list[procrastinate_jobs.Job]:
        """Jobs of our task running on workers that stopped heartbeating for STALLED seconds."""
        await self.open()
        return list(
            await self.app.job_manager.get_stalled_jobs(task_name=TASK_NAME, seconds_since_heartbeat=STALLED)
        )

    async def retry(self, job: procrastinate_jobs.Job) -> None:
        await self.open()
        await self.app.job_manager.retry_job(job)

    async def give_up(self, queue_id: int) -> None:
        """Mark a stalled job failed in procrastinate (it is not retried again)."""
        await self.open()
        await self.app.job_manager.finish_job_by_id_async(
            queue_id, status=procrastinate_jobs.Status.FAILED, delete_job=False
        )
