"""LeRobot export (`exportEpisodes(format: LEROBOT)`): the job end to end against PyAV encoding the
same frames alone, then the peak memory of the job at 100 and at 1,000 episodes.

    .venv/bin/python -m bench.lerobot_export [--episodes 100] [--frames 300] [--size 96x128]
        [--codec AV1|H264] [--memory-episodes 100,1000] [--memory-frames 300,30] [--memory-size 32x48]

Source: `--episodes` HDF5 episodes (our layout) of `--frames` frames, 2 cameras of `--size` (H x W)
frames: a smooth texture moving from frame to frame plus noise (what a codec sees in real footage,
not flat colour), a 7-joint state and an 8-value action. The job: the service's exportEpisodes on the
registered dataset (SQLite, embedded runner), output ZIP, no edits, the default settings (crf 30, gop
2, SVT-AV1 preset 12 or libx264). Against: one PyAV file per camera, the same frames read from the same
HDF5 files by h5py and encoded with the same codec, options and pixel format, nothing else.

Peak memory: the peak RSS of a fresh subprocess per size (VmHWM on Linux), after the imports and the
registration, and after the export job. The 1,000-episode run uses `--memory-frames` frames of
`--memory-size` (tiny by default, to keep the run short); the 100-episode one the same, so the two
differ only in the number of episodes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import h5py
import numpy as np

from bench.export import peak_mib

CAMERAS = ("front", "wrist")
FPS = 30
JOINTS = 7


def texture(height: int, width: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0 : height * 2, 0 : width * 2]
    base = np.stack(
        [
            128 + 60 * np.sin(x / 9.0 + c) * np.cos(y / 13.0 - c) + rng.normal(0, 20, x.shape) * 0.3
            for c in range(3)
        ],
        axis=-1,
    )
    return np.clip(base, 0, 255).astype(np.uint8)


def write_source(folder: Path, episodes: int, frames: int, size: tuple[int, int]) -> Path:
    height, width = size
    rng = np.random.default_rng(0)
    textures = [texture(height, width, s) for s in range(len(CAMERAS))]
    (folder / "episodes").mkdir(parents=True, exist_ok=True)
    t = np.arange(frames) / FPS
    for e in range(episodes):
        state = np.stack([np.sin(t * (j + 1) + e) for j in range(JOINTS)], axis=1).astype(np.float32)
        with h5py.File(folder / "episodes" / f"episode_{e:06d}.hdf5", "w") as f:
            f.create_dataset("timestamp", data=t)
            f.create_dataset("observation.state", data=state)
            f.create_dataset(
                "action", data=np.concatenate([state, np.zeros((frames, 1), np.float32)], axis=1)
            )
            for c, camera in enumerate(CAMERAS):
                stream = f.create_dataset(
                    f"observation.images.{camera}",
                    (frames, height, width, 3),
                    np.uint8,
                    chunks=(1, height, width, 3),
                )
                for i in range(frames):
                    dy, dx = (i * 2 + e) % height, (i * 3 + e) % width
                    frame = textures[c][dy : dy + height, dx : dx + width]
                    noise = rng.integers(0, 6, frame.shape, dtype=np.uint8)
                    stream[i] = frame + noise
            f.attrs["task_index"] = e % 2
    info = {
        "name": "bench-src",
        "fps": float(FPS),
        "robot_type": "7dof_arm",
        "cameras": list(CAMERAS),
        "joint_names": [f"joint_{j + 1}" for j in range(JOINTS)],
        "tasks": [
            {"index": 0, "description": "pick the cube"},
            {"index": 1, "description": "place the cube"},
        ],
    }
    (folder / "info.json").write_text(json.dumps(info))
    return folder


def pyav_alone(source: Path, target: Path, codec: str) -> float:
    """Seconds to read every frame with h5py and encode each camera into one file with PyAV."""
    from domain.edits.lerobot_video import VideoOptions

    options = VideoOptions(codec=codec)
    files = sorted((source / "episodes").glob("*.hdf5"))
    target.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for camera in CAMERAS:
        with av.open(str(target / f"{camera}.mp4"), "w") as container:
            stream = None
            for path in files:
                with h5py.File(path, "r") as f:
                    frames = f[f"observation.images.{camera}"]
                    if stream is None:
                        stream = container.add_stream(codec, FPS, options=options.encoder_options())
                        stream.pix_fmt = "yuv420p"
                        stream.height, stream.width = frames.shape[1:3]
                        stream.time_base = Fraction(1, FPS)
                    for i in range(frames.shape[0]):
                        picture = av.VideoFrame.from_ndarray(frames[i], format="rgb24")
                        for packet in stream.encode(picture):  # type: ignore[union-attr]
                            container.mux(packet)
            assert stream is not None
            for packet in stream.encode(None):  # type: ignore[attr-defined]
                container.mux(packet)
    return time.perf_counter() - start


async def export_job(root: Path, source: Path, codec: str) -> dict:
    """exportEpisodes(format: LEROBOT, output: ZIP) of every episode, as the service runs it;
    {seconds, frames, before_mib (peak RSS before the job), peak_mib}."""
    from domain.accounts.users import Role, create_user, viewer_of
    from domain.core.runtime import Runtime
    from domain.datasets.service import register_dataset
    from domain.edits import export as episode_export
    from domain.edits.lerobot_export import EpisodeFormat, VideoCodec
    from persistence.migrate import upgrade
    from persistence.settings import load_settings

    url = f"sqlite+aiosqlite:///{root}/bench.db"
    await asyncio.to_thread(upgrade, url)
    rt = Runtime.build(load_settings(var_dir=root / "var", database_url=url, data_roots=[source.parent]))
    await rt.start()
    try:
        indexed = await rt.jobs.wait((await register_dataset(rt, str(source))).id)
        assert indexed.status == "COMPLETED", indexed.error_message
        viewer = viewer_of(await create_user(rt, "bench", Role.ADMIN))
        episodes = len(list((source / "episodes").glob("*.hdf5")))
        request = episode_export.ExportEpisodesRequest(
            dataset_id=indexed.dataset_id,
            episodes=tuple(episode_export.EpisodeChoice(i) for i in range(episodes)),
            output=episode_export.ExportOutput.ZIP,
            name="bench-lerobot",
            format=EpisodeFormat.LEROBOT,
            codec=VideoCodec(codec),
        )
        before = peak_mib()
        start = time.perf_counter()
        job = await episode_export.export_episodes(rt, viewer, request)
        done = await rt.jobs.wait(job.id)
        seconds = time.perf_counter() - start
        assert done.status == "COMPLETED", (done.error_code, done.error_message)
        assert done.summary is not None
        frames = int(done.summary.stored()["frames"])
        return {"seconds": seconds, "frames": frames, "before_mib": before, "peak_mib": peak_mib()}
    finally:
        await rt.stop()


def size_of(text: str) -> tuple[int, int]:
    height, width = text.lower().split("x")
    return int(height), int(width)


def one_run(episodes: int, frames: int, size: tuple[int, int], codec: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        source = write_source(Path(tmp) / "datasets" / "src", episodes, frames, size)
        return asyncio.run(export_job(Path(tmp), source, codec))


def main() -> None:
    from domain.edits.lerobot_export import VideoCodec, default_codec

    parser = argparse.ArgumentParser()
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--size", default="96x128")
    parser.add_argument("--codec", choices=["AV1", "H264"], default=default_codec().name)
    parser.add_argument("--memory-episodes", default="100,1000")
    parser.add_argument("--memory-frames", type=int, default=30)
    parser.add_argument("--memory-size", default="32x48")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    codec = VideoCodec[args.codec].value
    if args.one:
        print(json.dumps(one_run(args.episodes, args.frames, size_of(args.size), codec)))
        return

    size = size_of(args.size)
    total = args.episodes * args.frames * len(CAMERAS)
    print(
        f"LeRobot export: {args.episodes} episodes x {len(CAMERAS)} cameras x {args.frames} frames "
        f"({size[0]} x {size[1]}), {args.codec}; {total} frames encoded"
    )
    with tempfile.TemporaryDirectory() as tmp:
        source = write_source(Path(tmp) / "datasets" / "src", args.episodes, args.frames, size)
        alone = pyav_alone(source, Path(tmp) / "alone", codec)
        job = asyncio.run(export_job(Path(tmp), source, codec))
    print(f"  PyAV encoding alone (h5py read + encode)  {alone:8.2f} s  {total / alone:8.0f} frames/s")
    print(
        f"  exportEpisodes LEROBOT job (zip)          {job['seconds']:8.2f} s  "
        f"{total / job['seconds']:8.0f} frames/s"
    )
    print(f"  ratio job / PyAV alone                    {job['seconds'] / alone:8.2f}x")

    msize = size_of(args.memory_size)
    print(
        f"peak memory (peak RSS of a fresh process per size; {args.memory_frames} frames of "
        f"{msize[0]} x {msize[1]})"
    )
    for n in (int(x) for x in args.memory_episodes.split(",")):
        out = subprocess.run(
            [
                sys.executable, "-m", "bench.lerobot_export", "--one", "--episodes", str(n),
                "--frames", str(args.memory_frames), "--size", args.memory_size, "--codec", args.codec,
            ],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        p = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"  {n:5d} episodes ({p['frames']:7d} frames): {p['before_mib']:7.1f} MiB before the job, "
            f"{p['peak_mib']:7.1f} MiB peak after (+{p['peak_mib'] - p['before_mib']:.1f}), "
            f"{p['seconds']:.1f} s"
        )


if __name__ == "__main__":
    main()
