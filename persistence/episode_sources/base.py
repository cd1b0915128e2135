"""The one episode model every recording format is read into, and the contract of a format reader.

A format module (`hdf5`, `video`, `lerobot`, `aloha`, `robomimic`, `rosbag`, `mcap`) offers:
- `detect(path) -> bool`: cheap, by names and first bytes only;
- `Options`: a pydantic model of what the format cannot say itself (fps without a clock, which topic
  is the state, ...), validated at registration, its JSON Schema exposed in the graph;
- `scan(path, options, previous) -> DatasetScan`: metadata only (parquet footers and episode tables,
  HDF5 shapes, bag indexes), never frames; `previous` maps an episode's `file` to the scan of the last
  registration so that unchanged files are not read again;
- `open_episode(ref, videos) -> EpisodeReader`: reads one episode's arrays and frames.

Standard names (DESIGN.md's HDF5 layout): `TRAJECTORY_DATASETS` below, `task_index` (per frame, int),
and cameras by a short name (`front`, not `observation.images.front`). Everything here blocks: callers
run it in a worker thread or process, never on the event loop.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from persistence.documents import SourceField

IMAGE_PREFIX = "observation.images."
# Per-frame arrays of the episode model, in this order; all optional. `observation.gripper` is N (one
# gripper) or N x G (several); the others are N (timestamp, seconds from the episode's first frame) or
# N x D.
TRAJECTORY_DATASETS = (
    "timestamp",
    "action",
    "observation.state",
    "observation.velocity",
    "observation.ee_pose",
    "observation.gripper",
)
# Readable beside the trajectory: which task each frame belongs to (LeRobot's per-frame task index).
TASK_INDEX = "task_index"


class SourceError(Exception):
    """A file does not match its format: `path` is the file, `where` the place inside it (an HDF5
    path, a parquet column, a topic; "" for the file as a whole), `problem` what is wrong."""

    def __init__(self, path: Path | str, problem: str, where: str = "") -> None:
        self.path, self.problem, self.where = str(path), problem, where
        super().__init__(f"{path}{f' [{where}]' if where else ''}: {problem}")


class FrameRequestError(LookupError):
    """A camera or frame the episode does not have; `what` is "camera" or "frames"."""

    def __init__(self, message: str, what: str) -> None:
        super().__init__(message)
        self.what = what


@dataclass(frozen=True)
class SourceRef:
    """Where one episode's data lives. Small and picklable: it crosses into worker processes.

    `root` is the dataset's path (a folder, or the file itself for single-file datasets), `file` the
    episode's main file relative to it ("" when the dataset is that file), `locator` the format's own
    canonical JSON (a row range and video windows, an HDF5 group, a bag's clock)."""

    format: str
    root: str
    file: str
    locator: str = "{}"

    @property
    def path(self) -> Path:
        return Path(self.root) / self.file if self.file else Path(self.root)

    def details(self) -> dict:
        return json.loads(self.locator)


def make_ref(format: str, root: str, file: str, locator: dict | None) -> SourceRef:
    return SourceRef(format, root, file, json.dumps(locator or {}, sort_keys=True, separators=(",", ":")))


class EpisodeReader(Protocol):
    """One open episode. Not thread-safe: the cache serialises calls per reader."""

    @property
    def length(self) -> int:
        """Frames in the episode (the rows of its trajectory)."""
        ...

    def cameras(self) -> dict[str, tuple[int, int, int]]:
        """camera -> (frames, height, width)."""
        ...

    def arrays(self, names: Sequence[str], selection: slice) -> dict[str, np.ndarray]:
        """The named standard arrays over `selection` of frames; names the episode lacks are left out."""
        ...

    def frames(self, camera: str, indices: Sequence[int]) -> list[np.ndarray]:
        """RGB frames (H x W x 3 uint8) in the order asked; FrameRequestError for an unknown camera or a
        frame out of range."""
        ...

    def close(self) -> None: ...


@dataclass
class FieldMapping:
    """One array, column, dataset or topic of the source and where it went (`target` None: unmapped)."""

    source: str  # path inside the file: "/observations/qpos", "observation.state", "/joint_states"
    target: str | None  # a standard name, "camera:<name>", "task", or None
    shape: list[int] | None = None  # per frame, when known
    dtype: str | None = None
    note: str = ""  # why unmapped, or how it was mapped (e.g. "JPEG-decoded", "resampled")

    def stored(self) -> SourceField:
        """As dataset.mapping holds it."""
        return SourceField(
            source=self.source, target=self.target, shape=self.shape, dtype=self.dtype, note=self.note
        )


@dataclass
class EpisodeScan:
    index: int
    file: str  # relative to the dataset path; its size and mtime version the frames served
    length: int
    duration: float  # seconds
    cameras: dict[str, list[int]]  # camera -> [frames, height, width]
    missing: list[str]  # TRAJECTORY_DATASETS the episode lacks
    file_size: int
    file_mtime: float
    task_indexes: list[int] = field(default_factory=list)  # an episode may have several (LeRobot)
    locator: dict = field(default_factory=dict)

    @property
    def task_index(self) -> int | None:
        return self.task_indexes[0] if self.task_indexes else None


@dataclass
class DatasetScan:
    format: str  # HDF5, VIDEO, LEROBOT, ALOHA, ROBOMIMIC, ROSBAG, MCAP
    name: str
    fps: float
    episodes: list[EpisodeScan]
    robot_type: str | None = None
    cameras: list[str] = field(default_factory=list)
    joint_names: list[str] = field(default_factory=list)
    tasks: list[tuple[int, str]] = field(default_factory=list)
    features: dict = field(default_factory=dict)
    format_version: str | None = None  # e.g. LeRobot's codebase_version "v3.0"
    mapping: list[FieldMapping] = field(default_factory=list)
    clock: str | None = None  # how streams were put on one clock (bags), recorded on the dataset


def episode_sort_key(name: str) -> tuple:
    """Numeric order for names with numbers (`episode_10` after `episode_9`, `demo_2` before `demo_10`)."""
    import re

    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))


def check_frames(camera: str, count: int, indices: Sequence[int]) -> None:
    for frame in indices:
        if not 0 <= frame < count:
            raise FrameRequestError(
                f"frame {frame} is out of range: camera {camera!r} has {count} frames (0..{count - 1})",
                "frames",
            )


def unknown_camera(camera: str, known: Sequence[str]) -> FrameRequestError:
    return FrameRequestError(
        f"the episode has no camera {camera!r} (it has: {', '.join(sorted(known)) or 'none'})", "camera"
    )
