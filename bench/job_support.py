"""What bench.jobs measures with: `annograph worker` subprocesses, a listener that timestamps every event
of the `jobs` channel, and the database load of a stretch of work (pg_stat_database and the CPU of the
database's backends, read from /proc)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text

from domain.core.job_runner import JOBS_CHANNEL
from domain.core.runtime import Runtime

ROOT = Path(__file__).resolve().parent.parent
# A guard against a hang, never a figure: every wait ends as soon as its state is reached.
HANG = 600.0
FINISHED = ("COMPLETED", "FAILED", "CANCELLED")


@contextlib.asynccontextmanager
async def workers(rt: Runtime, env: dict[str, str], count: int, log_dir: Path) -> AsyncIterator[list[int]]:
    """`count` processes of `python -m bench.job_kinds worker --queues cpu` (annograph worker with the
    bench's kinds registered) with `env`, once procrastinate lists them all; their pids. SIGTERM on
    leaving (procrastinate's graceful stop), kill after 30 s."""
    processes: list[subprocess.Popen] = []
    logs: list[Path] = []
    before = await _worker_rows(rt)
    try:
        for i in range(count):
            logs.append(log_dir / f"worker-{time.monotonic_ns()}-{i}.log")
            log = open(logs[-1], "wb")  # noqa: SIM115 - the child's
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "bench.job_kinds", "worker", "--queues", "cpu"],
                    cwd=ROOT,
                    env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        async with asyncio.timeout(HANG):
            while len((await _worker_rows(rt)) - before) < count:
                for process, log_path in zip(processes, logs, strict=True):
                    if process.poll() is not None:
                        tail = log_path.read_text(errors="replace")[-3000:]
                        raise RuntimeError(f"a worker exited with {process.returncode}:\n{tail}")
                await asyncio.sleep(0.1)
        yield [p.pid for p in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                await asyncio.to_thread(process.wait, 30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def _worker_rows(rt: Runtime) -> set[int]:
    async with rt.sessions() as session:
        return set((await session.execute(text("SELECT id FROM procrastinate_workers"))).scalars())


@dataclass
class Watcher:
    """Every (job id, status) heard on the `jobs` channel, with the perf_counter() of its first arrival."""

    heard: dict[tuple[int, str], float] = field(default_factory=dict)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def reached(self, job_id: int, statuses: Iterable[str]) -> tuple[str, float]:
        """The first of `statuses` heard for the job and when."""
        wanted = tuple(statuses)
        async with asyncio.timeout(HANG):
            while True:
                for status in wanted:
                    if (job_id, status) in self.heard:
                        return status, self.heard[(job_id, status)]
                self._changed.clear()
                await self._changed.wait()

    def note(self, message: dict) -> None:
        self.heard.setdefault((int(message["id"]), str(message["status"])), time.perf_counter())
        self._changed.set()


@contextlib.asynccontextmanager
async def watching(rt: Runtime) -> AsyncIterator[Watcher]:
    """A Watcher fed by a subscription of `rt` to the `jobs` channel for as long as the block runs."""
    watcher = Watcher()
    subscribed = asyncio.Event()

    async def listen() -> None:
        async with rt.events.subscribe(JOBS_CHANNEL) as messages:
            subscribed.set()
            async for message in messages:
                watcher.note(message)

    task = asyncio.create_task(listen(), name="bench-jobs-listener")
    try:
        async with asyncio.timeout(30):
            await subscribed.wait()
        yield watcher
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


# A backend's statistics reach pg_stat_database when it goes idle, at most once a second, and at the
# latest 10 s later (PostgreSQL 15's PGSTAT_IDLE_INTERVAL): read them once that has passed.
STATS_FLUSH = 11.0
STAT_COLUMNS = ("xact_commit", "tup_inserted", "tup_updated", "tup_deleted", "blks_hit")


@dataclass
class Load:
    """What a stretch of work cost the database: pg_stat_database deltas of its database (everything on
    it: workers' heartbeats and the broadcaster's NOTIFY too) and CPU seconds of its backends."""

    stats: dict[str, int]
    backend_cpu_s: float | None  # None: /proc shows no backend of the database (a remote server)


class LoadMeter:
    """Samples pg_stat_database and the database's backends' CPU (utime + stime in /proc/<pid>/stat).
    Backends are looked up in pg_stat_activity while the work runs; one that appears meanwhile counts
    from 0."""

    def __init__(self, rt: Runtime, flush: float = STATS_FLUSH) -> None:
        self._rt = rt
        self._flush = flush  # seconds waited for the statistics to reach pg_stat_database
        self._first: dict[int, int] = {}
        self._last: dict[int, int] = {}
        self._stats: dict[str, int] = {}
        self._task: asyncio.Task | None = None
        self._tick = os.sysconf("SC_CLK_TCK")

    async def __aenter__(self) -> LoadMeter:
        await asyncio.sleep(self._flush)
        self._stats = await self._read_stats()
        await self._sample(first=True)
        self._task = asyncio.create_task(self._sample_every(0.25))
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self._sample(first=False)

    async def result(self) -> Load:
        """The deltas, read once the backends' statistics have been flushed."""
        await asyncio.sleep(self._flush)
        after = await self._read_stats()
        cpu = sum(ticks - self._first.get(pid, 0) for pid, ticks in self._last.items()) / self._tick
        return Load({k: after[k] - self._stats[k] for k in STAT_COLUMNS}, cpu if self._last else None)

    async def _read_stats(self) -> dict[str, int]:
        async with self._rt.sessions() as session:
            await session.execute(text("SELECT pg_stat_clear_snapshot()"))
            row = (
                await session.execute(
                    text(
                        f"SELECT {', '.join(STAT_COLUMNS)} FROM pg_stat_database"
                        " WHERE datname = current_database()"
                    )
                )
            ).one()
        return dict(zip(STAT_COLUMNS, (int(v) for v in row), strict=True))

    async def _sample_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            await self._sample(first=False)

    async def _sample(self, *, first: bool) -> None:
        async with self._rt.sessions() as session:
            result = await session.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            )
            pids = list(result.scalars())
        for pid in pids:
            ticks = _cpu_ticks(pid)
            if ticks is None:
                continue
            if first:
                self._first[pid] = ticks
            self._last[pid] = ticks


def _cpu_ticks(pid: int) -> int | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)


def percentile(samples: list[float], p: float) -> float:
    """The nearest-rank `p` percentile (0..100) of `samples`."""
    ordered = sorted(samples)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]
