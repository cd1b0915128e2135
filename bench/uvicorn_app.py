"""A reference ASGI app of a bench under uvicorn in a subprocess, with the loop and HTTP parser
annograph's server gets (uvicorn[standard]: uvloop, httptools), one process, no access log."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx

from bench.harness import ROOT, _free_port


@contextlib.contextmanager
def uvicorn_app(app: str, env: dict[str, str], probe: str = "/") -> Iterator[str]:
    """`uvicorn <app>` (module:attribute) on a free loopback port; yields its base URL once any
    answer comes to `probe`."""
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env={**os.environ, **env},
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(url + probe)
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{app} did not start")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)
