"""What `write_lerobot_dataset` is given: the dataset's shape (`LeRobotSpec`), then one
`LeRobotEpisode` at a time (already edited: frames removed, trimmed, cropped, resized by the caller),
and what it returns (`LeRobotSummary`). Plain values, checked here (ValueError naming the field)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from domain.edits.lerobot_video import VideoOptions

IMAGE_PREFIX = "observation.images."
DEFAULT_FEATURES = ("timestamp", "frame_index", "episode_index", "index", "task_index")
SUBTASK_INDEX = "subtask_index"
NO_SUBTASK = -1  # a frame in no segment (see LeRobotEpisode.subtask_index)
ARRAY_DTYPES = ("float32", "float64", "int64", "int32")
COLUMN_DTYPES = ("float64", "int64", "bool", "string")
_PYTHON: dict[str, type | tuple[type, ...]] = {
    "float64": (int, float, np.integer, np.floating),
    "int64": (int, np.integer),
    "bool": (bool, np.bool_),
    "string": str,
}
STANDARD_EPISODE_COLUMNS = (
    "episode_index", "tasks", "length", "data/chunk_index", "data/file_index",
    "dataset_from_index", "dataset_to_index", "meta/episodes/chunk_index", "meta/episodes/file_index",
)  # fmt: skip


@dataclass(frozen=True)
class ArrayFeature:
    """A per-frame array: `width` values per frame (1: a scalar column, as LeRobot's shape (1,)),
    `names` one per value (LeRobot's `names`, e.g. joint names) or None."""

    width: int
    dtype: str = "float32"
    names: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Subtask:
    """A row of `meta/subtasks.parquet`: a segment label and its language instruction, if any."""

    label: str
    instruction: str | None = None

    @property
    def text(self) -> str:
        """What LeRobot hands a policy as `item["subtask"]`: the instruction, else the label."""
        return self.instruction or self.label


@dataclass(frozen=True)
class AnomalyRange:
    """Something wrong over frames `from_frame..to_frame` (inclusive, frames of the written episode)."""

    from_frame: int
    to_frame: int
    type: str
    severity: str
    description: str | None = None


@dataclass(frozen=True)
class LeRobotSpec:
    """The dataset: `fps` (integer frames per second, as LeRobot's info.json has it), `arrays` (feature
    name -> ArrayFeature, e.g. "observation.state", "action"), `cameras` (name -> (height, width) of
    every frame, written as feature `observation.images.<name>` unless the name already starts so),
    `episode_columns` (extra columns of meta/episodes: name -> one of COLUMN_DTYPES; missing values
    are null), `subtasks` (the subtask table, index i -> Subtask; None: no subtask_index feature),
    `anomalies` (whether meta/anomalies.parquet is written), the video encoding, and LeRobot's file
    limits (info.json's chunks_size, data_files_size_in_mb, video_files_size_in_mb)."""

    fps: int
    arrays: Mapping[str, ArrayFeature]
    cameras: Mapping[str, tuple[int, int]]
    robot_type: str | None = None
    episode_columns: Mapping[str, str] = field(default_factory=dict)
    subtasks: Sequence[Subtask] | None = None
    anomalies: bool = False
    video: VideoOptions = field(default_factory=VideoOptions)
    chunks_size: int = 1000
    data_files_size_in_mb: float = 100
    video_files_size_in_mb: float = 200

    def camera_key(self, name: str) -> str:
        return name if name.startswith(IMAGE_PREFIX) else IMAGE_PREFIX + name

    def check(self) -> None:
        if isinstance(self.fps, bool) or not isinstance(self.fps, int) or self.fps < 1:
            raise ValueError(f"fps: a positive integer, got {self.fps!r}")
        reserved = {*DEFAULT_FEATURES, SUBTASK_INDEX}
        keys = [*self.arrays, *(self.camera_key(c) for c in self.cameras)]
        for key in keys:
            if not key or "/" in key or key in reserved:
                raise ValueError(f"feature {key!r}: no '/' (LeRobot's rule), not one of {sorted(reserved)}")
        if len(set(keys)) != len(keys):
            raise ValueError(f"features: names appear twice in {keys}")
        for name, feature in self.arrays.items():
            if feature.dtype not in ARRAY_DTYPES or feature.width < 1:
                raise ValueError(f"arrays[{name!r}]: dtype in {ARRAY_DTYPES}, width >= 1")
            if feature.names is not None and len(feature.names) != feature.width:
                raise ValueError(f"arrays[{name!r}].names: {len(feature.names)} names for {feature.width}")
        for name, (height, width) in self.cameras.items():
            if height < 1 or width < 1:
                raise ValueError(f"cameras[{name!r}]: size {height} x {width}")
            if self.video.codec == "libx264" and (height % 2 or width % 2):
                raise ValueError(
                    f"cameras[{name!r}]: libx264 yuv420p needs even sides, got {height} x {width}"
                )
        for column, dtype in self.episode_columns.items():
            if column in STANDARD_EPISODE_COLUMNS or column.startswith(("stats/", "videos/")):
                raise ValueError(f"episode_columns[{column!r}]: a column LeRobot writes itself")
            if dtype not in COLUMN_DTYPES:
                raise ValueError(f"episode_columns[{column!r}]: dtype in {COLUMN_DTYPES}, got {dtype!r}")
        for i, subtask in enumerate(self.subtasks or ()):
            if not subtask.label:
                raise ValueError(f"subtasks[{i}]: empty label")
        if self.chunks_size < 1 or self.data_files_size_in_mb <= 0 or self.video_files_size_in_mb <= 0:
            raise ValueError("chunks_size, data_files_size_in_mb, video_files_size_in_mb: positive")
        self.video.check()


@dataclass
class LeRobotEpisode:
    """One episode as written: `task` (its language instruction), `arrays` (every feature of the spec,
    N x width, or N for width 1), `frames` (every camera of the spec: an iterable of N H x W x 3 uint8
    RGB frames, consumed once, in order, one camera after the other in the spec's order), `length` N
    (taken from the arrays when None), `columns` (values of the spec's episode_columns; missing ones
    are null), `subtask_index` (N ints: an index of the spec's subtasks, or NO_SUBTASK for a frame in
    no segment; None: every frame NO_SUBTASK), `anomalies` (ranges of its frames)."""

    task: str
    arrays: Mapping[str, np.ndarray]
    frames: Mapping[str, Iterable[np.ndarray]]
    length: int | None = None
    columns: Mapping[str, object] = field(default_factory=dict)
    subtask_index: np.ndarray | Sequence[int] | None = None
    anomalies: Sequence[AnomalyRange] = ()

    def checked(self, spec: LeRobotSpec, number: int) -> tuple[int, dict[str, np.ndarray], np.ndarray | None]:
        """(N, the arrays as N x width in the spec's dtypes, subtask indexes as written or None)."""
        where = f"episode {number}"
        if not isinstance(self.task, str) or not self.task:
            raise ValueError(f"{where}: task must be a non-empty string")
        if set(self.arrays) != set(spec.arrays) or set(self.frames) != set(spec.cameras):
            raise ValueError(
                f"{where}: arrays {sorted(self.arrays)} and cameras {sorted(self.frames)}, the spec has "
                f"{sorted(spec.arrays)} and {sorted(spec.cameras)}"
            )
        length = self.length
        arrays: dict[str, np.ndarray] = {}
        for name, feature in spec.arrays.items():
            values = np.asarray(self.arrays[name])
            length = len(values) if length is None else length
            if values.ndim not in (1, 2) or len(values) != length or values.size != length * feature.width:
                raise ValueError(f"{where}: {name} is {values.shape}, expected ({length}, {feature.width})")
            arrays[name] = values.reshape(length, feature.width).astype(feature.dtype, copy=False)
        if length is None or length < 1:
            raise ValueError(f"{where}: length {length} (give `length` when the spec has no arrays)")
        unknown = sorted(set(self.columns) - set(spec.episode_columns))
        if unknown:
            raise ValueError(f"{where}: columns {unknown} are not in the spec's episode_columns")
        for column, value in self.columns.items():
            if value is not None and not isinstance(value, _PYTHON[spec.episode_columns[column]]):
                raise ValueError(f"{where}: column {column} is {value!r}, not {spec.episode_columns[column]}")
            if isinstance(value, bool) and spec.episode_columns[column] != "bool":
                raise ValueError(f"{where}: column {column} is {value!r}, not {spec.episode_columns[column]}")
        if self.anomalies and not spec.anomalies:
            raise ValueError(f"{where}: anomalies given but the spec writes none (anomalies=False)")
        for a in self.anomalies:
            if not 0 <= a.from_frame <= a.to_frame < length:
                raise ValueError(
                    f"{where}: anomaly frames {a.from_frame}..{a.to_frame} outside 0..{length - 1}"
                )
        return length, arrays, self._subtasks(spec, length, where)

    def _subtasks(self, spec: LeRobotSpec, length: int, where: str) -> np.ndarray | None:
        if spec.subtasks is None:
            if self.subtask_index is not None:
                raise ValueError(f"{where}: subtask_index given but the spec has no subtasks")
            return None
        none = len(spec.subtasks)  # the row "no subtask", after the given ones
        if self.subtask_index is None:
            return np.full(length, none, dtype=np.int64)
        index = np.asarray(self.subtask_index)
        if index.shape != (length,) or index.dtype.kind not in "iu":
            raise ValueError(f"{where}: subtask_index is {index.dtype} {index.shape}, expected {length} ints")
        bad = (index < NO_SUBTASK) | (index >= none)
        if bad.any():
            raise ValueError(f"{where}: subtask_index {int(index[bad][0])} is not in 0..{none - 1} or -1")
        return np.where(index == NO_SUBTASK, none, index).astype(np.int64)


@dataclass(frozen=True)
class LeRobotSummary:
    episodes: int
    frames: int
    tasks: int
    bytes: int  # of every file written
    files: tuple[str, ...]  # relative to the dataset folder, sorted
