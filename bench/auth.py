"""Requests per second for a small authenticated query with every limit on, against the same
query on a server with authentication and limits off, in one run: the overhead ratio.

    .venv/bin/python -m bench.auth
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time

import httpx

from bench.harness import running_server
from domain.datasets.demo import DemoSpec

QUERY = "{ viewer { name } datasets(first: 5) { totalCount edges { node { name episodeCount } } } }"
SECONDS = 5
CONNECTIONS = 4
WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = %s
wrk.headers["Content-Type"] = "application/json"
%s
"""


def with_wrk(url: str, token: str | None) -> float:
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"' if token else ""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_SCRIPT % (json.dumps(json.dumps({"query": QUERY})), auth))
        script.flush()
        out = subprocess.run(
            ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "-s", script.name, f"{url}/graphql"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    if "Non-2xx" in out:
        raise RuntimeError(out)
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def with_httpx(url: str, token: str | None) -> float:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(headers=headers) as client:
        count, deadline = 0, time.perf_counter() + SECONDS
        start = time.perf_counter()
        while time.perf_counter() < deadline:
            client.post(f"{url}/graphql", json={"query": QUERY}).raise_for_status()
            count += 1
    return count / (time.perf_counter() - start)


def check(url: str, token: str | None) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = httpx.post(f"{url}/graphql", json={"query": QUERY}, headers=headers).json()
    assert "errors" not in body and body["data"]["viewer"]["name"], body


def main() -> None:
    measure = with_wrk if shutil.which("wrk") else with_httpx
    spec = DemoSpec(episodes=1, min_length=40, max_length=40, width=64, height=48)
    with (
        running_server(spec) as guarded,
        running_server(spec, ANNOGRAPH_AUTH="false", ANNOGRAPH_LIMITS="false") as bare,
    ):
        check(guarded.url, guarded.token)
        check(bare.url, None)
        on = measure(guarded.url, guarded.token)
        off = measure(bare.url, None)
    print(f"small query, {CONNECTIONS} connections for {SECONDS} s each; client: {measure.__name__[5:]}")
    print(f"  authentication and all limits on : {on:8.0f} requests/s")
    print(f"  authentication and limits off    : {off:8.0f} requests/s")
    print(f"  overhead ratio (off / on)        : {off / on:8.2f}x")


if __name__ == "__main__":
    main()
