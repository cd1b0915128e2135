"""LeRobot v3.0 datasets, each figure beside its reference measured in the same run:

1. registration (`domain.datasets.service.register_dataset` + waiting for its job, in a fresh
   process on a temp SQLite database, as `annograph datasets add` runs it) against pyarrow reading the
   dataset's `meta/episodes/**/*.parquet` alone; a second registration of the unchanged dataset; the
   registering process's peak memory (VmHWM);
2. frames of one episode in the middle of a shared video file (AV1 and H.264, GOP 2 as LeRobot encodes)
   through `EpisodeReaders.read_frames`, one frame per call, in order and shuffled, against PyAV opening
   the file, seeking to the episode's window and decoding it to RGB in one pass;
3. a 600-frame episode's trajectory through GraphQL over HTTP (a real server) against pyarrow reading
   the same rows and columns and `json.dumps` of the same arrays.

    .venv/bin/python -m bench.lerobot [--quick]

Generated datasets are kept in /tmp/annograph-bench-lerobot/<name>-<hash of the parameters and of
tests/samples_lerobot.py>, so a rerun does not write them again.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import inspect
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench.harness import ROOT, _free_port, serving
from tests import samples_lerobot
from tests.samples_lerobot import marker, write_lerobot_v30

CACHE = Path(tempfile.gettempdir()) / "annograph-bench-lerobot"
RATIO = "ratio = annograph time / reference time (1.0: as fast; 2.0: annograph takes twice as long)"
TRAJECTORY_QUERY = """query ($id: ID!) { node(id: $id) { ... on Episode {
  trajectory { timestamps jointPositions actions gripper } } } }"""


# -- generated datasets, cached --------------------------------------------------------------------


def cached_dataset(name: str, **params) -> tuple[Path, float | None]:
    """The dataset `write_lerobot_v30(**params)` writes, from the cache when it is there; returns the
    folder and the seconds spent generating it (None: from the cache)."""
    generator = inspect.getsource(samples_lerobot)
    key = hashlib.sha1((json.dumps(params, sort_keys=True) + generator).encode()).hexdigest()[:12]
    folder = CACHE / f"{name}-{key}"
    if (folder / ".complete").is_file():
        return folder, None
    shutil.rmtree(folder, ignore_errors=True)
    partial = CACHE / f".{folder.name}.{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    start = time.perf_counter()
    # In a child process: SVT-AV1 switches the thread that encodes to SCHED_FIFO (real-time scheduling,
    # inherited by every process started after), which would favour whatever this process measures.
    subprocess.run(
        [sys.executable, "-m", "bench.lerobot", "--generate", str(partial), json.dumps(params)],
        cwd=ROOT,
        check=True,
    )
    spent = time.perf_counter() - start
    (partial / ".complete").write_text(json.dumps(params, sort_keys=True))
    partial.rename(folder)
    return folder, spent


def registration_params(episodes: int) -> dict:
    return dict(
        episodes=episodes,
        length=10,
        cameras=("front", "wrist"),
        codec="h264",  # registration never decodes: the fastest encoder keeps generation short
        episodes_per_file=100,
        width=64,
        height=48,
        stats=False,
    )


def generated(label: str, spent: float | None) -> str:
    return f"{label}: cached" if spent is None else f"{label}: generated in {spent:.1f} s"


# -- helpers ---------------------------------------------------------------------------------------


def median_time(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def proc_status(field: str) -> int:
    """A /proc/self/status figure in KiB (VmRSS, VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def row(cells: list[str], widths: list[int]) -> str:
    return "  " + " ".join(
        c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
    )


# -- 1. registration -------------------------------------------------------------------------------


def read_episode_tables(dataset: Path) -> pa.Table:
    files = sorted((dataset / "meta/episodes").rglob("*.parquet"))
    return pa.concat_tables([pq.read_table(f) for f in files])


async def _register_child(dataset: Path, var_dir: Path, database_url: str) -> dict:
    from domain.core.runtime import Runtime
    from domain.datasets.service import register_dataset
    from persistence.documents import IndexingSummary
    from persistence.episode_sources import lerobot  # noqa: F401 - imported before timing, as a server has it
    from persistence.settings import load_settings

    settings = load_settings(
        var_dir=var_dir, database_url=database_url, data_roots=[dataset.parent], log_level="WARNING"
    )
    rt = Runtime.build(settings)
    await rt.start(recover_jobs=False)
    try:
        baseline = proc_status("VmRSS")
        times: list[float] = []
        peaks: list = []
        summary: IndexingSummary | None = None
        for _ in range(2):  # register, then register the unchanged dataset again
            start = time.perf_counter()
            job = await register_dataset(rt, dataset.name)
            done = await rt.jobs.wait(job.id)
            times.append(time.perf_counter() - start)
            peaks.append(proc_status("VmHWM"))
            if done.status != "COMPLETED":
                raise RuntimeError(f"registration {done.status}: {done.error_message}")
            assert done.summary is not None  # a completed registration's
            summary = done.summary.as_kind(IndexingSummary)
            assert summary is not None
    finally:
        await rt.stop()
    assert summary is not None  # registered twice
    return {
        "first": times[0],
        "again": times[1],
        "baseline_kib": baseline,
        "peak_kib": peaks[0],
        "peak_again_kib": peaks[1],
        "episodes": summary.episodes,
        "frames": summary.frames,
    }


def register_in_fresh_process(dataset: Path) -> dict:
    from persistence.migrate import upgrade

    with tempfile.TemporaryDirectory(prefix="annograph-bench-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'annograph.db'}"
        upgrade(url)  # as `annograph migrate` would, before and outside the measurement
        result = subprocess.run(
            [sys.executable, "-m", "bench.lerobot", "--register-child", str(dataset), tmp, url],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
    return json.loads(result.stdout.strip().splitlines()[-1])


def bench_registration(quick: bool) -> None:
    sizes = (200, 1000) if quick else (1000, 10000)
    notes, results = [], {}
    for n in sizes:
        folder, spent = cached_dataset(f"register-{n}", **registration_params(n))
        notes.append(generated(f"{n} episodes at {folder}", spent))
        runs = [register_in_fresh_process(folder) for _ in range(3 if n == sizes[0] else 1)]
        got = dict(runs[0])
        got["first"] = statistics.median(r["first"] for r in runs)
        got["again"] = statistics.median(r["again"] for r in runs)
        got["runs"] = len(runs)
        reference = median_time(lambda folder=folder: read_episode_tables(folder), 5)
        assert read_episode_tables(folder).num_rows == n == got["episodes"]
        results[n] = (got, reference)
    print(
        "1. Registration: LeRobot v3.0, 2 cameras, 10 frames/episode at 64x48, 100 episodes per data and "
        "video file, no stats"
    )
    for note in notes:
        print(f"   {note}")
    print(
        "   annograph: register_dataset + wait for the job, in a fresh process (imports and migration "
        f"done before timing), temp SQLite; median of {results[sizes[0]][0]['runs']} processes at "
        f"{sizes[0]}, one at {sizes[1]}"
    )
    print("   reference: pq.read_table of every meta/episodes/**/*.parquet + concat_tables (median of 5)")
    print(f"   {RATIO}")
    widths = [9, 13, 13, 9, 16, 12, 13]
    print(
        row(
            ["episodes", "register s", "reference s", "ratio", "re-register s", "RSS before", "peak (VmHWM)"],
            widths,
        )
    )
    for n, (got, reference) in results.items():
        print(
            row(
                [
                    str(n),
                    f"{got['first']:.3f}",
                    f"{reference:.4f}",
                    f"{got['first'] / reference:.0f}x",
                    f"{got['again']:.3f}",
                    f"{got['baseline_kib'] / 1024:.0f} MiB",
                    f"{got['peak_kib'] / 1024:.0f} MiB",
                ],
                widths,
            )
        )
    print(
        "   peak after the re-registration: "
        + ", ".join(f"{n}: {g['peak_again_kib'] / 1024:.0f} MiB" for n, (g, _) in results.items())
    )


# -- 2. frames from a shared video window ----------------------------------------------------------


def pyav_window(path: Path, start: float, stop: float, fps: float, counts: list | None = None) -> list:
    """LeRobot's way: open, seek to the window's start, decode to its end, RGB each frame in it.
    `counts` receives the number of frames decoded."""
    half = 0.5 / fps
    out, decoded = [], 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        container.seek(int(start / stream.time_base), stream=stream, backward=True, any_frame=False)
        for frame in container.decode(stream):
            decoded += 1
            t = frame.time
            if t < start - half:
                continue
            if t >= stop - half:
                break
            out.append(frame.to_ndarray(format="rgb24"))
    if counts is not None:
        counts.append(decoded)
    return out


FRAMES = dict(episodes=20, length=60, target=10, camera="front")


def frames_of_codec(codec: str, repeat: int) -> tuple[list[tuple], list[str]]:
    """Table rows (codec, access, frames, annograph s, PyAV s, decoded by annograph, by PyAV) and notes."""
    from persistence.episode_sources import lerobot
    from persistence.episode_sources.base import make_ref
    from persistence.episode_sources.readers import EpisodeReaders

    length, target, camera = FRAMES["length"], FRAMES["target"], FRAMES["camera"]
    folder, spent = cached_dataset(
        f"frames-{codec}",
        episodes=FRAMES["episodes"],
        length=length,
        cameras=("front", "wrist"),
        codec=codec,
        width=320,
        height=240,
    )
    notes = [generated(f"{codec} at {folder}", spent)]
    scan = lerobot.scan(folder, lerobot.Options())
    episode = scan.episodes[target]
    ref = make_ref(lerobot.FORMAT, str(folder), episode.file, episode.locator)
    window = episode.locator["videos"][camera]
    video = folder / window["file"]
    ordered = list(range(length))
    shuffled = random.Random(0).sample(ordered, length)
    expected = {i: (i, target, 1) for i in ordered}

    counts: list[int] = []
    frames = pyav_window(video, window["from"], window["to"], scan.fps, counts)
    assert [marker(f) for f in frames] == [expected[i] for i in ordered], "PyAV's window differs"

    def one_per_call(indices: list[int], decoded: list[int] | None = None) -> float:
        """Seconds for one read_frames call per frame, on a fresh cache with the episode open and the
        video indexed (untimed), as a frame server has them after its first request."""
        readers = EpisodeReaders()
        try:
            readers.read_arrays(ref, ["timestamp"], slice(0, 1))  # opens the episode (parquet rows)
            readers.videos.frame_times(video)  # opens the video and indexes it (demux, no decoding)
            start = time.perf_counter()
            got = [readers.read_frames(ref, camera, [i])[0] for i in indices]
            seconds = time.perf_counter() - start
            if decoded is not None:
                decoded.append(readers.videos.decoded_frames)
        finally:
            readers.close()
        assert [marker(f) for f in got] == [expected[i] for i in indices], "annograph's frames differ"
        return seconds

    patterns = {"sequential": ordered, "random": shuffled}
    decoded: dict[str, list[int]] = {access: [] for access in patterns}
    for access, indices in patterns.items():
        one_per_call(indices, decoded[access])  # warm-up, and the frames checked
    # Rounds alternate the three measurements so that a change of load on the machine hits them alike.
    times: dict[str, list[float]] = {"reference": [], **{access: [] for access in patterns}}
    for _ in range(repeat):
        start = time.perf_counter()
        pyav_window(video, window["from"], window["to"], scan.fps)
        times["reference"].append(time.perf_counter() - start)
        for access, indices in patterns.items():
            times[access].append(one_per_call(indices))
    reference = statistics.median(times["reference"])
    rows = [
        (codec, access, length, statistics.median(times[access]), reference, decoded[access][0], counts[0])
        for access in patterns
    ]

    readers = EpisodeReaders()
    start = time.perf_counter()
    readers.read_frames(ref, camera, [0])
    cold = time.perf_counter() - start
    readers.close()
    notes.append(
        f"{codec}: first frame from a fresh EpisodeReaders (open + video index) {cold * 1000:.1f} ms"
    )
    return rows, notes


def bench_frames(quick: bool) -> None:
    repeat = 3 if quick else 7
    rows, notes = [], []
    for codec in ("av1", "h264"):
        more_rows, more_notes = frames_of_codec(codec, repeat)
        rows += more_rows
        notes += more_notes
    print()
    print(
        f"2. Frames of episode {FRAMES['target']} of {FRAMES['episodes']} sharing one video file per camera, "
        f"{FRAMES['length']} frames 320x240, GOP 2 (LeRobot's g=2), camera {FRAMES['camera']}"
    )
    for note in notes:
        print(f"   {note}")
    print(
        "   annograph: EpisodeReaders.read_frames(ref, camera, [i]), one call per frame (episode already "
        "open, video indexed)"
    )
    print(
        "   reference: PyAV open + seek to the window start + decode to its end + to_ndarray('rgb24'), "
        f"one pass in order; medians of {repeat} rounds alternating the three"
    )
    print(f"   {RATIO}")
    widths = [6, 11, 7, 14, 9, 7, 19]
    header = ["codec", "access", "frames", "annograph fps", "PyAV fps", "ratio", "decoded: ours/PyAV"]
    print(row(header, widths))
    for codec, access, n, seconds, reference, ours, theirs in rows:
        cells = [
            codec,
            access,
            str(n),
            f"{n / seconds:.0f}",
            f"{n / reference:.0f}",
            f"{seconds / reference:.2f}x",
            f"{ours}/{theirs}",
        ]
        print(row(cells, widths))


# -- 3. trajectory through GraphQL -----------------------------------------------------------------


@contextlib.contextmanager
def lerobot_server(dataset: Path) -> Iterator[tuple[str, str, str]]:
    """`annograph migrate`, `datasets add`, `users create`, `serve` in a temp var dir whose data root
    is the dataset's folder; yields (url, admin token, the CLI's registration summary)."""
    with tempfile.TemporaryDirectory(prefix="annograph-bench-") as tmp:
        port = _free_port()
        env = {
            **os.environ,
            "ANNOGRAPH_VAR_DIR": tmp,
            "ANNOGRAPH_DATA_ROOTS": str(dataset.parent),
            "ANNOGRAPH_PORT": str(port),
            "ANNOGRAPH_LOG_LEVEL": "WARNING",
        }

        def cli(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run(
                [sys.executable, "-m", "graph", *args],
                env=env,
                cwd=ROOT,
                check=True,
                capture_output=True,
                text=True,
            )

        cli("migrate")
        added = cli("datasets", "add", dataset.name)
        summary = next((line for line in added.stderr.splitlines() if line.startswith("registered")), "")
        token = cli("users", "create", "bench", "--role", "ADMIN").stdout.strip()
        with serving(env, port) as (url, _):
            yield url, token, summary.strip()


def reference_trajectory(data_file: Path, episode: int) -> str:
    """pyarrow reads the episode's rows; the same arrays as the query asks, columnar, as JSON (float32
    widened and rounded to 7 digits as annograph's NumericArray serialises them): the same bytes."""
    table = pq.read_table(
        data_file,
        columns=["timestamp", "observation.state", "action"],
        filters=[("episode_index", "=", episode)],
    )

    def matrix(name: str) -> np.ndarray:
        column = table.column(name).combine_chunks()
        return column.flatten().to_numpy().reshape(len(column), -1)

    def floats(a: np.ndarray) -> list:
        return np.round(a.astype(np.float64), 7).tolist()

    stamps = table.column("timestamp").to_numpy().astype(np.float64)
    state = matrix("observation.state")
    body = {
        "timestamps": (stamps - stamps[0]).tolist(),  # float64 already: not rounded
        "jointPositions": floats(state.T),
        "actions": floats(matrix("action").T),
        "gripper": floats(state[:, -1]),
    }
    return json.dumps({"data": {"node": {"trajectory": body}}}, separators=(",", ":"))


def latencies(fn: Callable[[], object], count: int, warm: int = 5) -> list[float]:
    for _ in range(warm):
        fn()
    out = []
    for _ in range(count):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def bench_trajectory(quick: bool) -> None:
    requests = 50 if quick else 200
    episodes, length, target = 3, 600, 1
    folder, spent = cached_dataset(
        "trajectory", episodes=episodes, length=length, cameras=("front",), width=64, height=48, stats=False
    )
    data_file = folder / "data/chunk-000/file-000.parquet"
    with (
        lerobot_server(folder) as (url, token, summary),
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client,
    ):
        found = client.post(
            "/graphql",
            json={"query": f"{{ datasets {{ edges {{ node {{ episode(index: {target}) {{ id }} }} }} }} }}"},
        ).json()
        episode_id = found["data"]["datasets"]["edges"][0]["node"]["episode"]["id"]
        body = {"query": TRAJECTORY_QUERY, "variables": {"id": episode_id}}

        def through_graph() -> bytes:
            response = client.post("/graphql", json=body)
            response.raise_for_status()
            return response.content

        answer = json.loads(through_graph())
        assert "errors" not in answer, answer
        graph = latencies(through_graph, requests)
        size = len(through_graph())
    ours = json.loads(reference_trajectory(data_file, target))["data"]["node"]["trajectory"]
    theirs = answer["data"]["node"]["trajectory"]
    for key in ours:
        assert np.allclose(np.asarray(ours[key]), np.asarray(theirs[key]), atol=1e-6), f"{key} differs"
    direct = latencies(lambda: reference_trajectory(data_file, target), requests)
    reference_size = len(reference_trajectory(data_file, target))

    print()
    print(
        f"3. Trajectory of a {length}-frame episode (7-dim state and action), LeRobot v3.0, "
        f"{episodes} episodes in one data file, episode {target}"
    )
    print(f"   {generated(f'dataset at {folder}', spent)}; CLI: {summary}")
    print(
        "   annograph: `annograph serve`, httpx POST /graphql node(id) { trajectory { timestamps "
        f"jointPositions actions gripper }} }}, {requests} sequential warm requests, {size / 1024:.0f} KiB"
    )
    print(
        "   reference: pq.read_table(data file, columns=[timestamp, observation.state, action], "
        f"filters=[episode_index = {target}]) + json.dumps of the same arrays, "
        f"{reference_size / 1024:.0f} KiB"
    )
    print(f"   {RATIO}")
    widths = [10, 15, 15, 9]
    print(row(["", "annograph", "reference", "ratio"], widths))
    g_rate, r_rate = len(graph) / sum(graph), len(direct) / sum(direct)
    g_p50, r_p50 = statistics.median(graph), statistics.median(direct)
    print(row(["per second", f"{g_rate:.0f}", f"{r_rate:.0f}", f"{r_rate / g_rate:.2f}x"], widths))
    print(row(["p50 ms", f"{g_p50 * 1000:.2f}", f"{r_p50 * 1000:.2f}", f"{g_p50 / r_p50:.2f}x"], widths))
    p90 = int(len(graph) * 0.9)
    print(
        row(
            [
                "p90 ms",
                f"{sorted(graph)[p90] * 1000:.2f}",
                f"{sorted(direct)[p90] * 1000:.2f}",
                f"{sorted(graph)[p90] / sorted(direct)[p90]:.2f}x",
            ],
            widths,
        )
    )


# -- main ------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes and fewer repeats (a smoke run)")
    parser.add_argument("--generate", nargs=2, metavar=("FOLDER", "PARAMS"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--register-child", nargs=3, metavar=("DATASET", "VAR_DIR", "DATABASE_URL"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.generate:
        folder, params = args.generate
        os.environ.setdefault("SVT_LOG", "1")
        write_lerobot_v30(Path(folder), **json.loads(params))
        return
    if args.register_child:
        dataset, var_dir, url = args.register_child
        print(json.dumps(asyncio.run(_register_child(Path(dataset), Path(var_dir), url))))
        return
    av.logging.set_level(av.logging.ERROR)
    CACHE.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    command = ".venv/bin/python -m bench.lerobot" + (" --quick" if args.quick else "")
    print(
        f"bench.lerobot{' (quick)' if args.quick else ''}: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, pyarrow {pa.__version__}, PyAV {av.__version__}"
    )
    print(f"repeat with: {command}")
    if os.sched_getscheduler(0) != os.SCHED_OTHER:
        print(
            f"WARNING: this process runs under scheduling policy {os.sched_getscheduler(0)}, not SCHED_OTHER"
        )
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print()
    bench_registration(args.quick)
    bench_frames(args.quick)
    bench_trajectory(args.quick)
    print()
    print(
        f"total {time.perf_counter() - started:.0f} s; load average at end: "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )


if __name__ == "__main__":
    main()
