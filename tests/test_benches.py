"""Benches measure on a database they create and drop (bench/scratch.py), never on one they were not
pointed at."""

from __future__ import annotations

import asyncio
import re
import sys

import asyncpg

from bench import annotation_formats, segments
from bench.scratch import scratch_postgres
from tests.conftest import PG_URL


async def _databases() -> set[str]:
    dsn = PG_URL.replace("postgresql+asyncpg://", "postgresql://", 1)
    connection = await asyncpg.connect(dsn)
    try:
        return {r["datname"] for r in await connection.fetch("SELECT datname FROM pg_database")}
    finally:
        await connection.close()


def test_a_bench_database_is_new_and_dropped_afterwards():
    before = asyncio.run(_databases())
    with scratch_postgres(PG_URL) as url:
        assert url is not None
        name = url.rsplit("/", 1)[1]
        assert name.startswith("annograph_bench_") and name not in before
        assert name in asyncio.run(_databases())
    assert asyncio.run(_databases()) == before


def test_no_postgres_gives_none_and_touches_nothing(capsys):
    with scratch_postgres("postgresql+asyncpg://postgres@127.0.0.1:1/postgres") as url:
        assert url is None
    assert "not reachable" in capsys.readouterr().out


def test_the_annotation_formats_bench_measures_every_case_on_a_few_boxes(capsys):
    # 2 episodes x 12 frames x 2 boxes. The bench checks for itself that each reference writes the bytes the
    # format's writer does and that both ways of reading find every box.
    annotation_formats.run(episodes=2, frames=12, runs=1, server_url=PG_URL)
    out = capsys.readouterr().out
    assert "48 boxes (2 episodes x 12 frames x 2" in out
    figure = re.compile(r"\d+\.\d\d s .* \d+\.\d\d s +\d+\.\d\dx")
    for name in ("CVAT for video 1.1 XML", "MOT 1.1"):
        assert any(line.strip().startswith(name) and figure.search(line) for line in out.splitlines()), name
    for fmt in ("COCO", "YOLO", "VOC", "CVAT", "MOT", "ANNOGRAPH"):
        row = re.compile(rf"^ +{fmt} +\d+\.\d\d s +\d+\.\d\d s +\d+\.\d\dx")
        assert len([line for line in out.splitlines() if row.match(line)]) == 1, fmt
    assert "target 1.5x" in out
    # The service's figure, or why it took no file.
    assert "import service (PostgreSQL)" in out


def test_the_jobs_bench_prints_every_row_on_a_few_jobs(capsys):
    # Needs PostgreSQL (the procrastinate queue): a scratch database on PG_URL's server, with `annograph
    # worker` subprocesses. 4 episodes, 2 latency runs, 4 no-op jobs, 1 round of cancels; figures unchecked.
    from bench import jobs

    jobs.run(episodes=4, frames=40, runs=2, tiny=4, rounds=1, server_url=PG_URL, pools=(1,), stats_flush=0.0)
    out = capsys.readouterr().out
    seconds = r" +\d+\.\d\d s"
    assert re.search(rf"^ +1 process{seconds}{seconds}{seconds} +\d+\.\d\dx$", out, re.M), out
    for name in ("embedded", "1 idle worker", "1 worker, at once"):
        assert re.search(rf"^ +{name}( +\d+\.\d ms){{3}} +\d+$", out, re.M), name
    for name in ("embedded \\(server process\\)", "procrastinate, 1 worker", "procrastinate, 2 workers"):
        assert re.search(rf"^ +{name} +\d+\.\d( +\d+\.\d){{6}} +(\d+\.\d\d ms|n/a)$", out, re.M), name
    cancels = re.findall(r"^ +(embedded|worker) pid \d+ .* (yes|NO)$", out, re.M)
    assert {runner for runner, _ in cancels} == {"embedded", "worker"}, out


def test_the_segments_bench_agrees_with_its_reference_on_a_few_episodes(capsys, monkeypatch):
    # The bench asserts for itself that every episode's groups and medians equal the numpy reference.
    monkeypatch.setattr(sys, "argv", ["bench.segments", "--episodes", "12", "--annotators", "3"])
    segments.main()
    out = capsys.readouterr().out
    assert "12 episodes x 3 annotators x 10 segments" in out
    for row in ("reference (numpy, same matching)", "domain segment_consensus", "stored (loader, pages of"):
        assert any(row in line and "ms/episode" in line for line in out.splitlines()), row
