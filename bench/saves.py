"""Accepted annotation saves per second on one episode with 10 concurrent annotators, each saving
their own annotation again and again (first without expectedVersion, then with the version it got
back), on SQLite and (when it answers) PostgreSQL: the two side by side.

    .venv/bin/python -m bench.saves

Each annotator edits only their own annotation, so there should be no CONFLICT and no other
error; any are counted and printed. Latencies are of accepted saves; "per annotator" is the
fewest and most saves one annotator got in. PostgreSQL is a new database, dropped afterwards
(bench/scratch.py). Clients and server share the machine.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx
import numpy as np

from bench.harness import Server, running_server
from bench.scratch import scratch_postgres
from domain.datasets.demo import DemoSpec

ANNOTATORS = 10
SECONDS = 8.0

EPISODE = "{ datasets { edges { node { episode(index: 0) { id } } } } }"
CREATE_USER = "mutation($name: String!) { createUser(input: {name: $name, role: ANNOTATOR}) { id } }"
ISSUE_TOKEN = 'mutation($id: ID!) { issueApiToken(input: {userId: $id, name: "bench"}) { secret } }'
SAVE = "mutation($input: SaveEpisodeAnnotationInput!) { saveEpisodeAnnotation(input: $input) { id version } }"


@dataclass
class Tally:
    saved: int = 0
    conflicts: int = 0
    errors: int = 0
    messages: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    per_annotator: list[int] = field(default_factory=list)


def graphql(url: str, token: str, query: str, **variables) -> dict:
    response = httpx.post(
        f"{url}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = response.json()
    if "errors" in body:
        raise RuntimeError(body["errors"])
    return body["data"]


def create_annotator(server: Server, name: str) -> str:
    user_id = graphql(server.url, server.token, CREATE_USER, name=name)["createUser"]["id"]
    return graphql(server.url, server.token, ISSUE_TOKEN, id=user_id)["issueApiToken"]["secret"]


async def annotate(url: str, token: str, episode_id: str, deadline: float, tally: Tally) -> None:
    version: int | None = None
    saved = 0
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
        while time.perf_counter() < deadline:
            variables = {
                "input": {
                    "episodeId": episode_id,
                    "taskCompleteness": {"rating": "PARTIAL"},
                    "notes": f"save {(version or 0) + 1}",
                    **({"expectedVersion": version} if version is not None else {}),
                }
            }
            start = time.perf_counter()
            try:
                response = await client.post("/graphql", json={"query": SAVE, "variables": variables})
                body = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                tally.errors += 1
                tally.messages.append(f"{type(exc).__name__}: {exc}")
                continue
            if "errors" not in body:
                tally.saved += 1
                saved += 1
                tally.latencies.append(time.perf_counter() - start)
                version = body["data"]["saveEpisodeAnnotation"]["version"]
                continue
            error = body["errors"][0]
            extensions = error.get("extensions") or {}
            if extensions.get("code") == "CONFLICT":
                tally.conflicts += 1
                version = extensions.get("currentVersion", version)
            else:
                tally.errors += 1
            tally.messages.append(f"{extensions.get('code')}: {error.get('message')}")
    tally.per_annotator.append(saved)


def measure(server: Server) -> tuple[float, Tally]:
    episode_id = graphql(server.url, server.token, EPISODE)["datasets"]["edges"][0]["node"]["episode"]["id"]
    tokens = [create_annotator(server, f"annotator-{i}") for i in range(ANNOTATORS)]
    tally = Tally()

    async def run() -> float:
        start = time.perf_counter()
        deadline = start + SECONDS
        await asyncio.gather(*(annotate(server.url, token, episode_id, deadline, tally) for token in tokens))
        return time.perf_counter() - start  # until the last save in flight at the deadline returned

    elapsed = asyncio.run(run())
    return tally.saved / elapsed, tally


def main() -> None:
    spec = DemoSpec(episodes=1, min_length=60, max_length=60, width=64, height=48)
    results = {}
    with running_server(spec) as server:
        results["SQLite"] = measure(server)
    with scratch_postgres() as pg_url:
        if pg_url is not None:
            with running_server(spec, database_url=pg_url) as server:
                results["PostgreSQL"] = measure(server)
    print(f"saves of one episode, {ANNOTATORS} concurrent annotators (own annotation each), {SECONDS:.0f} s")
    print(
        f"  {'database':<11}{'saves':>7}{'saves/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'per annotator':>15}{'conflicts':>11}{'errors':>8}"
    )
    for name, (rate, tally) in results.items():
        p50, p99, top = (
            (np.percentile(tally.latencies, q) * 1000 for q in (50, 99, 100))
            if tally.latencies
            else (0, 0, 0)
        )
        spread = f"{min(tally.per_annotator)}-{max(tally.per_annotator)}"
        print(
            f"  {name:<11}{tally.saved:>7}{rate:>10.1f}{p50:>9.1f}{p99:>9.1f}{top:>9.0f}"
            f"{spread:>15}{tally.conflicts:>11}{tally.errors:>8}"
        )
    if len(results) == 2:
        print(f"  ratio SQLite / PostgreSQL : {results['SQLite'][0] / results['PostgreSQL'][0]:.2f}x")
    for name, (_, tally) in results.items():
        for message in sorted(set(tally.messages))[:5]:
            print(f"  {name} error: {message}")


if __name__ == "__main__":
    main()
