"""`annograph worker`: a procrastinate worker that runs queued jobs (settings.job_queue = procrastinate).

The worker process builds its own Runtime (database, data roots, events) and runs the task
`annograph.run_job(job_id, join=False)`: the registered function of the job's kind (domain.core.job_registry)
through the same JobRunner as the server, so progress and the outcome are written to the job's row
and published on the broadcaster (`jobUpdates` on any server sees them when broadcast_url is shared:
redis:// or postgres://). procrastinate cancels the task when the job is aborted (cancelJob), which
the runner records as CANCELLED. Every STALLED seconds the worker also retries, or fails with
WORKER_LOST, the jobs of workers that stopped heartbeating.

Stopping (SIGTERM/SIGINT) is graceful: the worker takes no more jobs, lets the running ones finish
for settings.worker_grace seconds, then procrastinate cancels the rest with the reason SHUTDOWN; the
runner puts those back to PENDING ("handed back: worker <name> stopped") and the task raises
HandedBack, which procrastinate retries at once: another worker starts the job from the beginning.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket

from procrastinate import JobContext as QueueContext
from procrastinate.job_context import AbortReason

# Imported for their registrations (domain.core.job_registry): the kinds a worker can run.
import domain.analysis.runs
import domain.datasets.service
import domain.detection.service
import domain.edits.export
import domain.objects.transfer.exports
import domain.validation.reports.service
import domain.validation.runs  # noqa: F401
from domain.core.job_registry import registered_body
from domain.core.runtime import Runtime
from persistence.job_queue import HAND_BACK, HEARTBEAT, STALLED, TASK_NAME, HandedBack
from persistence.settings import Settings, SettingsError

log = logging.getLogger(__name__)

QUEUES = ("cpu", "io", "detect")


async def run_worker(settings: Settings, queues: list[str] | None = None, concurrency: int = 1) -> None:
    """Run a worker until it is stopped (SIGINT/SIGTERM: procrastinate stops taking jobs)."""
    if settings.job_queue != "procrastinate":
        raise SettingsError("ANNOGRAPH_JOB_QUEUE: `annograph worker` needs procrastinate")
    rt = Runtime.build(settings)
    await rt.start(recover_jobs=False)
    queue = rt.jobs.queue
    assert queue is not None  # job_queue is procrastinate
    body = registered_body(rt)
    name = f"{socket.gethostname()}:{os.getpid()}"

    @queue.app.task(name=TASK_NAME, pass_context=True, retry=HAND_BACK)
    async def run_job(context: QueueContext, job_id: int, join: bool = False) -> None:
        def handed_back() -> str | None:
            # Why procrastinate cancelled the task: SHUTDOWN once the grace is over, else cancelJob.
            stopping = context.abort_reason() == AbortReason.SHUTDOWN
            return f"handed back: worker {name} stopped" if stopping else None

        try:
            await rt.jobs.run_queued(job_id, body, handed_back=handed_back, join=join)
        except asyncio.CancelledError:
            if handed_back() is None:
                raise
            raise HandedBack(f"job {job_id}: handed back by worker {name}") from None

    async def reap() -> None:
        while True:
            try:
                await rt.jobs.reap_stalled()
            except Exception:  # noqa: BLE001 - the next round tries again
                log.warning("could not check for stalled jobs", exc_info=True)
            await asyncio.sleep(STALLED)

    reaper = asyncio.create_task(reap(), name="reap-stalled")
    try:
        await queue.app.run_worker_async(
            queues=queues or list(QUEUES),
            concurrency=concurrency,
            name=name,
            shutdown_graceful_timeout=settings.worker_grace,
            # A succeeded entry says nothing the job row does not: kept, they only grow the queue's
            # table and the dead versions its job fetch walks (bench.jobs).
            delete_jobs="successful",
            update_heartbeat_interval=HEARTBEAT,
            stalled_worker_timeout=STALLED,
            install_signal_handlers=True,
        )
    finally:
        reaper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reaper
        await rt.stop()
