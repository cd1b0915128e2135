"""Trajectory metrics over 1,000 episodes of 1,000 frames x 7 joints, read from HDF5 and stored, against
the loop-based transcription of the guide's definitions applied to the same files in one process; then
the peak memory of analysing 2,000 episodes against 200.

    .venv/bin/python -m bench.analysis [--episodes 1000] [--frames 1000]

The job runs as the service runs it (runAnalysis's service, the process pool, one transaction at the
end) on SQLite in a temporary folder. Peak memory is measured in a fresh process per size: the
server process's peak RSS and the largest worker's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

JOINTS = 7
CANCEL: list[tuple[float, str]] = []
WORKER_PEAKS: list[float] = []


def vm_hwm_mib() -> float:
    """This process's peak RSS. Not ru_maxrss: on Linux that carries the parent's peak over fork and
    exec, so a child would report at least its parent's size."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


NAMES = ("smoothness", "efficiency", "jitter", "hesitation_count", "correction_count", "overall_grade")


def write_files(folder: Path, episodes: int, frames: int) -> Path:
    """Trajectory-only episodes (no cameras): smooth reaching motions with noise, pauses and reversals."""
    rng = np.random.default_rng(0)
    (folder / "episodes").mkdir(parents=True, exist_ok=True)
    t = np.arange(frames) / 30.0
    for i in range(episodes):
        phase = rng.uniform(0, 2 * np.pi, JOINTS)
        state = np.sin(t[:, None] * rng.uniform(0.2, 1.5, JOINTS) + phase) + rng.normal(
            0, 0.002, (frames, JOINTS)
        )
        if i % 7 == 0:
            state[frames // 2 : frames // 2 + 20] = state[frames // 2]  # a pause
        with h5py.File(folder / "episodes" / f"episode_{i:06d}.hdf5", "w") as f:
            f["timestamp"] = t + rng.normal(0, 1e-4, frames) * (i % 3 == 0)
            f["observation.state"] = state.astype(np.float32)
            f["observation.gripper"] = (t > t[-1] / 2).astype(np.float32)
            f.attrs["task_index"] = 0
    info = {
        "name": "bench",
        "fps": 30.0,
        "robot_type": "7dof_arm",
        "cameras": [],
        "joint_names": [f"joint_{j + 1}" for j in range(JOINTS)],
        "tasks": [],
        "features": {},
    }
    (folder / "info.json").write_text(json.dumps(info))
    return folder


async def run_job(var_dir: Path, folder: Path) -> tuple[float, dict[int, dict], int]:
    from domain.accounts.users import Role, create_user, viewer_of
    from domain.analysis.kinds import AnalysisKind
    from domain.analysis.runs import run_analysis
    from domain.core.runtime import Runtime
    from domain.datasets.service import register_dataset
    from persistence.migrate import upgrade
    from persistence.repositories import episode_analysis
    from persistence.settings import load_settings

    url = f"sqlite+aiosqlite:///{var_dir}/bench.db"
    await asyncio.to_thread(upgrade, url)
    rt = Runtime.build(load_settings(var_dir=var_dir, database_url=url, data_roots=[folder.parent]))
    await rt.start()
    try:
        indexed = await rt.jobs.wait((await register_dataset(rt, str(folder))).id)
        viewer = viewer_of(await create_user(rt, "bench", Role.ADMIN))
        rt.workers().submit(int, 0).result()  # pool started before the clock, as in a running server
        start = time.perf_counter()
        job = await run_analysis(rt, viewer, indexed.dataset_id, AnalysisKind.TRAJECTORY_METRICS, None, None)
        done = await rt.jobs.wait(job.id)
        seconds = time.perf_counter() - start
        assert done.status == "COMPLETED", (done.error_code, done.error_message)
        # Each worker's own peak (several probes, so that every worker answers at least once).
        probes = [rt.workers().submit(vm_hwm_mib) for _ in range(8)]
        WORKER_PEAKS.append(max(p.result() for p in probes))
        # Cancelling a second run half a second in: how long until it is CANCELLED.
        again = await run_analysis(
            rt, viewer, indexed.dataset_id, AnalysisKind.TRAJECTORY_METRICS, None, None
        )
        await asyncio.sleep(0.5)
        stop = time.perf_counter()
        cancelled = await rt.jobs.cancel(again.id)
        CANCEL.append((time.perf_counter() - stop, cancelled.status))
        async with rt.sessions() as session:
            from sqlalchemy import select

            from persistence.tables import EpisodeRow

            ids = dict((await session.execute(select(EpisodeRow.id, EpisodeRow.index))).all())
            stored = await episode_analysis.latest_results(session, list(ids), "TRAJECTORY_METRICS")
        return seconds, {ids[e]: v for e, v in stored.items()}, len(ids)
    finally:
        await rt.stop()


def reference(folder: Path, episodes: int) -> tuple[float, dict[int, dict]]:
    from domain.analysis.trajectory_metrics import TrajectoryParams
    from tests.domain.analysis.trajectory_reference import reference_metrics

    params = TrajectoryParams()
    start = time.perf_counter()
    found = {}
    for i in range(episodes):
        with h5py.File(folder / "episodes" / f"episode_{i:06d}.hdf5", "r") as f:
            state = np.asarray(f["observation.state"][:], dtype=np.float64)
            timestamps = np.asarray(f["timestamp"][:], dtype=np.float64)
        found[i] = reference_metrics(state, timestamps, params)
    return time.perf_counter() - start, found


def speed(episodes: int, frames: int) -> None:
    from persistence.documents import EpisodeMetrics

    with tempfile.TemporaryDirectory() as tmp:
        folder = write_files(Path(tmp) / "datasets" / "bench", episodes, frames)
        job_s, stored, count = asyncio.run(run_job(Path(tmp), folder))
        ref_s, expected = reference(folder, episodes)
    worst = 0.0
    for i, want in expected.items():
        got = stored[i].as_kind(EpisodeMetrics)  # what the run stored, read as its model
        assert got is not None, (i, stored[i])
        for name in NAMES:
            worst = max(
                worst,
                abs(
                    float(getattr(got, name))
                    - float(want[name] if isinstance(want, dict) else getattr(want, name))
                ),
            )
    print(f"trajectory metrics, {count} episodes x {frames} frames x {JOINTS} joints, read from HDF5")
    print(f"  job (process pool, stored)      {job_s:7.2f} s   {count / job_s:8.1f} episodes/s")
    print(f"  loop transcription, 1 process   {ref_s:7.2f} s   {episodes / ref_s:8.1f} episodes/s")
    print(f"  speed-up                        {ref_s / job_s:7.2f}x")
    print(f"  largest difference in any metric {worst:.3g}")
    seconds, status = CANCEL[-1]
    print(f"  cancelJob half a second into a run: {status} after {seconds * 1000:.0f} ms")


def memory(episodes: int, frames: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_files(Path(tmp) / "datasets" / "bench", episodes, frames)
        asyncio.run(run_job(Path(tmp), folder))
    return {"server_mib": vm_hwm_mib(), "worker_mib": max(WORKER_PEAKS)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--memory-only", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_only is not None:
        print(json.dumps(memory(args.memory_only, args.frames)))
        return
    speed(args.episodes, args.frames)
    peaks = {}
    for n in (200, 2000):
        out = subprocess.run(
            [sys.executable, "-m", "bench.analysis", "--memory-only", str(n), "--frames", str(args.frames)],
            capture_output=True,
            text=True,
            check=True,
        )
        peaks[n] = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"peak memory (RSS), {args.frames} frames per episode")
    for n, p in peaks.items():
        print(
            f"  {n:5d} episodes: server {p['server_mib']:7.1f} MiB, largest worker {p['worker_mib']:7.1f} MiB"
        )
    print(
        f"  ratio 2000 / 200: server {peaks[2000]['server_mib'] / peaks[200]['server_mib']:.2f}x, "
        f"worker {peaks[2000]['worker_mib'] / peaks[200]['worker_mib']:.2f}x"
    )


if __name__ == "__main__":
    import logging
    import os

    os.environ.setdefault("ANNOGRAPH_LOG_LEVEL", "WARNING")
    logging.basicConfig(level=logging.WARNING)
    main()
