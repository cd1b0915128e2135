"""The metadata of a LeRobot v3.0 export: info.json, the meta/episodes schema, the tasks, subtasks and
anomalies tables (layouts: lerobot_writer.py's docstring)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from domain.edits import lerobot_stats
from domain.edits.lerobot_spec import DEFAULT_FEATURES, SUBTASK_INDEX, AnomalyRange, LeRobotSpec, Subtask
from domain.edits.lerobot_tables import DATA_PATH, arrow_type, write_indexed_table
from domain.edits.lerobot_video import VIDEO_PATH, video_info

CODEBASE_VERSION = "v3.0"
TASKS_PATH = "meta/tasks.parquet"
SUBTASKS_PATH = "meta/subtasks.parquet"
ANOMALIES_PATH = "meta/anomalies.parquet"
ANOMALY_SCHEMA = pa.schema(
    [
        ("episode_index", pa.int64()),
        ("from_frame", pa.int64()),
        ("to_frame", pa.int64()),
        ("from_timestamp", pa.float64()),
        ("to_timestamp", pa.float64()),
        ("type", pa.string()),
        ("severity", pa.string()),
        ("description", pa.string()),
    ]
)
WINDOW = (("chunk_index", pa.int64()), ("file_index", pa.int64()))
TIMES = (("from_timestamp", pa.float64()), ("to_timestamp", pa.float64()))


def data_columns(spec: LeRobotSpec) -> dict[str, tuple[str, int]]:
    """The data files' columns, name -> (dtype, width), in LeRobot's order: the given features, then
    its defaults."""
    columns = {name: (f.dtype, f.width) for name, f in spec.arrays.items()}
    if spec.subtasks is not None:
        columns[SUBTASK_INDEX] = ("int64", 1)
    return columns | {"timestamp": ("float32", 1)} | {k: ("int64", 1) for k in DEFAULT_FEATURES[1:]}


def stat_features(spec: LeRobotSpec) -> list[str]:
    """Features with statistics, in info.json's order: arrays, subtask_index, cameras, defaults."""
    features = [*spec.arrays, *([SUBTASK_INDEX] if spec.subtasks is not None else [])]
    return features + [spec.camera_key(c) for c in spec.cameras] + list(DEFAULT_FEATURES)


def episode_schema(spec: LeRobotSpec) -> pa.Schema:
    """meta/episodes' columns, in LeRobot's order, then the spec's episode_columns."""
    fields = [
        pa.field("episode_index", pa.int64()),
        pa.field("tasks", pa.list_(pa.string())),
        pa.field("length", pa.int64()),
        pa.field("data/chunk_index", pa.int64()),
        pa.field("data/file_index", pa.int64()),
        pa.field("dataset_from_index", pa.int64()),
        pa.field("dataset_to_index", pa.int64()),
    ]
    cameras = [spec.camera_key(c) for c in spec.cameras]
    for key in cameras:
        fields += [pa.field(f"videos/{key}/{n}", t) for n, t in (*WINDOW, *TIMES)]
    for feature in stat_features(spec):
        double = pa.list_(pa.list_(pa.float64())) if feature in cameras else pa.float64()
        integer = feature in DEFAULT_FEATURES[1:] or feature == SUBTASK_INDEX
        integer |= feature in spec.arrays and spec.arrays[feature].dtype.startswith("int")
        for stat in lerobot_stats.STAT_KEYS:
            kind = pa.int64() if stat == "count" or (integer and stat in ("min", "max")) else double
            fields.append(pa.field(f"stats/{feature}/{stat}", pa.list_(kind)))
    fields += [pa.field(f"meta/episodes/{n}", t) for n, t in WINDOW]
    fields += [pa.field(c, arrow_type(t)) for c, t in spec.episode_columns.items()]
    return pa.schema(fields)


def info(spec: LeRobotSpec, first_videos: Mapping[str, Path], episodes: int, frames: int, tasks: int) -> dict:
    """info.json; each camera's video info read from its first file (`first_videos`: name -> path)."""
    features: dict[str, dict] = {}
    for name, f in spec.arrays.items():
        features[name] = {"dtype": f.dtype, "shape": [f.width], "names": list(f.names) if f.names else None}
    if spec.subtasks is not None:
        features[SUBTASK_INDEX] = {"dtype": "int64", "shape": [1], "names": None}
    for name, (height, width) in spec.cameras.items():
        features[spec.camera_key(name)] = {
            "dtype": "video",
            "shape": [height, width, 3],
            "names": ["height", "width", "channels"],
            "info": video_info(first_videos[name]),
        }
    columns = data_columns(spec)
    for name in DEFAULT_FEATURES:
        features[name] = {"dtype": columns[name][0], "shape": [1], "names": None}
    return {
        "codebase_version": CODEBASE_VERSION,
        "robot_type": spec.robot_type,
        "total_episodes": episodes,
        "total_frames": frames,
        "total_tasks": tasks,
        "chunks_size": spec.chunks_size,
        "data_files_size_in_mb": spec.data_files_size_in_mb,
        "video_files_size_in_mb": spec.video_files_size_in_mb,
        "fps": spec.fps,
        "splits": {"train": f"0:{episodes}"},
        "data_path": DATA_PATH,
        "video_path": VIDEO_PATH if spec.cameras else None,
        "features": features,
    }


class AnomalyTable:
    """meta/anomalies.parquet, its rows written 1,000 at a time: a row group per episode would keep a
    footer entry per episode in memory until the file closes (the writer's memory would grow with the
    number of episodes)."""

    ROWS = 1000

    def __init__(self, root: Path, fps: int) -> None:
        self._writer = pq.ParquetWriter(root / ANOMALIES_PATH, ANOMALY_SCHEMA)
        self._fps = fps
        self._rows: list[dict] = []

    def add(self, episode: int, ranges: Iterable[AnomalyRange]) -> None:
        self._rows += [
            {
                "episode_index": episode,
                "from_frame": a.from_frame,
                "to_frame": a.to_frame,
                "from_timestamp": a.from_frame / self._fps,
                "to_timestamp": a.to_frame / self._fps,
                "type": a.type,
                "severity": a.severity,
                "description": a.description,
            }
            for a in ranges
        ]
        if len(self._rows) >= self.ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            self._writer.write_table(pa.Table.from_pylist(self._rows, schema=ANOMALY_SCHEMA))
            self._rows = []

    def close(self) -> None:
        self._flush()
        self._writer.close()


def write_tasks(root: Path, tasks: Sequence[str]) -> None:
    """`tasks` in task_index order."""
    write_indexed_table(root / TASKS_PATH, tasks, {"task_index": pa.array(range(len(tasks)), pa.int64())})


def write_subtasks(root: Path, subtasks: Sequence[Subtask], no_subtask_used: bool) -> None:
    """The spec's subtasks, and the row for frames in no segment when some frame has it."""
    rows = [*subtasks, *([Subtask(label="")] if no_subtask_used else [])]
    write_indexed_table(
        root / SUBTASKS_PATH,
        [s.text for s in rows],
        {
            "subtask_index": pa.array(range(len(rows)), pa.int64()),
            "label": pa.array([s.label for s in rows], pa.string()),
            "instruction": pa.array([s.instruction for s in rows], pa.string()),
        },
    )


def write_json(path: Path, data: dict) -> None:
    """As LeRobot's `write_json`: 4-space indent, UTF-8 kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        json.dump(data, f, indent=4, ensure_ascii=False)
