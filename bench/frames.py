"""Camera frames over HTTP with wrk (8 connections), annograph against the alternatives a user would
pick, side by side and interleaved in one run:

- one frame requested again and again: annograph's `/media/...` route against nginx (Debian's
  package, its own process and config under a temp dir) serving the same JPEG file;
- the same, returned from a dict by a bare Starlette route (the most one uvicorn process can do);
- frames in random order, each request a frame not asked before (no cache can answer it): against a
  minimal Starlette + h5py + Pillow app (bench/frames_reference.py) reading the same HDF5 files.

Both servers are single uvicorn processes; nginx runs Debian's `worker_processes auto` (the figure
the target names) and, beside it, one worker process (one process against one). The annograph
server runs its default settings (in-memory frame cache ANNOGRAPH_FRAME_CACHE_BYTES, no disk cache)
on SQLite, or PostgreSQL with --postgres. Rates are medians over rounds, p99 the median of each
round's p99.

    .venv/bin/python -m bench.frames [--rounds 3] [--seconds 5] [--postgres]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import h5py
import httpx
from PIL import Image

from bench.harness import running_server
from bench.nginx import serving_files
from bench.scratch import scratch_postgres
from bench.uvicorn_app import uvicorn_app
from bench.wrk import WrkResult, ensure_tools, run_wrk
from domain.datasets.demo import DemoSpec

CONNECTIONS = 8
EPISODES, LENGTH, CAMERAS = 4, 600, ("front", "side")
QUALITIES = 16  # qualities 80..95: frames x cameras x qualities distinct requests
SPACE = EPISODES * LENGTH * len(CAMERAS) * QUALITIES
STEP = 7919  # a prime not dividing SPACE: i -> i * STEP mod SPACE visits every key once, shuffled
STRIDE = 16_000  # keys each random run may use before the next run's begin

# Request i of a run (thread t of T makes t, t + T, ...) asks key (OFFSET + i) * STEP mod SPACE.
RANDOM_SCRIPT = """
local threads = 0
function setup(thread) thread:set("tid", threads); threads = threads + 1 end
function init(args) n = 0 end
request = function()
  local k = ((OFFSET + tid + n * THREADS) * STEP) % SPACE
  n = n + 1
  local quality = 80 + k % QUALITIES; k = math.floor(k / QUALITIES)
  local frame = k % LENGTH; k = math.floor(k / LENGTH)
  local camera = CAMS[k % 2 + 1]; k = math.floor(k / 2)
  return wrk.format("GET", string.format(PATH, k, camera, frame, quality), HEADERS)
end
"""


def random_script(path: str, offset: int, threads: int, headers: dict[str, str]) -> str:
    header_table = ", ".join(f'["{k}"] = "{v}"' for k, v in headers.items())
    prelude = (
        f"OFFSET, THREADS, STEP, SPACE = {offset}, {threads}, {STEP}, {SPACE}\n"
        f"QUALITIES, LENGTH = {QUALITIES}, {LENGTH}\n"
        f'CAMS = {{"{CAMERAS[0]}", "{CAMERAS[1]}"}}\n'
        f'PATH = "{path}"\nHEADERS = {{{header_table}}}\n'
    )
    return prelude + RANDOM_SCRIPT


def export_jpeg(hdf5: Path, camera: str, frame: int, folder: Path) -> Path:
    """The frame as annograph serves it by default (Pillow, quality 85), as a file for nginx."""
    with h5py.File(hdf5, "r") as f:
        pixels = f[f"observation.images.{camera}"][frame]
    out = folder / f"{camera}_{frame}.jpg"
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=85)
    out.write_bytes(buffer.getvalue())
    return out


@contextlib.contextmanager
def reference_app(dataset: Path) -> Iterator[str]:
    """bench/frames_reference.py under uvicorn (same loop and HTTP parser as annograph's server)."""
    with uvicorn_app("bench.frames_reference:app", {"ANNOGRAPH_BENCH_DATASET": str(dataset)}) as url:
        yield url


def _fmt(name: str, r: list[WrkResult]) -> str:
    rate = statistics.median(x.rate for x in r)
    p50 = statistics.median(x.p50 for x in r)
    p99 = statistics.median(x.p99 for x in r)
    return f"  {name:<44} {rate:8.0f} /s   p50 {p50:7.2f} ms   p99 {p99:7.2f} ms"


def _median(r: list[WrkResult], what: str) -> float:
    return statistics.median(getattr(x, what) for x in r)


def run(rounds: int = 3, seconds: float = 5.0, database_url: str | None = None) -> dict:
    ensure_tools("wrk")
    spec = DemoSpec(episodes=EPISODES, min_length=LENGTH, max_length=LENGTH, cameras=CAMERAS)
    results: dict[str, list[WrkResult]] = {
        "ours_repeated": [],
        "nginx": [],
        "nginx_one": [],
        "bare_repeated": [],
        "ours_random": [],
        "ref_random": [],
    }
    with (
        running_server(spec, database_url) as server,
        tempfile.TemporaryDirectory(prefix="annograph-jpegs-") as jpegs,
        serving_files(Path(jpegs)) as nginx_url,
        serving_files(Path(jpegs), workers="1") as nginx_one_url,
        reference_app(server.dataset) as ref_url,
    ):
        auth = {"Authorization": f"Bearer {server.token}"}
        query = (
            '{ datasets { edges { node { id episode(index: 0) { frameUrl(frame: 7, camera: "front") } } } } }'
        )
        body = httpx.post(f"{server.url}/graphql", json={"query": query}, headers=auth).json()
        frame_url = body["data"]["datasets"]["edges"][0]["node"]["episode"]["frameUrl"]
        dataset_id = frame_url.split("/")[3]
        jpeg = export_jpeg(server.dataset / "episodes" / "episode_000000.hdf5", "front", 7, Path(jpegs))
        served = httpx.get(server.url + frame_url, headers=auth)
        served.raise_for_status()
        jpeg_bytes = len(jpeg.read_bytes())
        assert served.content == jpeg.read_bytes(), "annograph and nginx must serve the same bytes"
        ours_path = f"/media/datasets/{dataset_id}/episodes/%d/cameras/%s/frames/%d.jpg?quality=%d"
        ref_path = "/episodes/%d/cameras/%s/frames/%d.jpg?quality=%d"
        runs = {ours_path: 0, ref_path: 0}

        def random_run(base: str, path: str, headers: dict[str, str]) -> WrkResult:
            offset = runs[path] * STRIDE
            runs[path] += 1
            if offset + STRIDE > SPACE:
                raise RuntimeError("too many rounds: random runs would repeat frames")
            result = run_wrk(base, CONNECTIONS, seconds, 2, random_script(path, offset, 2, headers))
            if result.requests > STRIDE:
                print(f"  (a random run made {result.requests} requests: keys beyond {STRIDE} repeat)")
            return result

        cases = {
            "ours_repeated": lambda: run_wrk(server.url + frame_url, CONNECTIONS, seconds, headers=auth),
            "nginx": lambda: run_wrk(f"{nginx_url}/{jpeg.name}", CONNECTIONS, seconds),
            "nginx_one": lambda: run_wrk(f"{nginx_one_url}/{jpeg.name}", CONNECTIONS, seconds),
            "bare_repeated": lambda: run_wrk(f"{ref_url}/cached/0/front/7.jpg", CONNECTIONS, seconds),
            "ours_random": lambda: random_run(server.url, ours_path, auth),
            "ref_random": lambda: random_run(ref_url, ref_path, {}),
        }
        for case in cases.values():  # warm-up: connections, caches, the reference's open files
            case()
        # The warm-up's keys are not asked again: each round's random run asks keys never asked before.
        for round_ in range(rounds):
            order = list(cases) if round_ % 2 == 0 else list(reversed(cases))
            for name in order:
                result = cases[name]()
                if result.errors:
                    raise RuntimeError(f"{name}: {result.errors}")
                results[name].append(result)
    print(
        f"frames over HTTP, wrk {CONNECTIONS} connections, {rounds} interleaved rounds of {seconds:g} s, "
        f"{spec.width}x{spec.height} JPEG ({jpeg_bytes / 1024:.1f} KiB), "
        f"{'PostgreSQL' if database_url else 'SQLite'}"
    )
    print(_fmt("annograph, one frame repeated", results["ours_repeated"]))
    print(_fmt("nginx, the same JPEG file", results["nginx"]))
    print(_fmt("nginx, one worker process", results["nginx_one"]))
    print(_fmt("bare Starlette returning the bytes from a dict", results["bare_repeated"]))
    print(_fmt("annograph, random frames (never repeated)", results["ours_random"]))
    print(_fmt("Starlette + h5py + Pillow, random frames", results["ref_random"]))
    ratios = {
        "repeated_vs_nginx": _median(results["ours_repeated"], "rate") / _median(results["nginx"], "rate"),
        "random_vs_reference": _median(results["ours_random"], "rate")
        / _median(results["ref_random"], "rate"),
        "random_p99_vs_reference": _median(results["ours_random"], "p99")
        / _median(results["ref_random"], "p99"),
    }
    print(f"  repeated frame / nginx            : {ratios['repeated_vs_nginx']:5.2f}x  (target >= 0.5)")
    one = _median(results["ours_repeated"], "rate") / _median(results["nginx_one"], "rate")
    print(f"  repeated frame / nginx, 1 worker  : {one:5.2f}x  (one process against one process)")
    bare = _median(results["ours_repeated"], "rate") / _median(results["bare_repeated"], "rate")
    print(f"  repeated frame / bare Starlette   : {bare:5.2f}x  (the ceiling of one Python process)")
    print(f"  random frames / reference         : {ratios['random_vs_reference']:5.2f}x  (target >= 1.0)")
    print(f"  random p99 / reference p99        : {ratios['random_p99_vs_reference']:5.2f}x  (target <= 1.5)")
    return ratios


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
    sys.exit(main())
