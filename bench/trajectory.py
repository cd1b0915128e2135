"""A 600-frame trajectory over HTTP with wrk (8 connections): annograph's GraphQL `trajectory` field
against a minimal Starlette + h5py + orjson app (bench/trajectory_reference.py) reading the same
HDF5 file, side by side and interleaved in one run. Both are single uvicorn processes; annograph runs
its default settings on SQLite, or PostgreSQL with --postgres. Rates are medians over rounds.

    .venv/bin/python -m bench.trajectory [--rounds 3] [--seconds 5] [--postgres]
"""

from __future__ import annotations

import argparse
import json
import statistics

import httpx

from bench.harness import running_server
from bench.scratch import scratch_postgres
from bench.uvicorn_app import uvicorn_app
from bench.wrk import WrkResult, ensure_tools, run_wrk
from domain.datasets.demo import DemoSpec

CONNECTIONS = 8
LENGTH = 600
QUERY = """{ datasets { edges { node { episode(index: 0) { trajectory {
  frames timestamps jointNames jointPositions jointVelocities eePose gripper actions missing } } } } } }"""
POST_SCRIPT = """
wrk.method = "POST"
wrk.body = %s
wrk.headers["Content-Type"] = "application/json"
"""


def _lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def _fmt(name: str, r: list[WrkResult]) -> str:
    rate = statistics.median(x.rate for x in r)
    p50 = statistics.median(x.p50 for x in r)
    p99 = statistics.median(x.p99 for x in r)
    return f"  {name:<36} {rate:8.0f} /s   p50 {p50:7.2f} ms   p99 {p99:7.2f} ms"


def run(rounds: int = 3, seconds: float = 5.0, database_url: str | None = None) -> float:
    ensure_tools("wrk")
    spec = DemoSpec(episodes=1, min_length=LENGTH, max_length=LENGTH)
    results: dict[str, list[WrkResult]] = {"ours": [], "reference": []}
    with (
        running_server(spec, database_url) as server,
        uvicorn_app(
            "bench.trajectory_reference:app", {"ANNOGRAPH_BENCH_DATASET": str(server.dataset)}
        ) as ref,
    ):
        auth = {"Authorization": f"Bearer {server.token}"}
        ours = httpx.post(f"{server.url}/graphql", json={"query": QUERY}, headers=auth)
        ours.raise_for_status()
        body = ours.json()
        assert "errors" not in body, body
        trajectory = body["data"]["datasets"]["edges"][0]["node"]["episode"]["trajectory"]
        theirs = httpx.get(f"{ref}/episodes/0/trajectory").json()
        assert len(trajectory["frames"]) == len(theirs["frames"]) == LENGTH
        assert len(trajectory["jointPositions"]) == len(theirs["jointPositions"])
        script = POST_SCRIPT % _lua_string(json.dumps({"query": QUERY}))
        cases = {
            "ours": lambda: run_wrk(
                f"{server.url}/graphql", CONNECTIONS, seconds, script=script, headers=auth
            ),
            "reference": lambda: run_wrk(f"{ref}/episodes/0/trajectory", CONNECTIONS, seconds),
        }
        for case in cases.values():  # warm-up
            case()
        for round_ in range(rounds):
            for name in list(cases) if round_ % 2 == 0 else list(reversed(cases)):
                result = cases[name]()
                if result.errors:
                    raise RuntimeError(f"{name}: {result.errors}")
                results[name].append(result)
    print(
        f"trajectory of {LENGTH} frames over HTTP, wrk {CONNECTIONS} connections, {rounds} interleaved "
        f"rounds of {seconds:g} s, {len(ours.content) / 1024:.0f} KiB (annograph) / "
        f"{len(json.dumps(theirs)) / 1024:.0f} KiB (reference) of JSON, "
        f"{'PostgreSQL' if database_url else 'SQLite'}"
    )
    print(_fmt("annograph, GraphQL `trajectory`", results["ours"]))
    print(_fmt("Starlette + h5py + orjson", results["reference"]))
    ratio = statistics.median(x.rate for x in results["ours"]) / statistics.median(
        x.rate for x in results["reference"]
    )
    print(f"  annograph / reference : {ratio:5.2f}x  (target >= 0.5)")
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--postgres", action="store_true", help="annograph on a scratch PostgreSQL database")
    args = parser.parse_args()
    if args.postgres:
        with scratch_postgres() as url:
            run(args.rounds, args.seconds, url)
    else:
        run(args.rounds, args.seconds)


if __name__ == "__main__":
    main()
