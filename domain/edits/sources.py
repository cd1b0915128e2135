"""What the episode writer reads: an HDF5 episode of our layout (datasets copied with their storage
settings and attributes), or an episode of any other format through its reader (LeRobot, ALOHA,
robomimic, bags, videos: the standard arrays and `observation.images.<camera>`). Both offer the frame
count, the per-frame datasets, the cameras' sizes and reads of sorted frame indices.
Blocking (h5py, PyAV, pyarrow): used inside the writer's worker thread or process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import h5py
import numpy as np

from persistence.episode_sources import (
    IMAGE_PREFIX,
    TASK_INDEX,
    TRAJECTORY_DATASETS,
    EpisodeReader,
    SourceRef,
    path_ref,
)
from persistence.episode_sources.formats import module
from persistence.video_files import VideoFileCache

SOURCE_FRAMES = "annograph.source_frames"


@dataclass(frozen=True)
class Storage:
    """How a per-frame dataset is stored: the writer keeps it for small arrays (camera streams are
    always written gzip-compressed one frame per chunk) and keeps every dataset's attributes."""

    tail: tuple[int, ...]  # the shape after the frame axis
    dtype: np.dtype
    chunks: tuple[int, ...] | None = None
    compression: str | None = None
    compression_opts: object = None
    shuffle: bool = False
    attrs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Layout:
    length: int
    per_frame: list[str]  # dataset names along the frame axis, camera streams last
    cameras: dict[str, tuple[int, int]]  # camera -> (height, width)


class EpisodeSource(Protocol):
    layout: Layout

    def storage(self, name: str) -> Storage: ...

    def read(self, name: str, indices: np.ndarray) -> np.ndarray: ...

    def copy_rest(self, out: h5py.File) -> None:
        """Root attributes and datasets that are not per frame, as they are."""


def as_ref(source: Path | SourceRef) -> SourceRef:
    """A bare path is an episode of our HDF5 layout, or a video file by its suffix."""
    return source if isinstance(source, SourceRef) else path_ref(source)


@contextmanager
def open_source(source: Path | SourceRef) -> Iterator[EpisodeSource]:
    ref = as_ref(source)
    if ref.format == "HDF5":
        with h5py.File(ref.path, "r") as f:
            yield Hdf5Source(f, ref.path)
        return
    videos = VideoFileCache(size=2)
    reader = module(ref.format).open_episode(ref, videos)
    try:
        yield ReaderSource(reader, ref)
    finally:
        reader.close()
        videos.close()


class Hdf5Source:
    def __init__(self, f: h5py.File, path: Path) -> None:
        self.f = f
        self.layout = _hdf5_layout(f, path)

    def storage(self, name: str) -> Storage:
        ds = self.f[name]
        return Storage(
            tail=ds.shape[1:],
            dtype=ds.dtype,
            chunks=ds.chunks,
            compression=ds.compression,
            compression_opts=ds.compression_opts,
            shuffle=ds.shuffle,
            attrs=dict(ds.attrs),
        )

    def read(self, name: str, indices: np.ndarray) -> np.ndarray:
        """ds[indices] for sorted indices, read as contiguous runs (one slice per run of neighbours)."""
        ds = self.f[name]
        breaks = np.flatnonzero(np.diff(indices) != 1) + 1
        blocks = [ds[int(run[0]) : int(run[-1]) + 1] for run in np.split(indices, breaks)]
        return blocks[0] if len(blocks) == 1 else np.concatenate(blocks)

    def copy_rest(self, out: h5py.File) -> None:
        for name, value in self.f.attrs.items():
            out.attrs[name] = value
        for name in self.f:
            if name not in self.layout.per_frame and name != SOURCE_FRAMES:
                self.f.copy(self.f[name], out, name=name)


class ReaderSource:
    """An episode of any format, through its reader: the standard arrays it has, then its cameras
    (a video episode: `timestamp` and `observation.images.video`). Frames are asked for in sorted
    runs, so shared videos decode each GOP once."""

    def __init__(self, reader: EpisodeReader, ref: SourceRef) -> None:
        self.reader, self.ref = reader, ref
        length = reader.length
        probe = reader.arrays([*TRAJECTORY_DATASETS, TASK_INDEX], slice(0, min(1, length)))
        self._first = probe
        cameras = reader.cameras()
        self.layout = Layout(
            length=length,
            per_frame=[n for n in (*TRAJECTORY_DATASETS, TASK_INDEX) if n in probe]
            + [IMAGE_PREFIX + c for c in cameras],
            cameras={c: (int(h), int(w)) for c, (_, h, w) in cameras.items()},
        )

    def storage(self, name: str) -> Storage:
        if name.startswith(IMAGE_PREFIX):
            height, width = self.layout.cameras[name[len(IMAGE_PREFIX) :]]
            return Storage(tail=(height, width, 3), dtype=np.dtype(np.uint8))
        first = np.asarray(self._first[name])
        return Storage(tail=first.shape[1:], dtype=first.dtype)

    def read(self, name: str, indices: np.ndarray) -> np.ndarray:
        if name.startswith(IMAGE_PREFIX):
            return np.stack(self.reader.frames(name[len(IMAGE_PREFIX) :], [int(i) for i in indices]))
        low, high = int(indices[0]), int(indices[-1]) + 1
        return np.asarray(self.reader.arrays([name], slice(low, high))[name])[indices - low]

    def copy_rest(self, out: h5py.File) -> None:
        out.attrs["annograph.source_format"] = self.ref.format


def _hdf5_layout(src: h5py.File, source: Path) -> Layout:
    """The frame count, the names of the per-frame datasets, and camera -> (height, width)."""
    lengths = {n: src[n].shape[0] for n in TRAJECTORY_DATASETS if _is_dataset(src, n) and src[n].ndim}
    cameras: dict[str, tuple[int, int]] = {}
    images: list[str] = []
    for name in src:
        if name.startswith(IMAGE_PREFIX) and _is_dataset(src, name):
            ds = src[name]
            if ds.ndim != 4 or ds.shape[3] != 3 or ds.dtype != np.uint8:
                raise ValueError(f"{source}: {name} must be N x H x W x 3 uint8, found {ds.shape} {ds.dtype}")
            cameras[name[len(IMAGE_PREFIX) :]] = (int(ds.shape[1]), int(ds.shape[2]))
            images.append(name)
    if not lengths and not images:
        raise ValueError(f"{source}: holds no timestamp, state or camera dataset")
    # The same choice of frame count as persistence.episode_files.scan_episode.
    length = lengths.get("timestamp") or lengths.get("observation.state")
    if length is None:
        length = max([*lengths.values(), *(src[n].shape[0] for n in images)])
    for name in [*lengths, *images]:
        if src[name].shape[0] != length:
            raise ValueError(
                f"{source}: {name} has {src[name].shape[0]} frames where the episode has {length}; "
                "frames cannot be kept consistently"
            )
    # Other observation.* datasets along the frame axis (efforts, depth, ...) are sliced too.
    extra = [
        name
        for name in src
        if name.startswith("observation.")
        and name not in lengths
        and name not in images
        and _is_dataset(src, name)
        and src[name].ndim
        and src[name].shape[0] == length
    ]
    return Layout(int(length), [*lengths, *extra, *images], cameras)


def _is_dataset(src: h5py.File, name: str) -> bool:
    return name in src and isinstance(src[name], h5py.Dataset)
