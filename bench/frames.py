"""Frames served per second over HTTP (sequential, and 16 concurrent clients), against reading
the same frames with h5py and encoding them with Pillow in a loop in one process.

The load comes from wrk when it is installed (`apt-get install wrk`): a Python client on the
same two cores costs about as much as the server and would hide its speed. Without wrk, httpx.

    .venv/bin/python -m bench.frames
"""

from __future__ import annotations

import asyncio
import io
import re
import shutil
import subprocess
import tempfile
import time

import h5py
import httpx
from PIL import Image

from bench.harness import running_server
from domain.datasets.demo import DemoSpec

FRAMES = 300
CONCURRENCY = 16


def reference(path, camera: str) -> float:
    start = time.perf_counter()
    with h5py.File(path, "r") as f:
        dataset = f[f"observation.images.{camera}"]
        for frame in range(FRAMES):
            buffer = io.BytesIO()
            Image.fromarray(dataset[frame]).save(buffer, format="JPEG", quality=85)
    return FRAMES / (time.perf_counter() - start)


def urls(base: str, camera: str) -> list[str]:
    return [f"{base}/media/datasets/1/episodes/0/cameras/{camera}/frames/{i}.jpg" for i in range(FRAMES)]


def sequential(base: str, camera: str, token: str) -> float:
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as client:
        client.get(urls(base, camera)[0]).raise_for_status()
        start = time.perf_counter()
        for url in urls(base, camera):
            client.get(url).raise_for_status()
    return FRAMES / (time.perf_counter() - start)


async def concurrent(base: str, camera: str, token: str) -> float:
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(limits=limits, headers={"Authorization": f"Bearer {token}"}) as client:
        queue = list(urls(base, camera))

        async def worker() -> None:
            while queue:
                (await client.get(queue.pop())).raise_for_status()

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return FRAMES / (time.perf_counter() - start)


WRK_SCRIPT = """
counter = 0
request = function()
  local path = string.format("/media/datasets/1/episodes/0/cameras/%s/frames/%%d.jpg", counter %% %d)
  counter = counter + 1
  return wrk.format("GET", path, {["Authorization"] = "Bearer %s"})
end
"""


def with_wrk(base: str, camera: str, connections: int, token: str) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_SCRIPT % (camera, FRAMES, token))
        script.flush()
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", "-d5s", "-s", script.name, base],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    if "Non-2xx" in out:
        raise RuntimeError(out)
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def main() -> None:
    spec = DemoSpec(episodes=1, min_length=FRAMES, max_length=FRAMES)
    with running_server(spec) as server:
        path = server.dataset / "episodes" / "episode_000000.hdf5"
        ref = reference(path, "front")
        if shutil.which("wrk"):
            client = "wrk"
            seq = with_wrk(server.url, "front", 1, server.token)
            conc = with_wrk(server.url, "side", CONCURRENCY, server.token)
        else:
            client = "httpx (install wrk for a load generator that does not compete for the CPU)"
            seq = sequential(server.url, "front", server.token)
            conc = asyncio.run(concurrent(server.url, "side", server.token))
    print(f"frames per second, {FRAMES} frames of 320x240, JPEG quality 85; client: {client}")
    print(f"  Pillow loop in one process   : {ref:8.0f} /s")
    print(f"  HTTP, sequential             : {seq:8.0f} /s   ratio {seq / ref:5.2f}x")
    print(f"  HTTP, {CONCURRENCY} concurrent clients : {conc:8.0f} /s   ratio {conc / ref:5.2f}x")


if __name__ == "__main__":
    main()
