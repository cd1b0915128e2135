"""The procrastinate job queue against the embedded runner, on a scratch PostgreSQL database:

1. trajectory metrics of 2,000 demo episodes (150 frames, one 16x16 camera) run by 1 and by 2
   `annograph worker --queues cpu` processes, each with a pool of 1 process and with the default pool
   (one per CPU), beside the embedded run in the server process; wall time from runAnalysis's service
   to COMPLETED heard on the `jobs` channel, and the ratio 1 worker / 2 workers;
2. time from runAnalysis returning to the job's first event from its run (RUNNING on the `jobs`
   channel), p50 and p99 over 50 analyses of one episode, an idle worker against the embedded runner;
3. 1,000 no-op jobs through the queue (1 and 2 workers) against the embedded runner: jobs per second
   from the first submit to the last COMPLETED heard, and the database load per job (pg_stat_database
   deltas of the database, CPU of its backends from /proc);
4. cancel latency: 2 workers each running a job that waits forever, time from cancelJob's service to
   CANCELLED heard, p50 / p99 / max per worker (the issue asks for 2 s), beside the embedded runner.

    .venv/bin/python -m bench.jobs [--episodes 2000] [--frames 150] [--runs 50] [--tiny 1000] [--cancels 20]
                                   [--database-url postgresql+asyncpg://.../empty_database]

Every job goes through the public path (run_analysis or JobRunner.submit with the registered body,
then the workers), so the figures follow whatever the runner and the analysis do. Both runners share
one broadcaster (postgres://, LISTEN/NOTIFY on the same database): only where the job runs differs.
Workers are started, listed by procrastinate and have their pools started (bench/job_kinds.py's warm
spin, one per worker) before any clock starts. ANNOGRAPH_BENCH_POSTGRES names the server
(bench/scratch.py); without PostgreSQL the bench says so and measures nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, text

from bench.job_kinds import NoopParameters, SpinParameters
from bench.job_support import (
    FINISHED,
    HANG,
    STATS_FLUSH,
    Load,
    LoadMeter,
    Watcher,
    percentile,
    watching,
    workers,
)
from bench.scratch import SERVER_URL, scratch_postgres
from domain.accounts.users import Role, Viewer, create_user, viewer_of
from domain.analysis.kinds import AnalysisKind
from domain.analysis.runs import run_analysis
from domain.core.job_registry import registered_body
from domain.core.job_runner import JobKind
from domain.core.runtime import Runtime
from domain.datasets.demo import DemoSpec, write_demo_dataset
from domain.datasets.service import register_dataset
from persistence.migrate import upgrade
from persistence.repositories import job as jobs_repo
from persistence.settings import load_settings
from persistence.tables import EpisodeRow

CPUS = os.cpu_count() or 1
CANCEL_TARGET_S = 2.0


@dataclass
class Setup:
    url: str
    tmp: Path
    data_root: Path
    viewer: Viewer
    dataset_id: int
    first_episode: int
    episodes: int
    pools: tuple[int, ...] = (1, CPUS)  # pool sizes section 1 runs the workers with
    stats_flush: float = STATS_FLUSH

    def settings(self, queue: str, pool: int = 0):
        return load_settings(
            var_dir=self.tmp,
            database_url=self.url,
            data_roots=[self.data_root],
            broadcast_url=broadcast_url(self.url),
            job_queue=queue,
            worker_processes=pool,
            log_level="WARNING",
        )

    def worker_env(self, pool: int = 0) -> dict[str, str]:
        return {
            "ANNOGRAPH_DATABASE_URL": self.url,
            "ANNOGRAPH_JOB_QUEUE": "procrastinate",
            "ANNOGRAPH_BROADCAST_URL": broadcast_url(self.url),
            "ANNOGRAPH_VAR_DIR": str(self.tmp),
            "ANNOGRAPH_DATA_ROOTS": str(self.data_root),
            "ANNOGRAPH_WORKER_PROCESSES": str(pool),
            "ANNOGRAPH_LOG_LEVEL": "WARNING",
        }


def broadcast_url(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgres://", 1)


@asynccontextmanager
async def runtime(setup: Setup, queue: str, pool: int = 0) -> AsyncIterator[Runtime]:
    rt = Runtime.build(setup.settings(queue, pool))
    await rt.start(recover_jobs=False)
    try:
        yield rt
    finally:
        await rt.stop()


async def prepare(url: str, tmp: Path, episodes: int, frames: int) -> Setup:
    """Migrate, write the demo dataset, index it (in this process) and create an admin."""
    await asyncio.to_thread(upgrade, url)
    data_root = tmp / "datasets"
    spec = DemoSpec(
        episodes=episodes, min_length=frames, max_length=frames, width=16, height=16, cameras=("front",)
    )
    await asyncio.to_thread(write_demo_dataset, data_root / "demo", spec, None, CPUS)
    setup = Setup(url, tmp, data_root, Viewer(0, "", Role.ADMIN), 0, 0, episodes)
    async with runtime(setup, "procrastinate") as rt:  # applies procrastinate's schema
        pass
    async with runtime(setup, "embedded") as rt:
        indexed = await rt.jobs.wait((await register_dataset(rt, str(data_root / "demo"))).id)
        assert indexed.status == "COMPLETED" and indexed.dataset_id is not None, indexed.error_message
        setup.viewer = viewer_of(await create_user(rt, "bench", Role.ADMIN))
        setup.dataset_id = indexed.dataset_id
        async with rt.sessions() as session:
            setup.first_episode = (
                await session.execute(
                    select(EpisodeRow.id).where(EpisodeRow.dataset_id == indexed.dataset_id).limit(1)
                )
            ).scalar_one()
    return setup


async def spin(rt: Runtime, gate: Path, *, warm: bool = False) -> int:
    job = await rt.jobs.submit(
        kind=JobKind.ANALYSIS,
        target=f"bench-spin-{uuid.uuid4().hex}",
        body=registered_body(rt),
        parameters=SpinParameters(bench="spin", gate=str(gate), warm=warm),
    )
    return job.id


async def spinning_pid(rt: Runtime, job_id: int) -> int:
    """The pid a spin job reported once it spins (after warming its pool)."""
    async with asyncio.timeout(HANG):
        while True:
            async with rt.sessions() as session:
                job = await jobs_repo.read_job(session, job_id)
            assert job is not None
            if job.status in FINISHED:
                raise RuntimeError(f"spin job {job_id} ended {job.status}: {job.error_message}")
            if job.message and job.message.startswith("pid "):
                return int(job.message.split()[1])
            await asyncio.sleep(0.05)


async def warm(rt: Runtime, watcher: Watcher, count: int, tmp: Path) -> None:
    """Start the pool of each of `count` workers: `count` warm spins held at once land one per worker."""
    gate = tmp / f"gate-{uuid.uuid4().hex}"
    ids = [await spin(rt, gate, warm=True) for _ in range(count)]
    pids = {await spinning_pid(rt, i) for i in ids}
    assert len(pids) == count, pids
    gate.touch()
    for i in ids:
        await watcher.reached(i, FINISHED)


async def analysis_seconds(rt: Runtime, watcher: Watcher, setup: Setup) -> float:
    start = time.perf_counter()
    job = await run_analysis(rt, setup.viewer, setup.dataset_id, AnalysisKind.TRAJECTORY_METRICS, None, None)
    status, at = await watcher.reached(job.id, FINISHED)
    assert status == "COMPLETED", status
    return at - start


async def analysis_scaling(setup: Setup) -> list[tuple[int, float, float, float]]:
    """Per pool size (processes per server or worker): (pool, embedded s, 1 worker s, 2 workers s)."""
    rows = []
    for pool in sorted(set(setup.pools)):
        async with runtime(setup, "embedded", pool) as rt, watching(rt) as watcher:
            await asyncio.to_thread(lambda: [f.result() for f in _warm_local(rt)])
            embedded = await analysis_seconds(rt, watcher, setup)
        queued = []
        async with runtime(setup, "procrastinate") as rt, watching(rt) as watcher:
            for count in (1, 2):
                async with workers(rt, setup.worker_env(pool), count, setup.tmp):
                    await warm(rt, watcher, count, setup.tmp)
                    queued.append(await analysis_seconds(rt, watcher, setup))
        rows.append((pool, embedded, queued[0], queued[1]))
    return rows


def _warm_local(rt: Runtime) -> list:
    from bench.job_kinds import warm_process

    return [rt.workers().submit(warm_process) for _ in range(rt.worker_count())]


async def first_event_ms(rt: Runtime, watcher: Watcher, setup: Setup, runs: int, idle: bool) -> list[float]:
    """Milliseconds from run_analysis (one episode) returning to RUNNING heard, `runs` times, one after
    another. `idle`: each waits, after COMPLETED, until procrastinate has closed the job too (the worker is
    idle); else the next starts at once (procrastinate may still hold the target's lock)."""
    samples = []
    for _ in range(runs):
        job = await run_analysis(
            rt, setup.viewer, setup.dataset_id, AnalysisKind.TRAJECTORY_METRICS, None, [setup.first_episode]
        )
        returned = time.perf_counter()
        _, running = await watcher.reached(job.id, ["RUNNING"])
        samples.append((running - returned) * 1000)
        status, _ = await watcher.reached(job.id, FINISHED)
        assert status == "COMPLETED", status
        if idle and rt.jobs.queue is not None:
            async with asyncio.timeout(HANG):
                while await _queued(rt, job.id):
                    await asyncio.sleep(0.01)
    return samples


async def _queued(rt: Runtime, job_id: int) -> bool:
    """procrastinate still holds the job (waiting or running); workers delete a succeeded entry."""
    assert rt.jobs.queue is not None
    entry = (await rt.jobs.queue.find([job_id])).get(job_id)
    return entry is not None and entry.status in ("todo", "doing")


async def latency(setup: Setup, runs: int) -> dict[str, list[float]]:
    """Milliseconds by runner: embedded, an idle worker, a worker given the next run at COMPLETED."""
    found = {}
    async with runtime(setup, "embedded") as rt, watching(rt) as watcher:
        await asyncio.to_thread(lambda: [f.result() for f in _warm_local(rt)])
        found["embedded"] = await first_event_ms(rt, watcher, setup, runs, idle=True)
    async with (
        runtime(setup, "procrastinate") as rt,
        watching(rt) as watcher,
        workers(rt, setup.worker_env(), 1, setup.tmp),
    ):
        await warm(rt, watcher, 1, setup.tmp)
        found["1 idle worker"] = await first_event_ms(rt, watcher, setup, runs, idle=True)
        found["1 worker, at once"] = await first_event_ms(rt, watcher, setup, runs, idle=False)
    return found


async def noop_jobs(rt: Runtime, watcher: Watcher, count: int, flush: float) -> tuple[float, float, Load]:
    """Seconds from the first submit to the last COMPLETED heard, seconds until the last submit
    returned, and the database load, of `count` no-op jobs on distinct targets (submitted 8 at a time)."""
    limit = asyncio.Semaphore(8)
    tag = uuid.uuid4().hex

    async def submit(i: int) -> int:
        async with limit:
            job = await rt.jobs.submit(
                kind=JobKind.ANALYSIS,
                target=f"bench-noop-{tag}-{i}",
                body=registered_body(rt),
                parameters=NoopParameters(bench="noop"),
            )
            return job.id

    async with LoadMeter(rt, flush) as meter:
        start = time.perf_counter()
        ids = await asyncio.gather(*(submit(i) for i in range(count)))
        submitted = time.perf_counter() - start
        ends = [await watcher.reached(i, FINISHED) for i in ids]
        seconds = max(at for _, at in ends) - start
    assert {status for status, _ in ends} == {"COMPLETED"}, {status for status, _ in ends}
    return seconds, submitted, await meter.result()


async def throughput(setup: Setup, count: int) -> tuple[list[tuple[str, float, float, Load]], dict]:
    """Rows (runner, seconds, seconds to submit, load) and procrastinate_jobs' pg_stat_user_tables
    figures at the end (rows live and dead, autovacuums so far)."""
    rows = []
    async with runtime(setup, "embedded") as rt, watching(rt) as watcher:
        rows.append(("embedded (server process)", *await noop_jobs(rt, watcher, count, setup.stats_flush)))
    async with runtime(setup, "procrastinate") as rt, watching(rt) as watcher:
        for n in (1, 2):
            async with workers(rt, setup.worker_env(1), n, setup.tmp):
                await warm(rt, watcher, n, setup.tmp)
                rows.append(
                    (
                        f"procrastinate, {n} worker{'s' * (n > 1)}",
                        *await noop_jobs(rt, watcher, count, setup.stats_flush),
                    )
                )
        async with rt.sessions() as session:
            table = (
                await session.execute(
                    text(
                        "SELECT n_live_tup, n_dead_tup, autovacuum_count, current_setting('autovacuum')"
                        " AS autovacuum FROM pg_stat_user_tables WHERE relname = 'procrastinate_jobs'"
                    )
                )
            ).one()
    return rows, dict(table._mapping)


async def cancel_ms(
    rt: Runtime, watcher: Watcher, setup: Setup, rounds: int, at_once: int
) -> dict[int, list]:
    """Per pid that ran the jobs: milliseconds from JobRunner.cancel called to CANCELLED heard, over
    `rounds` rounds of `at_once` spins cancelled together."""
    found: dict[int, list[float]] = {}
    never = setup.tmp / "never"
    for _ in range(rounds):
        ids = [await spin(rt, never) for _ in range(at_once)]
        pids = [await spinning_pid(rt, i) for i in ids]

        async def cancel(job_id: int) -> float:
            start = time.perf_counter()
            await rt.jobs.cancel(job_id)
            status, at = await watcher.reached(job_id, FINISHED)
            assert status == "CANCELLED", status
            return (at - start) * 1000

        for pid, ms in zip(pids, await asyncio.gather(*(cancel(i) for i in ids)), strict=True):
            found.setdefault(pid, []).append(ms)
    return found


async def cancels(setup: Setup, rounds: int) -> tuple[dict[int, list], dict[int, list]]:
    """(embedded: per pid ms, 2 workers: per pid ms)."""
    async with runtime(setup, "embedded") as rt, watching(rt) as watcher:
        embedded = await cancel_ms(rt, watcher, setup, rounds, 2)
    async with (
        runtime(setup, "procrastinate") as rt,
        watching(rt) as watcher,
        workers(rt, setup.worker_env(1), 2, setup.tmp),
    ):
        await warm(rt, watcher, 2, setup.tmp)
        queued = await cancel_ms(rt, watcher, setup, rounds, 2)
    return embedded, queued


SECTIONS = (1, 2, 3, 4)


def run(
    episodes: int = 2000,
    frames: int = 150,
    runs: int = 50,
    tiny: int = 1000,
    rounds: int = 20,
    server_url: str = SERVER_URL,
    database_url: str | None = None,
    pools: tuple[int, ...] = (1, CPUS),
    stats_flush: float = STATS_FLUSH,
    sections: tuple[int, ...] = SECTIONS,
) -> None:
    """Measure on a scratch database of `server_url`, or on `database_url` (an empty database: the bench
    migrates it and leaves what it wrote). `pools`: the pool sizes of section 1; `stats_flush`: seconds
    waited for pg_stat_database (less gives wrong loads, for a smoke test); `sections`: which to run."""
    with scratch_postgres(server_url) if database_url is None else nullcontext(database_url) as url:
        if url is None:
            print("bench.jobs measures the procrastinate queue: it needs PostgreSQL")
            return
        with tempfile.TemporaryDirectory(prefix="annograph-bench-jobs-") as tmp:
            asyncio.run(
                _measure(url, Path(tmp), episodes, frames, runs, tiny, rounds, pools, stats_flush, sections)
            )


async def _measure(
    url: str,
    tmp: Path,
    episodes: int,
    frames: int,
    runs: int,
    tiny: int,
    rounds: int,
    pools: tuple[int, ...],
    stats_flush: float,
    sections: tuple[int, ...],
) -> None:
    setup = await prepare(url, tmp, episodes, frames)
    setup.pools, setup.stats_flush = pools, stats_flush
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"PostgreSQL, {CPUS} CPUs (load average {load} at the start); broadcaster postgres:// for both")
    print(f"dataset: {episodes} demo episodes x {frames} frames, one 16x16 camera")
    if 1 in sections:
        await _section_analysis(setup)
    if 2 in sections:
        await _section_latency(setup, runs)
    if 3 in sections:
        await _section_throughput(setup, tiny)
    if 4 in sections:
        await _section_cancel(setup, rounds)


async def _section_analysis(setup: Setup) -> None:
    rows = await analysis_scaling(setup)
    print(f"1. trajectory metrics, {setup.episodes} demo episodes (runAnalysis to COMPLETED heard)")
    print("   pool per process     embedded    1 worker   2 workers   1 worker / 2 workers")
    for pool, embedded, one, two in rows:
        print(
            f"   {pool} process{'es' * (pool > 1):2s}         {embedded:7.2f} s   {one:7.2f} s"
            f"   {two:7.2f} s   {one / two:7.2f}x"
        )


async def _section_latency(setup: Setup, runs: int) -> None:
    latencies = await latency(setup, runs)
    print(
        f"2. runAnalysis returned -> first event of its run (RUNNING), {runs} analyses of 1 episode in turn"
    )
    print("                          p50         p99       max   over 1 s")
    for name, samples in latencies.items():
        print(
            f"   {name:18s} {percentile(samples, 50):7.1f} ms  {percentile(samples, 99):7.1f} ms"
            f"  {max(samples):7.1f} ms  {sum(ms > 1000 for ms in samples):3d}"
        )
    idle_ms, embedded_ms = latencies["1 idle worker"], latencies["embedded"]
    print(
        f"   idle worker / embedded {percentile(idle_ms, 50) / percentile(embedded_ms, 50):5.1f}x"
        f"    {percentile(idle_ms, 99) / percentile(embedded_ms, 99):5.1f}x"
    )


async def _section_throughput(setup: Setup, tiny: int) -> None:
    rows, table = await throughput(setup, tiny)
    print(f"3. {tiny} no-op jobs, first submit to last COMPLETED heard, and their database load per job")
    print(
        "   runner                     jobs/s  submit/s   xact_commit  tup_inserted  tup_updated  tup_deleted"
        "   blks_hit   backend CPU"
    )
    for name, seconds, submitted, load in rows:
        per = {k: v / tiny for k, v in load.stats.items()}
        cpu = "n/a" if load.backend_cpu_s is None else f"{load.backend_cpu_s / tiny * 1000:6.2f} ms"
        print(
            f"   {name:26s} {tiny / seconds:7.1f}  {tiny / submitted:8.1f}   {per['xact_commit']:11.1f}"
            f"  {per['tup_inserted']:12.1f}  {per['tup_updated']:11.1f}  {per['tup_deleted']:11.1f}"
            f"  {per['blks_hit']:9.1f}   {cpu}"
        )
    base = rows[0][1]
    for name, seconds, _, _ in rows[1:]:
        print(f"   {name} / embedded: {base / seconds:.2f}x the jobs per second")
    # Each queued job is an insert and three updates of procrastinate_jobs: until a vacuum, the dead
    # versions stay in its partial indexes, which every fetch of a job walks through.
    print(
        f"   procrastinate_jobs at the end: {table['n_live_tup']} rows, {table['n_dead_tup']} dead,"
        f" {table['autovacuum_count']} autovacuums so far (autovacuum {table['autovacuum']} on this server)"
    )


async def _section_cancel(setup: Setup, rounds: int) -> None:
    embedded, queued = await cancels(setup, rounds)
    print(f"4. cancel -> CANCELLED heard, {rounds} rounds of 2 running jobs cancelled together")
    print("   runner, process              p50         p99         max   within 2 s")
    for name, by_pid in (("embedded", embedded), ("worker", queued)):
        for pid, samples in sorted(by_pid.items()):
            ok = "yes" if max(samples) <= CANCEL_TARGET_S * 1000 else "NO"
            print(
                f"   {name} pid {pid:<9d}  {percentile(samples, 50):7.1f} ms"
                f"  {percentile(samples, 99):7.1f} ms  {max(samples):7.1f} ms   {ok}"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--episodes", type=int, default=2000)
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument(
        "--runs", type=int, default=50, help="analyses of one episode for the first-event latency"
    )
    parser.add_argument("--tiny", type=int, default=1000, help="no-op jobs for the throughput")
    parser.add_argument("--cancels", type=int, default=20, help="rounds of 2 cancels")
    parser.add_argument(
        "--database-url", default=None, help="an empty database to use instead of a scratch one"
    )
    parser.add_argument("--sections", default="1,2,3,4", help="which sections to run, e.g. 3,4")
    args = parser.parse_args()
    run(
        args.episodes,
        args.frames,
        args.runs,
        args.tiny,
        args.cancels,
        database_url=args.database_url,
        sections=tuple(int(n) for n in args.sections.split(",")),
    )


if __name__ == "__main__":
    import logging

    os.environ.setdefault("ANNOGRAPH_LOG_LEVEL", "WARNING")
    logging.basicConfig(level=logging.WARNING)
    main()
