"""Write an edited copy of an episode as HDF5 (DESIGN.md layout) for training; the source is an HDF5
episode or a video episode (domain/edits/sources.py), which becomes `timestamp` and
`observation.images.video`.

Blocking (h5py, Pillow): run it in a worker thread or process. Arguments and result are plain,
picklable values; a `progress` callback must be picklable too when it crosses a process, and raising
from it aborts the write (that is how a job is cancelled) with nothing left behind.

The output keeps the source's layout: every per-frame dataset (`timestamp`, `action`,
`observation.*`, `observation.images.<camera>`) is sliced to the kept frames, camera streams are
transformed and written gzip-compressed one frame per chunk, everything else is copied. Provenance:
root attributes `annograph.edits` (JSON of the validated edits) and `annograph.source` (what the caller
names the source, by default the source file's name: never a server path, since the file leaves the
server), and the dataset `annograph.source_frames` (N, int64): the source index of every written frame (a
dataset, so a trainer reads it as an array; readers of the layout ignore datasets they do not know).
"""

from __future__ import annotations

import json
import os
import uuid
import zlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from domain.edits.frames import kept_frames
from domain.edits.images import apply_camera_edit, output_size
from domain.edits.sources import IMAGE_PREFIX, SOURCE_FRAMES, EpisodeSource, as_ref, open_source
from domain.edits.spec import CameraEdit, EpisodeEdits, EpisodeShape, validate_edits
from persistence.episode_sources import SourceRef

RESERVED_ATTRS = ("annograph.edits", "annograph.source", SOURCE_FRAMES)
GZIP_LEVEL = 4


@dataclass(frozen=True)
class WriteSummary:
    frames: int
    cameras: dict[str, tuple[int, int]]  # camera -> (height, width) as written
    bytes: int
    # Every per-frame dataset as written: name -> (dtype name, shape after the frame axis).
    datasets: dict[str, tuple[str, tuple[int, ...]]]


def write_edited_episode(
    source: Path | SourceRef,
    target: Path,
    edits: EpisodeEdits,
    *,
    chunk_frames: int = 32,
    progress: Callable[[int, int], None] | None = None,
    attrs: dict[str, Any] | None = None,
    threads: int | None = None,
    source_name: str | None = None,
) -> WriteSummary:
    """Write `source` with `edits` applied to `target`, atomically: the file is built under a hidden
    `.<name>.<random>.partial` name in the target's folder and renamed onto `target` once complete,
    and removed on any failure. Memory holds two chunks of `chunk_frames` frames per dataset at most
    (one being read, one being written). `threads` (default min(4, CPUs)) transform and deflate
    frames; pass 1 when many exports already run side by side. `progress(done, total)` is called in
    the calling thread after each chunk is written.

    `edits` are validated again against the file as it is now (BadUserInput if they do not fit);
    an inconsistent source (per-frame datasets of different lengths) raises ValueError. `attrs` are
    added to the root attributes: strings and numbers as they are, anything else as JSON.
    `source_name` is written as `annograph.source` (default: the source file's name)."""
    ref, target = as_ref(source), Path(target)
    source = ref.path
    if chunk_frames < 1:
        raise ValueError(f"chunk_frames must be at least 1, got {chunk_frames}")
    threads = threads or min(4, os.cpu_count() or 1)
    clash = sorted(set(attrs or {}) & set(RESERVED_ATTRS))
    if clash:
        raise ValueError(f"attribute {clash[0]} is written by the exporter itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    # A unique name, so two exports of the same target never write into one partial file.
    partial = target.parent / f".{target.name}.{uuid.uuid4().hex[:12]}.partial"
    try:
        with open_source(ref) as src, h5py.File(partial, "w-") as out:
            name = source_name or source.name
            frames, cameras = _write(src, out, name, edits, chunk_frames, progress, attrs or {}, threads)
            datasets = {n: (out[n].dtype.name, out[n].shape[1:]) for n in src.layout.per_frame}
        _fsync(partial)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    _fsync(target.parent)
    return WriteSummary(frames=frames, cameras=cameras, bytes=target.stat().st_size, datasets=datasets)


def _write(
    src: EpisodeSource,
    out: h5py.File,
    source_name: str,
    edits: EpisodeEdits,
    chunk_frames: int,
    progress: Callable[[int, int], None] | None,
    attrs: dict[str, Any],
    threads: int,
) -> tuple[int, dict[str, tuple[int, int]]]:
    length, per_frame, cameras = src.layout.length, src.layout.per_frame, src.layout.cameras
    edits = validate_edits(edits, EpisodeShape(length, {c: size for c, size in cameras.items()}))
    kept = kept_frames(edits, length)
    total = len(kept)
    camera_edits: dict[str, CameraEdit] = {}
    written: dict[str, tuple[int, int]] = {}

    src.copy_rest(out)
    for name in per_frame:
        camera = name[len(IMAGE_PREFIX) :] if name.startswith(IMAGE_PREFIX) else None
        kept_as = src.storage(name)
        if camera is not None:
            edit = camera_edits[name] = edits.cameras.get(camera, CameraEdit())
            height, width = written[camera] = output_size(edit, cameras[camera])
            created = out.create_dataset(
                name,
                shape=(total, height, width, 3),
                dtype=np.uint8,
                chunks=(1, height, width, 3),
                compression="gzip",
                compression_opts=GZIP_LEVEL,
            )
        else:
            # Small arrays keep the source's storage; chunks may not exceed the (shorter) new shape.
            chunks = None if kept_as.chunks is None else (min(kept_as.chunks[0], total), *kept_as.chunks[1:])
            created = out.create_dataset(
                name,
                shape=(total, *kept_as.tail),
                dtype=kept_as.dtype,
                chunks=chunks,
                compression=kept_as.compression,
                compression_opts=kept_as.compression_opts,
                shuffle=kept_as.shuffle,
            )
        for key, value in kept_as.attrs.items():
            created.attrs[key] = value
    out.create_dataset(SOURCE_FRAMES, data=kept)

    # Transforming and deflating frames dominate the cost and release the GIL (Pillow, zlib), so
    # they run in threads, and chunk k is written while chunk k + 1 is being read: at most two chunks
    # of frames are held at once.
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="export")
    try:
        pending: tuple[int, int, dict[str, list[Future[bytes]]]] | None = None
        for start in range(0, total, chunk_frames):
            indices = kept[start : start + chunk_frames]
            encoding: dict[str, list[Future[bytes]]] = {}
            for name in per_frame:
                block = src.read(name, indices)
                if name in camera_edits:
                    encoding[name] = [pool.submit(_encode, frame, camera_edits[name]) for frame in block]
                else:
                    out[name][start : start + len(indices)] = block
            if pending is not None:
                _store(out, *pending, progress, total)
            pending = (start, len(indices), encoding)
        if pending is not None:
            _store(out, *pending, progress, total)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)

    out.attrs["annograph.edits"] = json.dumps(edits.to_json(), separators=(",", ":"))
    out.attrs["annograph.source"] = source_name
    for key, value in attrs.items():
        out.attrs[key] = value if isinstance(value, str | int | float | np.generic) else json.dumps(value)
    return total, written


def _encode(frame: np.ndarray, edit: CameraEdit) -> bytes:
    """One edited frame as an HDF5 gzip chunk (a zlib stream, what the deflate filter writes)."""
    pixels = frame if edit.is_identity else apply_camera_edit(frame, edit)
    return zlib.compress(np.ascontiguousarray(pixels).data, GZIP_LEVEL)


def _store(
    out: h5py.File,
    start: int,
    count: int,
    encoding: dict[str, list[Future[bytes]]],
    progress: Callable[[int, int], None] | None,
    total: int,
) -> None:
    """Write one chunk's encoded frames (one HDF5 chunk each, in order) and report progress."""
    for name, futures in encoding.items():
        dsid = out[name].id
        for i, future in enumerate(futures):
            dsid.write_direct_chunk((start + i, 0, 0, 0), future.result())
    if progress is not None:
        progress(start + count, total)


def _fsync(path: Path) -> None:
    """Flush to disk before the rename, so a power cut cannot leave a renamed but empty file."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on folders; the rename itself is still atomic
    finally:
        os.close(fd)
