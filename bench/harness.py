"""A real server for benchmarks: a temp var dir, a demo dataset, uvicorn in a subprocess."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from domain.datasets.demo import DemoSpec, write_demo_dataset

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Server:
    url: str
    var_dir: Path
    dataset: Path
    env: dict
    token: str  # an admin's API token
    pid: int = 0  # the server process


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(env: dict, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "graph", *args],
        env=env,
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@contextlib.contextmanager
def running_server(spec: DemoSpec, database_url: str | None = None, **env_overrides: str) -> Iterator[Server]:
    with tempfile.TemporaryDirectory(prefix="annograph-bench-") as tmp:
        var_dir = Path(tmp)
        dataset = var_dir / "datasets" / "bench"
        write_demo_dataset(dataset, spec, workers=os.cpu_count() or 1)
        port = _free_port()
        env = {
            **os.environ,
            "ANNOGRAPH_VAR_DIR": str(var_dir),
            "ANNOGRAPH_PORT": str(port),
            "ANNOGRAPH_LOG_LEVEL": "WARNING",
        }
        if database_url:
            env["ANNOGRAPH_DATABASE_URL"] = database_url
        env.update(env_overrides)
        _cli(env, "migrate")
        _cli(env, "datasets", "add", str(dataset))
        token = subprocess.run(
            [sys.executable, "-m", "graph", "users", "create", "bench", "--role", "ADMIN"],
            env=env,
            check=True,
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
        with serving(env, port) as (url, pid):
            yield Server(url, var_dir, dataset, env, token, pid)


@contextlib.contextmanager
def serving(env: dict, port: int) -> Iterator[tuple[str, int]]:
    """`annograph serve` in a subprocess with `env`, once /health answers: (its URL, its pid)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "graph", "serve"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        # A loaded shared machine can take 20 s to import and start the server.
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.1)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(10)


def timed(fn, repeat: int) -> float:
    """Median seconds of `repeat` calls (after one warm-up call)."""
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    samples.sort()
    return samples[len(samples) // 2]
