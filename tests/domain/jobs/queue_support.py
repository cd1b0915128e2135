"""What the queue tests share: a clean PostgreSQL database, the settings of a procrastinate server,
`annograph worker` subprocesses, and waits that end as soon as a job reaches a state (fixtures are
re-exported by this folder's conftest)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text

from domain.core.job_registry import registered_body
from domain.core.job_runner import JobKind
from domain.core.runtime import Runtime
from domain.datasets.demo import DemoSpec
from persistence.engine import create_engine
from persistence.repositories import job as jobs_repo
from persistence.settings import load_settings
from persistence.tables import EpisodeAnalysisRow, JobRow, metadata
from tests.conftest import PG_URL
from tests.domain.jobs.gate_job import GateParameters

ROOT = Path(__file__).resolve().parents[3]
SPEC = DemoSpec(episodes=6, min_length=150, max_length=200, width=32, height=24, seed=0)
# A guard against a hang, never an assertion on time: waits end as soon as the state is reached.
HANG = 120.0


@pytest.fixture
async def pg_url(migrated_templates) -> str:
    if "postgresql" not in migrated_templates:
        pytest.fail(f"PostgreSQL is needed at {PG_URL}")
    url = migrated_templates["postgresql"]
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            present = (await connection.execute(text("SELECT to_regclass('procrastinate_jobs')"))).scalar()
            if present is not None:
                await connection.execute(text("TRUNCATE procrastinate_jobs, procrastinate_workers CASCADE"))
    finally:
        await engine.dispose()
    return url


def broadcast_url(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgres://")


@pytest.fixture
def env(pg_url: str, tmp_path: Path, data_root: Path) -> dict[str, str]:
    return {
        "ANNOGRAPH_DATABASE_URL": pg_url,
        "ANNOGRAPH_JOB_QUEUE": "procrastinate",
        "ANNOGRAPH_BROADCAST_URL": broadcast_url(pg_url),
        "ANNOGRAPH_VAR_DIR": str(tmp_path),
        "ANNOGRAPH_DATA_ROOTS": str(data_root),
        "ANNOGRAPH_JOB_ATTEMPTS": "2",
    }


def settings_of(env: dict[str, str], **overrides):
    given = {key.removeprefix("ANNOGRAPH_").lower(): value for key, value in env.items()}
    given["data_roots"] = [given["data_roots"]]
    return load_settings(**{**given, **overrides})


@pytest.fixture
async def server(env) -> AsyncIterator[Runtime]:
    rt = Runtime.build(settings_of(env))
    await rt.start()
    try:
        yield rt
    finally:
        await rt.stop()


class Workers:
    """`annograph worker` subprocesses (with the tests' gate kind registered besides the product's)."""

    def __init__(self, env: dict[str, str], tmp_path: Path) -> None:
        self.env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
        self.tmp_path = tmp_path
        self.processes: list[subprocess.Popen] = []

    def start(self, *args: str) -> subprocess.Popen:
        log = open(self.tmp_path / f"worker-{len(self.processes)}.log", "wb")  # noqa: SIM115 - kept open
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.domain.jobs.gate_job", "worker", *args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def workers(env, tmp_path) -> Iterator[Workers]:
    started = Workers(env, tmp_path)
    try:
        yield started
    finally:
        started.stop()


async def read(rt: Runtime, job_id: int) -> JobRow:
    async with rt.sessions() as session:
        job = await jobs_repo.read_job(session, job_id)
    assert job is not None
    return job


async def until(rt: Runtime, job_id: int, *statuses: str) -> JobRow:
    """The job once it is in one of `statuses`."""
    async with asyncio.timeout(HANG):
        while True:
            job = await read(rt, job_id)
            if job.status in statuses:
                return job
            await asyncio.sleep(0.05)


async def gate_job(rt: Runtime, gate: Path, target: str = "gate"):
    return await rt.jobs.submit(
        kind=JobKind.EVALUATION,
        target=target,
        body=registered_body(rt),
        parameters=GateParameters(gate=str(gate)),
    )


async def analysis_values(rt: Runtime, job_id: int) -> dict[int, dict]:
    async with rt.sessions() as session:
        rows = (
            await session.execute(select(EpisodeAnalysisRow).where(EpisodeAnalysisRow.job_id == job_id))
        ).scalars()
        return {r.episode_id: r.values.model_dump(mode="json") for r in rows}
