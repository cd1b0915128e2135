"""Writes LeRobot datasets (v3.0 and v2.1 layouts) of any size with pyarrow and PyAV, as LeRobot's own
writers lay them out (the metadata copies tests/samples/lerobot_v30_sample and lerobot_v21_sample:
info.json keys, the episode tables with their `stats/*` columns, tasks tables, the huggingface schema
metadata of data files, one row group per episode).

Every frame shows its own identity so a test can tell which frame came back: three horizontal bands of
16 black/white cells hold, from the top, the frame's index in its episode, the episode index, and the
camera's position in `cameras` + 1 (read them back with `marker`). Videos are yuv420p, `gop` frames
between keyframes (LeRobot encodes with 2); several episodes share a v3.0 video file back to back, each
a window `[from_timestamp, to_timestamp)`, as LeRobot's concatenation leaves them.

Encoders (PyAV's wheel): h264 -> libx264, hevc -> libx265, av1 -> libsvtav1 (LeRobot's default);
`encoder_available` says whether this PyAV build has one. Deterministic: same arguments, same files.
"""

from __future__ import annotations

import functools
import io
import json
import os
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

DEFAULT_TASKS = ("pick up the red cube", "put the cube in the bowl", "open the drawer")
DEFAULT_JOINTS = ("joint_1", "joint_2", "joint_3", "joint_4", "joint_5", "joint_6", "gripper")
ENCODERS = {
    # B-frames kept (ultrafast drops them) so that decoding in presentation order is exercised.
    "h264": ("libx264", {"preset": "ultrafast", "crf": "18", "x264-params": "bframes=2"}),
    "hevc": ("libx265", {"preset": "ultrafast", "crf": "20", "x265-params": "log-level=error"}),
    # LeRobot's crf; preset 12 (and 11) copy stale blocks into later frames of these pictures, 10 does not.
    "av1": ("libsvtav1", {"preset": "10", "crf": "30"}),
}
_BITS = 16
_LUMA = np.array([16, 235], dtype=np.uint8)  # video-range black and white
_STAT_KEYS = ("min", "max", "mean", "std", "count", "q01", "q10", "q50", "q90", "q99")


def encoder_available(codec: str) -> bool:
    return ENCODERS[codec][0] in av.codecs_available


# -- frame content -----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _layout(height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each pixel row its band, for each pixel column its bit (-1: right of the cells), the shifts."""
    cell = width // _BITS
    rows = np.minimum(np.arange(height) // -(-height // 3), 2)
    columns = np.where(np.arange(width) < cell * _BITS, np.arange(width) // max(cell, 1), -1)
    return rows, columns, np.arange(_BITS - 1, -1, -1)


def marker_luma(frame: int, episode: int, camera: int, height: int, width: int) -> np.ndarray:
    """H x W luma (235 for a set bit, 16 otherwise) of the three bands."""
    rows, columns, shifts = _layout(height, width)
    bits = (np.array([[frame], [episode], [camera]]) >> shifts) & 1  # 3 x 16
    bits = np.concatenate([bits, np.zeros((3, 1), dtype=bits.dtype)], axis=1)  # column -1: unset
    return _LUMA[bits[:, columns]][rows]


def marker(image: np.ndarray) -> tuple[int, int, int]:
    """(frame, episode, camera) read back from an RGB frame written here (robust to lossy coding)."""
    gray = image.astype(np.float32).mean(axis=2)
    height, width = gray.shape
    cell, band = width // _BITS, -(-height // 3)
    values = []
    for b in range(3):
        top, bottom = b * band + band // 4, min(height, (b + 1) * band) - band // 4
        value = 0
        for k in range(_BITS):
            left = k * cell + cell // 4
            bit = gray[top:bottom, left : left + max(1, cell // 2)].mean() > 128
            value = (value << 1) | int(bit)
        values.append(value)
    return values[0], values[1], values[2]


def frame_rgb(frame: int, episode: int, camera: int, height: int, width: int) -> np.ndarray:
    luma = marker_luma(frame, episode, camera, height, width)
    rgb = np.where(luma > 128, 255, 0).astype(np.uint8)
    return np.repeat(rgb[:, :, None], 3, axis=2)


def state_values(episode: int, length: int, dims: int) -> np.ndarray:
    """The observation.state rows of an episode (the last joint, a gripper, in 0..1)."""
    t = np.arange(length, dtype=np.float64)[:, None]
    j = np.arange(dims, dtype=np.float64)[None, :]
    values = 0.5 * np.sin(0.1 * t + j + 0.37 * episode)
    values[:, -1] = 0.5 + values[:, -1]
    return values.astype(np.float32)


# -- writing -----------------------------------------------------------------------------------------


class _Video:
    """One MP4 being encoded; frames appended episode after episode."""

    def __init__(self, path: Path, codec: str, fps: int, width: int, height: int, gop: int) -> None:
        name, options = ENCODERS[codec]
        if name not in av.codecs_available:
            raise RuntimeError(f"this PyAV build has no {name} encoder")
        os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints its configuration to stderr otherwise
        path.parent.mkdir(parents=True, exist_ok=True)
        self.container = av.open(str(path), "w")
        self.stream = self.container.add_stream(name, rate=fps)
        self.stream.width, self.stream.height, self.stream.pix_fmt = width, height, "yuv420p"
        self.stream.codec_context.gop_size = gop
        self.stream.options = dict(options)
        self.fps, self.count, self.height = fps, 0, height
        self.planes = np.full((height * 3 // 2, width), 128, dtype=np.uint8)  # Y, then U and V (grey)

    def add(self, luma: np.ndarray) -> None:
        self.planes[: self.height] = luma
        frame = av.VideoFrame.from_ndarray(self.planes, format="yuv420p")  # copies the planes
        frame.pts, frame.time_base = self.count, Fraction(1, self.fps)
        self.count += 1
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def close(self) -> None:
        for packet in self.stream.encode():
            self.container.mux(packet)
        self.container.close()
        # SVT-AV1 switches the calling thread to real-time scheduling (SCHED_FIFO), which would starve
        # the rest of a test run and skew every timing after it: back to normal.
        if os.sched_getscheduler(0) != os.SCHED_OTHER:
            os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))


def _lengths(episodes: int, length: int | Sequence[int]) -> list[int]:
    lengths = [length] * episodes if isinstance(length, int) else list(length)
    assert len(lengths) == episodes and all(n >= 1 for n in lengths)
    return lengths


def _features(cameras, joints, width, height, codec, fps, images, extras, names_as_dict) -> dict:
    names = {"motors": list(joints)} if names_as_dict else list(joints)
    features = {
        "observation.state": {"dtype": "float32", "shape": [len(joints)], "names": names},
        "action": {"dtype": "float32", "shape": [len(joints)], "names": names},
    }
    for camera in cameras:
        feature = {"dtype": "image" if images else "video", "shape": [height, width, 3]}
        feature["names"] = ["height", "width", "channels"]
        if not images:
            feature["info"] = {
                "video.height": height,
                "video.width": width,
                "video.codec": codec,
                "video.pix_fmt": "yuv420p",
                "video.is_depth_map": False,
                "video.fps": fps,
                "video.channels": 3,
                "has_audio": False,
            }
        features[f"observation.images.{camera}"] = feature
    if extras:
        features["observation.velocity"] = {"dtype": "float32", "shape": [len(joints)], "names": names}
        features["observation.effort"] = {"dtype": "float32", "shape": [len(joints)], "names": names}
        features["observation.ee_pose"] = {"dtype": "float64", "shape": [7], "names": None}
        features["next.reward"] = {"dtype": "float32", "shape": [1], "names": None}
        features["next.done"] = {"dtype": "bool", "shape": [1], "names": None}
    for key in ("timestamp", "frame_index", "episode_index", "index", "task_index"):
        features[key] = {"dtype": "float32" if key == "timestamp" else "int64", "shape": [1], "names": None}
    return features


def _hf_metadata(features: dict, sequence: str) -> dict[bytes, bytes]:
    """The `huggingface` schema metadata `datasets` leaves in LeRobot's data files."""
    hf = {}
    for key, ft in features.items():
        if ft["dtype"] == "video":
            continue
        if ft["dtype"] == "image":
            hf[key] = {"_type": "Image"}
        elif ft["shape"] == [1]:
            hf[key] = {"dtype": ft["dtype"], "_type": "Value"}
        else:
            hf[key] = {
                "feature": {"dtype": ft["dtype"], "_type": "Value"},
                "length": ft["shape"][0],
                "_type": sequence,
            }
    return {b"huggingface": json.dumps({"info": {"features": hf}}).encode()}


def _png(rgb: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="PNG", compress_level=1)
    return out.getvalue()


def _episode(episode, length, start, fps, joints, tasks, tasks_per_episode, cameras, size, images, extras):
    """One episode's columns (a pyarrow table), its task strings, and its image stats per camera."""
    height, width = size
    state = state_values(episode, length, len(joints))
    picked = [(episode + i) % len(tasks) for i in range(tasks_per_episode)]
    task_of_frame = np.array(picked)[np.arange(length) * len(picked) // length]
    columns: dict[str, pa.Array] = {
        "observation.state": pa.FixedSizeListArray.from_arrays(pa.array(state.ravel()), len(joints)),
        "action": pa.FixedSizeListArray.from_arrays(pa.array((state + 0.01).ravel()), len(joints)),
    }
    for number, camera in enumerate(cameras, 1):
        if images:
            cells = [
                {"bytes": _png(frame_rgb(n, episode, number, height, width)), "path": None}
                for n in range(length)
            ]
            columns[f"observation.images.{camera}"] = pa.array(
                cells, type=pa.struct([("bytes", pa.binary()), ("path", pa.string())])
            )
    if extras:
        d = len(joints)
        columns["observation.velocity"] = pa.FixedSizeListArray.from_arrays(pa.array((state * 2).ravel()), d)
        columns["observation.effort"] = pa.FixedSizeListArray.from_arrays(pa.array((state * 3).ravel()), d)
        pose = np.tile(np.arange(7, dtype=np.float64), (length, 1)) + episode
        columns["observation.ee_pose"] = pa.FixedSizeListArray.from_arrays(pa.array(pose.ravel()), 7)
        columns["next.reward"] = pa.array(np.arange(length, dtype=np.float32) / length)
        columns["next.done"] = pa.array(np.arange(length) == length - 1)
    columns["timestamp"] = pa.array((np.arange(length) / fps).astype(np.float32))
    columns["frame_index"] = pa.array(np.arange(length, dtype=np.int64))
    columns["episode_index"] = pa.array(np.full(length, episode, dtype=np.int64))
    columns["index"] = pa.array(np.arange(start, start + length, dtype=np.int64))
    columns["task_index"] = pa.array(task_of_frame.astype(np.int64))
    return pa.table(columns), [tasks[i] for i in picked]


def _stats(values: np.ndarray, quantiles: bool) -> dict[str, list]:
    """LeRobot's per-feature statistics of N x ... values (images: N x C x H x W in 0..1, per channel as
    C x 1 x 1 nested lists); quantiles interpolated linearly, as numpy's default."""
    image = values.ndim == 4
    count = int(values.shape[0])
    flat = values.transpose(0, 2, 3, 1).reshape(-1, values.shape[1]) if image else values.reshape(count, -1)
    flat = np.sort(flat.astype(np.float64), axis=0)

    def listed(value: np.ndarray) -> list:
        if image:
            return [[[float(v)]] for v in value]
        return value.tolist() if values.ndim > 1 else [value.item()]

    stats = {
        "min": listed(flat[0]),
        "max": listed(flat[-1]),
        "mean": listed(flat.mean(axis=0)),
        "std": listed(flat.std(axis=0)),
        "count": [count],
    }
    if quantiles:
        for level in (0.01, 0.10, 0.50, 0.90, 0.99):
            at = (len(flat) - 1) * level
            low, high = int(np.floor(at)), int(np.ceil(at))
            value = flat[low] + (flat[high] - flat[low]) * (at - low)
            stats[f"q{round(level * 100):02d}"] = listed(value)
    if not image and np.issubdtype(values.dtype, np.integer):
        stats["min"], stats["max"] = [int(v) for v in stats["min"]], [int(v) for v in stats["max"]]
    return stats


def _episode_stats(
    table: pa.Table, features: dict, cameras, episode, size, quantiles: bool
) -> dict[str, dict]:
    stats = {}
    for key, ft in features.items():
        if ft["dtype"] in ("video", "image"):
            number = [f"observation.images.{c}" for c in cameras].index(key) + 1
            length = table.num_rows
            # A few frames, every 8th pixel: LeRobot samples images for statistics too.
            sample = sorted({0, length // 3, 2 * length // 3, length - 1})
            frames = np.stack([frame_rgb(n, episode, number, *size)[::8, ::8] for n in sample])
            stats[key] = _stats(frames.transpose(0, 3, 1, 2).astype(np.float64) / 255.0, quantiles)
            stats[key]["count"] = [length]
        else:
            column = table.column(key).combine_chunks()
            if pa.types.is_fixed_size_list(column.type):
                values = column.flatten().to_numpy().reshape(len(column), -1)
            else:
                values = column.to_numpy(zero_copy_only=False)
            stats[key] = _stats(values.astype(np.float64) if values.dtype == bool else values, quantiles)
    return stats


def _aggregate(episodes: list[dict[str, dict]]) -> dict[str, dict]:
    """meta/stats.json from the episodes' statistics, as LeRobot's `aggregate_stats`: min of minima, max of
    maxima, count-weighted means (quantiles too) and the pooled standard deviation."""
    out: dict[str, dict] = {}
    for key in episodes[0]:
        parts = [e[key] for e in episodes]
        counts = np.array([p["count"][0] for p in parts], dtype=np.float64)
        weights = counts.reshape(-1, *[1] * np.asarray(parts[0]["mean"]).ndim) / counts.sum()
        mean = (np.array([p["mean"] for p in parts]) * weights).sum(axis=0)
        spread = np.array([p["std"] for p in parts]) ** 2 + (np.array([p["mean"] for p in parts]) - mean) ** 2
        stats = {
            "min": np.min([p["min"] for p in parts], axis=0).tolist(),
            "max": np.max([p["max"] for p in parts], axis=0).tolist(),
            "mean": mean.tolist(),
            "std": np.sqrt((spread * weights).sum(axis=0)).tolist(),
            "count": [int(counts.sum())],
        }
        for q in ("q01", "q10", "q50", "q90", "q99"):
            if q in parts[0]:
                stats[q] = (np.array([p[q] for p in parts]) * weights).sum(axis=0).tolist()
        out[key] = stats
    return out


def _write_info(root: Path, info: dict) -> None:
    (root / "meta").mkdir(parents=True, exist_ok=True)
    (root / "meta/info.json").write_text(json.dumps(info, indent=4))


def write_lerobot_v30(
    folder: Path | str,
    episodes: int = 3,
    length: int | Sequence[int] = 30,
    cameras: Sequence[str] = ("front", "wrist"),
    codec: str = "h264",
    episodes_per_file: int | None = None,
    images_in_parquet: bool = False,
    fps: int = 30,
    *,
    episodes_per_video_file: int | None = None,
    episodes_per_meta_file: int | None = None,
    rows_per_group: int | None = None,
    width: int = 128,
    height: int = 96,
    gop: int = 2,
    tasks: Sequence[str] = DEFAULT_TASKS[:2],
    tasks_per_episode: int = 1,
    joints: Sequence[str] = DEFAULT_JOINTS,
    extras: bool = False,
    names_as_dict: bool = False,
    stats: bool = True,
) -> Path:
    """A v3.0 dataset in `folder`: `episodes_per_file` episodes per data file (all by default), as many per
    video file unless `episodes_per_video_file` says otherwise, `episodes_per_meta_file` rows per episode
    table. `rows_per_group` writes each data file in row groups of that many rows (crossing episodes)
    instead of one row group per episode. Returns the folder."""
    root = Path(folder)
    lengths = _lengths(episodes, length)
    per_data = episodes_per_file or episodes
    per_video = episodes_per_video_file or per_data
    per_meta = episodes_per_meta_file or episodes
    features = _features(cameras, joints, width, height, codec, fps, images_in_parquet, extras, names_as_dict)
    info = {
        "codebase_version": "v3.0",
        "robot_type": "so100",
        "total_episodes": episodes,
        "total_frames": sum(lengths),
        "total_tasks": len(tasks),
        "chunks_size": 1000,
        "data_files_size_in_mb": 100,
        "video_files_size_in_mb": 200,
        "fps": fps,
        "splits": {"train": f"0:{episodes}"},
        "data_path": "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet",
        "video_path": None
        if images_in_parquet
        else "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4",
        "features": features,
    }
    _write_info(root, info)
    meta = _hf_metadata(features, "List")
    rows: list[dict] = []
    episode_stats: list[dict[str, dict]] = []
    writer: pq.ParquetWriter | None = None
    pending: list[pa.Table] = []
    videos: dict[str, _Video] = {}
    video_frames = 0
    start = 0

    def flush_data() -> None:
        nonlocal writer
        if pending:
            assert writer is not None
            writer.write_table(pa.concat_tables(pending), row_group_size=rows_per_group)
            pending.clear()
        if writer is not None:
            writer.close()
            writer = None

    for e, n in enumerate(lengths):
        data_file, video_file = e // per_data, e // per_video
        if e % per_data == 0:
            flush_data()
        if e % per_video == 0 and not images_in_parquet:
            for video in videos.values():
                video.close()
            videos, video_frames = {}, 0
            for camera in cameras:
                key = f"observation.images.{camera}"
                path = root / info["video_path"].format(
                    video_key=key, chunk_index=video_file // 1000, file_index=video_file % 1000
                )
                videos[camera] = _Video(path, codec, fps, width, height, gop)
        table, episode_tasks = _episode(
            e,
            n,
            start,
            fps,
            joints,
            tasks,
            tasks_per_episode,
            cameras,
            (height, width),
            images_in_parquet,
            extras,
        )
        table = table.replace_schema_metadata(meta)
        if writer is None:
            path = root / info["data_path"].format(chunk_index=data_file // 1000, file_index=data_file % 1000)
            path.parent.mkdir(parents=True, exist_ok=True)
            writer = pq.ParquetWriter(path, schema=table.schema, compression="snappy", use_dictionary=True)
        if rows_per_group:
            pending.append(table)
        else:
            writer.write_table(table)  # one row group per episode, as LeRobot's writer leaves it
        row: dict = {
            "episode_index": e,
            "tasks": episode_tasks,
            "length": n,
            "data/chunk_index": data_file // 1000,
            "data/file_index": data_file % 1000,
            "dataset_from_index": start,
            "dataset_to_index": start + n,
        }
        for number, camera in enumerate(cameras, 1):
            if images_in_parquet:
                continue
            for k in range(n):
                videos[camera].add(marker_luma(k, e, number, height, width))
            key = f"videos/observation.images.{camera}"
            row[f"{key}/chunk_index"] = video_file // 1000
            row[f"{key}/file_index"] = video_file % 1000
            row[f"{key}/from_timestamp"] = video_frames / fps
            row[f"{key}/to_timestamp"] = (video_frames + n) / fps
        video_frames += n
        if stats:
            episode_stats.append(_episode_stats(table, features, cameras, e, (height, width), True))
            for key, values in episode_stats[-1].items():
                for stat in _STAT_KEYS:
                    row[f"stats/{key}/{stat}"] = values[stat]
        row["meta/episodes/chunk_index"] = (e // per_meta) // 1000
        row["meta/episodes/file_index"] = (e // per_meta) % 1000
        rows.append(row)
        start += n
    flush_data()
    for video in videos.values():
        video.close()
    for m in range(0, episodes, per_meta):
        part = rows[m : m + per_meta]
        path = (
            root
            / f"meta/episodes/chunk-{(m // per_meta) // 1000:03d}/file-{(m // per_meta) % 1000:03d}.parquet"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(part), path)
    pandas = {
        "index_columns": ["__index_level_0__"],
        "column_indexes": [
            {
                "name": None,
                "field_name": None,
                "pandas_type": "unicode",
                "numpy_type": "str",
                "metadata": {"encoding": "UTF-8"},
            }
        ],
        "columns": [
            {
                "name": "task_index",
                "field_name": "task_index",
                "pandas_type": "int64",
                "numpy_type": "int64",
                "metadata": None,
            },
            {
                "name": None,
                "field_name": "__index_level_0__",
                "pandas_type": "object",
                "numpy_type": "str",
                "metadata": None,
            },
        ],
        "attributes": {},
        "creator": {"library": "pyarrow", "version": pa.__version__},
        "pandas_version": "3.1.1",
    }
    task_table = pa.table(
        {
            "task_index": pa.array(range(len(tasks)), pa.int64()),
            "__index_level_0__": pa.array(list(tasks), pa.large_string()),
        }
    ).replace_schema_metadata({b"pandas": json.dumps(pandas).encode()})
    pq.write_table(task_table, root / "meta/tasks.parquet")
    if stats:
        (root / "meta/stats.json").write_text(json.dumps(_aggregate(episode_stats), indent=4))
    return root


def write_lerobot_v21(
    folder: Path | str,
    episodes: int = 3,
    length: int | Sequence[int] = 30,
    cameras: Sequence[str] = ("front", "wrist"),
    codec: str = "h264",
    images_in_parquet: bool = False,
    fps: int = 30,
    *,
    chunks_size: int = 1000,
    width: int = 128,
    height: int = 96,
    gop: int = 2,
    tasks: Sequence[str] = DEFAULT_TASKS[:2],
    tasks_per_episode: int = 1,
    joints: Sequence[str] = DEFAULT_JOINTS,
    extras: bool = False,
    names_as_dict: bool = False,
    stats: bool = True,
) -> Path:
    """A v2.1 dataset in `folder`: one parquet file per episode and one MP4 per episode and camera, in
    chunks of `chunks_size` episodes. Returns the folder."""
    root = Path(folder)
    lengths = _lengths(episodes, length)
    features = _features(cameras, joints, width, height, codec, fps, images_in_parquet, extras, names_as_dict)
    info = {
        "codebase_version": "v2.1",
        "robot_type": "so100",
        "total_episodes": episodes,
        "total_frames": sum(lengths),
        "total_tasks": len(tasks),
        "total_videos": 0 if images_in_parquet else episodes * len(cameras),
        "total_chunks": -(-episodes // chunks_size),
        "chunks_size": chunks_size,
        "fps": fps,
        "splits": {"train": f"0:{episodes}"},
        "data_path": "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet",
        "video_path": None
        if images_in_parquet
        else "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4",
        "features": features,
    }
    _write_info(root, info)
    meta = _hf_metadata(features, "Sequence")
    episode_lines, stat_lines = [], []
    start = 0
    for e, n in enumerate(lengths):
        chunk = e // chunks_size
        table, episode_tasks = _episode(
            e,
            n,
            start,
            fps,
            joints,
            tasks,
            tasks_per_episode,
            cameras,
            (height, width),
            images_in_parquet,
            extras,
        )
        path = root / info["data_path"].format(episode_chunk=chunk, episode_index=e)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.replace_schema_metadata(meta), path, compression="snappy")
        for number, camera in enumerate(cameras, 1):
            if images_in_parquet:
                continue
            key = f"observation.images.{camera}"
            video = _Video(
                root / info["video_path"].format(episode_chunk=chunk, video_key=key, episode_index=e),
                codec,
                fps,
                width,
                height,
                gop,
            )
            for k in range(n):
                video.add(marker_luma(k, e, number, height, width))
            video.close()
        episode_lines.append(json.dumps({"episode_index": e, "tasks": episode_tasks, "length": n}))
        if stats:
            values = _episode_stats(table, features, cameras, e, (height, width), False)
            stat_lines.append(json.dumps({"episode_index": e, "stats": values}))
        start += n
    (root / "meta/episodes.jsonl").write_text("\n".join(episode_lines) + "\n")
    (root / "meta/tasks.jsonl").write_text(
        "".join(json.dumps({"task_index": i, "task": t}) + "\n" for i, t in enumerate(tasks))
    )
    if stats:
        (root / "meta/episodes_stats.jsonl").write_text("\n".join(stat_lines) + "\n")
    return root
