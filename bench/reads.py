"""Nested GraphQL reads, annograph against PostGraphile 4 on the same PostgreSQL tables (issue 21).

    .venv/bin/python -m bench.reads [--episodes 60] [--seconds 5] [--rounds 3] [--connections 8]

A scratch database (bench/scratch.py) gets data shaped like the demo's ground truth, written with
annograph's own repositories (`seed`: one dataset, `--episodes` episodes, every even one with
`--boxes` validated boxes on 2 cameras in 5 labels; writing the demo's HDF5 files is not what is
measured and takes minutes), then the statistics refresh that follows every bulk load
(persistence.engine.refresh_statistics); annograph serves it under uvicorn, PostGraphile 4
(npm, installed by `ensure_postgraphile` into var/bench-node) on the same database. The same-shaped
queries run against both with wrk (8 connections), interleaved round by round; each figure is the
median of the rounds: requests per second, p50 and p99 in ms, and annograph's rate over PostGraphile's.

    3-level: datasets > 50 episodes > 10 boxes each with its label
    2-level: datasets > 24 episodes with 4 fields
    node:    one episode by its global id (annograph `node(id:)`, PostGraphile `node(nodeId:)`)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from sqlalchemy import text

from bench.harness import ROOT, _free_port, serving
from bench.scratch import scratch_postgres
from bench.wrk import ensure_tools, run_wrk
from persistence.columns import utcnow
from persistence.migrate import upgrade

# The columns every inserted box states (a Core INSERT applies no model defaults).
FIXED = dict(
    occluded=False,
    truncated=False,
    difficult=False,
    outside=False,
    notes=None,
    score=None,
    reviewed_by=None,
    reviewed_at=None,
    created_at=utcnow(),
    updated_at=utcnow(),
)

NODE_DIR = ROOT / "var" / "bench-node"
POSTGRAPHILE = NODE_DIR / "node_modules" / "postgraphile" / "cli.js"

ANNOGRAPH = {
    "3-level": """{ datasets { edges { node { name episodes(first: 50) { edges { node { index
      objects(first: 10) {
      edges { node { id frame box { x y width height } label { name } } } } } } } } } } }""",
    "2-level": """{ datasets { edges { node { name episodes(first: 24) { edges { node {
      id index length taskIndex } } } } } } }""",
    "node": """query($id: ID!) { node(id: $id) { ... on Episode { id index length taskIndex } } }""",
}
POSTGRAPHILE_QUERIES = {
    "3-level": """{ allDatasets(orderBy: ID_ASC) { edges { node { name
      episodesByDatasetId(first: 50, orderBy: INDEX_ASC) { edges { node { index
      objectAnnotationsByEpisodeId(first: 10, orderBy: [FRAME_ASC, ID_ASC]) { edges { node {
      nodeId frame x y width height labelByLabelId { name } } } } } } } } } } }""",
    "2-level": """{ allDatasets(orderBy: ID_ASC) { edges { node { name
      episodesByDatasetId(first: 24, orderBy: INDEX_ASC) { edges { node {
      nodeId index length taskIndex } } } } } } }""",
    "node": """query($id: ID!) { node(nodeId: $id) { ... on Episode { nodeId index length taskIndex } } }""",
}


def ensure_postgraphile() -> None:
    """The bench's own setup: PostGraphile 4 from npm into var/bench-node (once)."""
    if POSTGRAPHILE.exists():
        return
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    print(f"installing postgraphile@4 with npm into {NODE_DIR} (a bench dependency)")
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(NODE_DIR), "postgraphile@4"],
        check=True,
        stdout=subprocess.DEVNULL,
    )


async def seed(database_url: str, var_dir: Path, episodes: int, boxes: int) -> str:
    """Write the bench's rows (see the module's docstring); returns an admin's API token."""
    from domain.core.runtime import Runtime
    from domain.objects import labels
    from persistence.engine import refresh_statistics
    from persistence.repositories import object_annotation as boxes_repo
    from persistence.settings import load_settings
    from tests.conftest import make_user
    from tests.factories import seed_index

    rt = Runtime.build(load_settings(var_dir=var_dir, database_url=database_url))
    await rt.start()
    try:
        await seed_index(rt, 1, episodes)
        names = ("pedestrian", "cyclist", "motorcyclist", "wheelchair_user", "scooter_rider")
        async with rt.sessions() as session, session.begin():
            rows = (await session.execute(text("SELECT id, index FROM episode ORDER BY index"))).all()
            ids, _ = await labels.ensure_labels(session, 1, [(n, None, None) for n in names])
            label_ids = [ids[n] for n in names]
            per_track = boxes // 10  # 2 cameras x 5 tracks
            for episode_id, index in rows:
                if index % 2:
                    continue
                values = [
                    dict(
                        episode_id=episode_id,
                        camera=camera,
                        frame=frame,
                        x=10.0 + frame,
                        y=20.0 + track,
                        width=30.0,
                        height=40.0,
                        label_id=label_ids[track],
                        track_id=f"{camera}-{track}",
                        source="IMPORTED",
                        review="VALIDATED",
                        keyframe=True,
                        version=1,
                        **FIXED,
                    )
                    for camera in ("front", "wrist")
                    for track in range(5)
                    for frame in range(track * 3, track * 3 + per_track)
                ]
                await boxes_repo.insert_boxes(session, values)
        async with rt.engine.connect() as connection:
            await refresh_statistics(connection)
        return await make_user(rt, "bench", "ADMIN")
    finally:
        await rt.stop()


@contextlib.contextmanager
def postgraphile(database_url: str) -> Iterator[str]:
    """PostGraphile 4 on `database_url` (an SQLAlchemy URL): its /graphql URL once it answers."""
    port = _free_port()
    dsn = database_url.replace("postgresql+asyncpg://", "postgres://", 1)
    process = subprocess.Popen(
        [
            "node",
            str(POSTGRAPHILE),
            "-c",
            dsn,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--disable-query-log",
        ],
        cwd=NODE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.post(url, json={"query": "{ __typename }"}).status_code == 200:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("PostGraphile did not start")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def _post(url: str, query: str, variables: dict | None = None, headers: dict | None = None) -> dict:
    body = httpx.post(
        url, json={"query": query, "variables": variables or {}}, headers=headers, timeout=60
    ).json()
    if "errors" in body:
        raise RuntimeError(f"{url}: {body['errors']}")
    return body["data"]


def _episode_ids(ours: str, theirs: str, headers: dict) -> tuple[list[str], list[str]]:
    """The global ids of the same first 24 episodes on both servers."""
    mine = _post(ours, ANNOGRAPH["2-level"], headers=headers)["datasets"]["edges"][0]["node"]["episodes"][
        "edges"
    ]
    other = _post(theirs, POSTGRAPHILE_QUERIES["2-level"])["allDatasets"]["edges"][0]["node"]
    other_edges = other["episodesByDatasetId"]["edges"]
    assert [e["node"]["index"] for e in mine] == [e["node"]["index"] for e in other_edges]
    return [e["node"]["id"] for e in mine], [e["node"]["nodeId"] for e in other_edges]


def _same_pages(ours: str, theirs: str, headers: dict) -> int:
    """Both servers answer the 3-level read with the same frames per episode: the number of boxes."""
    mine = _post(ours, ANNOGRAPH["3-level"], headers=headers)["datasets"]["edges"][0]["node"]["episodes"][
        "edges"
    ]
    other = _post(theirs, POSTGRAPHILE_QUERIES["3-level"])["allDatasets"]["edges"][0]["node"]
    a = [[b["node"]["frame"] for b in e["node"]["objects"]["edges"]] for e in mine]
    b = [
        [x["node"]["frame"] for x in e["node"]["objectAnnotationsByEpisodeId"]["edges"]]
        for e in other["episodesByDatasetId"]["edges"]
    ]
    if a != b:
        raise RuntimeError("annograph and PostGraphile answer the 3-level read with different pages")
    return sum(len(page) for page in a)


def _lua(bodies: list[str], headers: dict[str, str]) -> str:
    """A wrk script POSTing the bodies in turn."""
    quoted = ", ".join(json.dumps(b) for b in bodies)  # JSON strings are valid Lua strings here
    lines = [
        'wrk.method = "POST"',
        'wrk.headers["Content-Type"] = "application/json"',
        *(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()),
        f"local bodies = {{{quoted}}}",
        "local i = 0",
        "request = function() i = i % #bodies + 1; return wrk.format(nil, nil, nil, bodies[i]) end",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=60, help="episodes (every other one has boxes)")
    parser.add_argument("--boxes", type=int, default=2000, help="boxes on each even episode")
    parser.add_argument("--seconds", type=float, default=5.0, help="each wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--only", choices=sorted(ANNOGRAPH), action="append", help="run only these reads")
    args = parser.parse_args()
    ensure_tools("wrk")
    ensure_postgraphile()
    with scratch_postgres() as url, tempfile.TemporaryDirectory(prefix="annograph-reads-") as tmp:
        if url is None:
            raise SystemExit("this bench needs PostgreSQL (ANNOGRAPH_BENCH_POSTGRES)")
        port = _free_port()
        env = {
            **os.environ,
            "ANNOGRAPH_VAR_DIR": tmp,
            "ANNOGRAPH_PORT": str(port),
            "ANNOGRAPH_LOG_LEVEL": "WARNING",
            "ANNOGRAPH_DATABASE_URL": url,
            # The 3-level read's estimated cost (about 285,000) is over the default limit (100,000).
            "ANNOGRAPH_MAX_COST": "1000000",
        }
        upgrade(url)
        started = time.perf_counter()
        token = asyncio.run(seed(url, Path(tmp), args.episodes, args.boxes))
        took = time.perf_counter() - started
        print(f"{args.episodes} episodes, {args.boxes} boxes on each even one: {took:.1f} s")
        headers = {"Authorization": f"Bearer {token}"}
        with serving(env, port) as (base, _pid), postgraphile(url) as theirs:
            ours = f"{base}/graphql"
            boxes = _same_pages(ours, theirs, headers)
            print(f"3-level read: {boxes} boxes in the page, the same frames on both servers")
            mine_ids, their_ids = _episode_ids(ours, theirs, headers)
            bodies = {
                name: (
                    [json.dumps({"query": ANNOGRAPH[name], "variables": {"id": i}}) for i in mine_ids],
                    [
                        json.dumps({"query": POSTGRAPHILE_QUERIES[name], "variables": {"id": i}})
                        for i in their_ids
                    ],
                )
                if name == "node"
                else (
                    [json.dumps({"query": ANNOGRAPH[name]})],
                    [json.dumps({"query": POSTGRAPHILE_QUERIES[name]})],
                )
                for name in (args.only or ANNOGRAPH)
            }
            results: dict[str, dict[str, list]] = {n: {"annograph": [], "PostGraphile": []} for n in bodies}
            for round_ in range(args.rounds):
                for name, (mine, other) in bodies.items():
                    runs = [("annograph", ours, mine, headers), ("PostGraphile", theirs, other, {})]
                    for who, target, b, h in runs if round_ % 2 == 0 else runs[::-1]:
                        r = run_wrk(target, args.connections, args.seconds, script=_lua(b, h))
                        if r.errors:
                            print(f"  {name} {who}: {r.errors}")
                        results[name][who].append(r)
    print(
        f"\nnested reads, {args.connections} connections, median of {args.rounds} interleaved rounds of "
        f"{args.seconds:g} s (wrk)"
    )
    print(f"  {'read':<9}{'server':<14}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'p99/p50':>9}{'ratio':>8}")
    for name, by_server in results.items():
        rates = {}
        for who, runs in by_server.items():
            rate = statistics.median(r.rate for r in runs)
            p50 = statistics.median(r.p50 for r in runs)
            p99 = statistics.median(r.p99 for r in runs)
            rates[who] = rate
            print(f"  {name:<9}{who:<14}{rate:>9.1f}{p50:>9.1f}{p99:>9.1f}{p99 / p50:>9.2f}")
        print(f"  {'':<9}{'annograph / PostGraphile':<38}{rates['annograph'] / rates['PostGraphile']:>8.3f}x")


if __name__ == "__main__":
    main()
