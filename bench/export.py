"""Exporting an edited episode: `write_edited_episode`, and the `exportEpisodes` job end to end, on a
600-frame, two-camera (240 x 320) episode with trim, removed frames, crop, resize and colour edits,
against the same Pillow operations applied to the same frames in a plain loop in one process (read
with h5py, transform, write with h5py in the same gzip-4, one-frame-per-chunk layout); then the peak
memory of exporting 600 frames against 6,000.

    .venv/bin/python -m bench.export [--frames 600]

Source frames are a smooth texture that moves from frame to frame plus sensor-like noise, stored as the
layout stores them (gzip, one frame per chunk). Peak memory is the peak RSS of a fresh subprocess per
size (VmHWM on Linux, where ru_maxrss carries the parent's peak over fork and exec; ru_maxrss elsewhere),
before the export (imports done) and after it.
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
from PIL import Image, ImageEnhance

from domain.edits import (
    CameraEdit,
    Crop,
    EpisodeEdits,
    Resize,
    ResizeFilter,
    kept_frames,
    write_edited_episode,
)
from persistence.episode_sources import TRAJECTORY_DATASETS
from tests.factories import write_episode

CAMERAS = ("front", "wrist")
SIZE = (240, 320)


def edits_for(frames: int) -> EpisodeEdits:
    return EpisodeEdits(
        removed_frames=(frames // 2, frames // 2 + 3),
        removed_ranges=((frames // 3, frames // 3 + frames // 20),),
        trim=(10, frames - 11),
        cameras={
            "front": CameraEdit(
                crop=Crop(16, 12, 288, 216),
                resize=Resize(224, 224, ResizeFilter.BILINEAR),
                brightness=1.1,
                contrast=1.2,
                saturation=0.9,
            ),
            "wrist": CameraEdit(
                crop=Crop(0, 20, 320, 200), resize=Resize(160, 100, ResizeFilter.BICUBIC), brightness=0.8
            ),
        },
    )


def write_source(path: Path, frames: int) -> Path:
    """The trajectory of tests.factories, camera streams replaced by textured frames, written 64 at a time."""
    write_episode(path, 0, frames, cameras=(), size=SIZE)
    rng = np.random.default_rng(0)
    h, w = SIZE
    yy, xx = np.mgrid[0 : 2 * h, 0 : 2 * w]
    texture = np.stack([np.sin(xx / 17.0 + k) * np.cos(yy / 23.0 - k) for k in range(3)], axis=2)
    texture = ((texture + 1) * 100 + rng.integers(0, 40, texture.shape)).astype(np.int16)
    with h5py.File(path, "a") as f:
        for c, camera in enumerate(CAMERAS):
            ds = f.create_dataset(
                f"observation.images.{camera}",
                shape=(frames, h, w, 3),
                dtype=np.uint8,
                chunks=(1, h, w, 3),
                compression="gzip",
                compression_opts=4,
            )
            for start in range(0, frames, 64):
                block = []
                for i in range(start, min(start + 64, frames)):
                    dy, dx = (i * 2 + c * 50) % h, (i * 3) % w
                    noise = rng.integers(-6, 7, (h, w, 3), dtype=np.int16)
                    block.append(np.clip(texture[dy : dy + h, dx : dx + w] + noise, 0, 255).astype(np.uint8))
                ds[start : start + len(block)] = np.stack(block)
    return path


def by_hand(frame: np.ndarray, edit: CameraEdit) -> np.ndarray:
    """The Pillow calls of `edit`, written out (crop, resize, colour) as a script would."""
    image = Image.fromarray(frame)
    c, r = edit.crop, edit.resize
    assert c is not None and r is not None
    image = image.crop((c.x, c.y, c.x + c.width, c.y + c.height))
    image = image.resize((r.width, r.height), Image.Resampling[r.filter])
    image = ImageEnhance.Brightness(image).enhance(edit.brightness)
    image = ImageEnhance.Contrast(image).enhance(edit.contrast)
    image = ImageEnhance.Color(image).enhance(edit.saturation)
    return np.asarray(image)


def loop(source: Path, target: Path, edits: EpisodeEdits) -> None:
    """The plain loop: one frame read, transformed and written at a time."""
    with h5py.File(source, "r") as src, h5py.File(target, "w") as out:
        kept = kept_frames(edits, len(src["timestamp"]))
        for name in TRAJECTORY_DATASETS:
            out[name] = src[name][:][kept]
        for camera, edit in edits.cameras.items():
            frames = src[f"observation.images.{camera}"]
            assert edit.resize is not None
            shape = (edit.resize.height, edit.resize.width, 3)
            ds = out.create_dataset(
                f"observation.images.{camera}",
                shape=(len(kept), *shape),
                dtype=np.uint8,
                chunks=(1, *shape),
                compression="gzip",
                compression_opts=4,
            )
            for i, s in enumerate(kept):
                ds[i] = by_hand(frames[s], edit)
        for key, value in src.attrs.items():
            out.attrs[key] = value


def speed(frames: int) -> None:
    edits = edits_for(frames)
    with tempfile.TemporaryDirectory() as tmp:
        source = write_source(Path(tmp) / "src" / "episode_000000.hdf5", frames)
        mib = source.stat().st_size / 2**20
        start = time.perf_counter()
        summary = write_edited_episode(source, Path(tmp) / "out" / "episode_000000.hdf5", edits)
        writer_s = time.perf_counter() - start
        start = time.perf_counter()
        loop(source, Path(tmp) / "loop.hdf5", edits)
        loop_s = time.perf_counter() - start
        with (
            h5py.File(Path(tmp) / "out" / "episode_000000.hdf5") as a,
            h5py.File(Path(tmp) / "loop.hdf5") as b,
        ):
            same = all(
                np.array_equal(a[f"observation.images.{c}"][:], b[f"observation.images.{c}"][:])
                for c in CAMERAS
            )
    sizes = ", ".join(f"{c} {h}x{w}" for c, (h, w) in summary.cameras.items())
    print(f"export, {frames} frames x {len(CAMERAS)} cameras {SIZE[1]}x{SIZE[0]} ({mib:.0f} MiB gzip source)")
    print(f"  kept {summary.frames} frames; written {sizes}; {summary.bytes / 2**20:.1f} MiB")
    n = summary.frames
    print(f"  write_edited_episode (chunks of 32)  {writer_s:7.2f} s  {n / writer_s:7.1f} frames/s")
    print(f"  plain loop, frame by frame           {loop_s:7.2f} s  {n / loop_s:7.1f} frames/s")
    ratio = writer_s / loop_s
    print(f"  ratio writer / loop                  {ratio:7.2f}x  (speed-up {1 / ratio:.2f}x)")
    print(f"  images identical to the loop's: {same}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "datasets" / "src"
        write_source(folder / "episodes" / "episode_000000.hdf5", frames)
        info = {"name": "src", "fps": 30.0, "cameras": list(CAMERAS), "tasks": [], "features": {}}
        (folder / "info.json").write_text(json.dumps(info))
        job_s, _ = asyncio.run(job_seconds(Path(tmp), frames))
    print(f"  exportEpisodes job, end to end (zip)  {job_s:7.2f} s  {n / job_s:7.1f} frames/s")
    print(f"  ratio job / loop                     {job_s / loop_s:7.2f}x")


async def job_seconds(root: Path, frames: int) -> tuple[float, float]:
    """The same export as the service runs it: `exportEpisodes`' service on a registered dataset, as a
    job (HDF5 written, annotations carried over, zipped), on SQLite; (seconds, frames written)."""
    from domain.accounts.users import Role, create_user, viewer_of
    from domain.core.runtime import Runtime
    from domain.datasets.service import register_dataset
    from domain.edits import export as episode_export
    from persistence.migrate import upgrade
    from persistence.settings import load_settings

    url = f"sqlite+aiosqlite:///{root}/bench.db"
    await asyncio.to_thread(upgrade, url)
    rt = Runtime.build(load_settings(var_dir=root, database_url=url, data_roots=[root / "datasets"]))
    await rt.start()
    try:
        indexed = await rt.jobs.wait((await register_dataset(rt, str(root / "datasets" / "src"))).id)
        viewer = viewer_of(await create_user(rt, "bench", Role.ADMIN))
        request = episode_export.ExportEpisodesRequest(
            dataset_id=indexed.dataset_id,
            episodes=(episode_export.EpisodeChoice(0, edits_for(frames).to_json()),),
            output=episode_export.ExportOutput.ZIP,
            name="bench-export",
        )
        start = time.perf_counter()
        job = await episode_export.export_episodes(rt, viewer, request)
        done = await rt.jobs.wait(job.id)
        seconds = time.perf_counter() - start
        assert done.status == "COMPLETED", (done.error_code, done.error_message)
        assert done.summary is not None  # a completed export's
        return seconds, float(done.summary.stored()["frames"])
    finally:
        await rt.stop()


def peak_mib() -> float:
    """Peak RSS of this process. ru_maxrss, except on Linux where it carries the parent's peak over
    fork and exec, so the peak of this address space (VmHWM) is read instead."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory(path: Path, frames: int) -> dict:
    before = peak_mib()
    summary = write_edited_episode(path, path.parent / "out" / path.name, edits_for(frames))
    return {"before_mib": before, "peak_mib": peak_mib(), "frames": summary.frames}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--memory-only", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_only is not None:
        print(json.dumps(memory(args.memory_only, args.frames)))
        return
    speed(args.frames)
    peaks = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in (args.frames, args.frames * 10):
            source = write_source(Path(tmp) / str(n) / "episode_000000.hdf5", n)
            out = subprocess.run(
                [sys.executable, "-m", "bench.export", "--memory-only", str(source), "--frames", str(n)],
                capture_output=True,
                text=True,
                check=True,
            )
            peaks[n] = json.loads(out.stdout.strip().splitlines()[-1])
    print("peak memory (peak RSS of a fresh process per size)")
    for n, p in peaks.items():
        print(
            f"  {n:6d} frames ({p['frames']:6d} kept): {p['before_mib']:6.1f} MiB after imports, "
            f"{p['peak_mib']:6.1f} MiB after the export (+{p['peak_mib'] - p['before_mib']:.1f})"
        )
    small, large = peaks[args.frames], peaks[args.frames * 10]
    grown = (large["peak_mib"] - large["before_mib"]) / max(small["peak_mib"] - small["before_mib"], 0.1)
    print(
        f"  ratio {args.frames * 10} / {args.frames}: peak {large['peak_mib'] / small['peak_mib']:.2f}x, "
        f"increase {grown:.2f}x"
    )


if __name__ == "__main__":
    main()
