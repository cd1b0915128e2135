"""Everything a running service holds once: engine, sessions, episode files, events, jobs."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from cachetools import TTLCache
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.core.job_runner import JobRunner
from domain.core.leftovers import sweep_partials
from domain.core.pool_child import die_with_parent
from persistence.engine import (
    SessionFactory,
    create_engine,
    create_read_session_factory,
    create_session_factory,
)
from persistence.episode_sources.readers import EpisodeReaders
from persistence.events import EventHub
from persistence.frame_cache import FrameCache
from persistence.job_queue import ProcrastinateQueue
from persistence.settings import Settings
from persistence.tables import JobRow

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    files: EpisodeReaders
    events: EventHub
    jobs: JobRunner = field(init=False)
    # Sessions for stand-alone reads (loaders, pages): autocommit on PostgreSQL
    # (persistence.engine.create_read_session_factory); never for writes.
    reads: SessionFactory = field(init=False)
    # (dataset id, episode index) -> (dataset, episode) rows for frame requests; short-lived so
    # that re-indexing in another process shows within seconds.
    frame_lookups: TTLCache = field(default_factory=lambda: TTLCache(maxsize=4096, ttl=5.0))
    # token hash -> (token id, expiry, viewer): a request needs no query for a token seen in the
    # last seconds. Revoking clears it here at once; other processes see it within the TTL.
    verified_tokens: TTLCache = field(default_factory=lambda: TTLCache(maxsize=4096, ttl=5.0))
    # Encoded frames by ETag (settings.frame_cache_*): a repeated frame is neither read nor encoded again.
    frame_cache: FrameCache = field(init=False)
    # name -> domain.core.watch.Watch: one poll loop per process for values many subscribers follow.
    watches: dict = field(default_factory=dict)

    _pool: ProcessPoolExecutor | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        # settings.job_queue: procrastinate hands registered jobs to `annograph worker` processes.
        queue = (
            ProcrastinateQueue(self.settings.database_url)
            if self.settings.job_queue == "procrastinate"
            else None
        )
        self.jobs = JobRunner(self.sessions, self.events, queue=queue, attempts=self.settings.job_attempts)
        self.reads = create_read_session_factory(self.engine, self.sessions)
        s = self.settings
        self.frame_cache = FrameCache(s.frame_cache_bytes, s.frame_cache_dir, s.frame_cache_disk_bytes)

    def workers(self) -> ProcessPoolExecutor:
        """The process pool for CPU-bound jobs, started on first use. Spawned, not forked: a fork of
        a process with an event loop and database threads is not safe. Its children die with this
        process (`die_with_parent`): a killed server or worker leaves no orphan computing on."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.worker_count(),
                mp_context=multiprocessing.get_context("spawn"),
                initializer=die_with_parent,
                initargs=(os.getpid(),),
            )
        return self._pool

    def worker_count(self) -> int:
        """How many processes `workers()` runs: settings.worker_processes, else one per CPU."""
        return self.settings.worker_processes or max(1, os.cpu_count() or 1)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        engine = create_engine(settings.database_url)
        return cls(
            settings=settings,
            engine=engine,
            sessions=create_session_factory(engine),
            files=EpisodeReaders(settings.file_cache_size),
            events=EventHub(settings.broadcast_url, prefix=settings.event_prefix),
        )

    async def start(self, *, recover_jobs: bool = True) -> list[JobRow]:
        """Connect; the server (not a CLI command beside it) fails jobs a previous run left unfinished
        and sweeps their half-written files. Returns those jobs: their owners undo what they half did
        (the server calls `episode_export.undo_interrupted_exports`; the runtime imports no service,
        so that no service that takes a Runtime is imported back by it)."""
        await self.events.connect()
        if self.jobs.queue is not None:
            await self.jobs.queue.ensure_schema()
            if self.settings.broadcast_url.startswith("memory"):
                log.warning(
                    "job_queue is procrastinate but broadcast_url is memory://: a worker's job "
                    "progress reaches only the worker's own subscribers"
                )
        if not recover_jobs:
            return []
        interrupted = await self.jobs.recover()
        exports = self.settings.data_roots[0] / "exports"
        await asyncio.to_thread(sweep_partials, self.settings.var_dir, exports)
        return interrupted

    async def stop(self) -> None:
        await self.jobs.shutdown()
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
        if self.jobs.queue is not None:
            await self.jobs.queue.close()
        await self.events.disconnect()
        self.files.close()
        await self.engine.dispose()
