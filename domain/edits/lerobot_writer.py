"""Write episodes as a LeRobot v3.0 dataset, in the layout LeRobot 0.4.4's own writer produces
(`LeRobotDataset.create`, `add_frame`, `save_episode`, `finalize`; compare tests/samples/lerobot_v30_sample):

    meta/info.json                          codebase_version "v3.0", fps, features (dtype, shape, names;
                                            video features with their codec, pix_fmt, fps...), totals,
                                            chunks_size, data_files_size_in_mb, video_files_size_in_mb
    meta/stats.json                         min/max/mean/std/count/q01..q99 per feature (lerobot_stats.py)
    meta/tasks.parquet                      task text as the index, task_index
    meta/episodes/chunk-CCC/file-FFF.parquet one row per episode: tasks, length, data/chunk_index,
                                            data/file_index, dataset_from_index/to_index, per camera
                                            videos/<key>/chunk_index, file_index, from_timestamp,
                                            to_timestamp, stats/<feature>/<stat>, meta/episodes/*;
                                            then the spec's episode_columns (annotations)
    data/chunk-CCC/file-FFF.parquet         per frame: the arrays (fixed-size lists), [subtask_index],
                                            timestamp (float32, frame_index / fps: from 0 in every
                                            episode), frame_index, episode_index, index (global),
                                            task_index; one row group per episode
    videos/<key>/chunk-CCC/file-FFF.mp4     several episodes back to back (lerobot_video.py)
    meta/subtasks.parquet                   (spec.subtasks) the subtask text as the index (what LeRobot
                                            hands a policy as item["subtask"], `subtasks.iloc[i].name`),
                                            subtask_index, label, instruction. Frames in no segment get the
                                            row after the given ones, label "" (written only if used):
                                            LeRobot reads the row by position, so -1 cannot be stored.
    meta/anomalies.parquet                  (spec.anomalies) one row per anomaly range: episode_index,
                                            from_frame, to_frame (inclusive), from_timestamp, to_timestamp
                                            (the data's timestamps of those frames), type, severity,
                                            description. Several rows per episode, so a table of its own
                                            beside tasks/subtasks rather than columns of meta/episodes;
                                            LeRobot's loader reads only the meta files it knows and
                                            leaves this one alone.

Episodes are numbered 0.. in the order given. Memory does not grow with the number of episodes: frames
go to the encoders as the caller's iterators yield them, each episode's rows are written as one row
group, episode rows 10 at a time, anomaly rows 1,000 at a time, statistics fold into a running total;
what is kept is one episode's arrays and sampled frames, the task strings, and what the open files'
writers hold until they close (the mp4 muxer's index, about 70 bytes per frame of the open video file,
and a parquet footer entry per row group), which the file size limits bound.

Blocking (PyAV, pyarrow): run it in a worker thread or process. `target` must not exist (or be an empty
folder); on any failure, including an exception from `progress` (how a job is cancelled), everything
written is removed and the exception propagates.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa

from domain.edits import lerobot_meta, lerobot_stats
from domain.edits.lerobot_spec import (
    SUBTASK_INDEX,
    AnomalyRange,
    ArrayFeature,
    LeRobotEpisode,
    LeRobotSpec,
    LeRobotSummary,
    Subtask,
)
from domain.edits.lerobot_tables import DATA_PATH, EpisodeTable, RotatingParquet, data_schema
from domain.edits.lerobot_video import CameraVideos, VideoOptions, Window, available_codecs

__all__ = [
    "AnomalyRange",
    "ArrayFeature",
    "LeRobotEpisode",
    "LeRobotSpec",
    "LeRobotSummary",
    "Subtask",
    "VideoOptions",
    "available_codecs",
    "write_lerobot_dataset",
]


def write_lerobot_dataset(
    target: Path,
    spec: LeRobotSpec,
    episodes: Iterable[LeRobotEpisode],
    *,
    progress: Callable[[int, int], None] | None = None,
) -> LeRobotSummary:
    """Write `episodes` (at least one) into the new folder `target` as LeRobot v3.0.

    `progress(episodes_done, frames_done)` is called after each episode. ValueError (before anything
    is written for a bad spec, else mid-way) for a spec or an episode that does not fit (see
    lerobot_spec.py); FileExistsError when `target` is a non-empty folder."""
    spec.check()
    target = Path(target)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise FileExistsError(f"{target} exists and is not an empty folder")
    target.mkdir(parents=True, exist_ok=True)
    writer = _Writer(target, spec)
    try:
        for episode in episodes:
            writer.episode(episode)
            if progress is not None:
                progress(writer.episodes, writer.frames)
        if not writer.episodes:
            raise ValueError("no episodes to write")
        writer.finish()
    except BaseException:
        writer.abort()
        shutil.rmtree(target, ignore_errors=True)
        raise
    files = sorted(p for p in target.rglob("*") if p.is_file())
    return LeRobotSummary(
        episodes=writer.episodes,
        frames=writer.frames,
        tasks=len(writer.tasks),
        bytes=sum(p.stat().st_size for p in files),
        files=tuple(str(p.relative_to(target)) for p in files),
    )


class _Writer:
    def __init__(self, root: Path, spec: LeRobotSpec) -> None:
        self.root, self.spec = root, spec
        self.keys = {name: spec.camera_key(name) for name in spec.cameras}
        self.columns = lerobot_meta.data_columns(spec)
        self.stat_features = lerobot_meta.stat_features(spec)
        size, chunks = spec.data_files_size_in_mb, spec.chunks_size
        self.data = RotatingParquet(root, DATA_PATH, data_schema(self.columns), chunks, size)
        self.table = EpisodeTable(root, lerobot_meta.episode_schema(spec), chunks, size)
        self.videos = {
            name: CameraVideos(
                root, key, spec.fps, spec.cameras[name], spec.video, chunks, spec.video_files_size_in_mb
            )
            for name, key in self.keys.items()
        }
        (root / "meta").mkdir(exist_ok=True)
        self.anomalies = lerobot_meta.AnomalyTable(root, spec.fps) if spec.anomalies else None
        self.tasks: dict[str, int] = {}
        self.stats: dict[str, lerobot_stats.Stats] = {}
        self.episodes = self.frames = 0
        self.no_subtask_used = False

    def episode(self, episode: LeRobotEpisode) -> None:
        spec, number = self.spec, self.episodes
        length, arrays, subtasks = episode.checked(spec, number)
        task = self.tasks.setdefault(episode.task, len(self.tasks))
        start = self.frames
        values: dict[str, np.ndarray] = dict(arrays)
        if subtasks is not None:
            values[SUBTASK_INDEX] = subtasks
            self.no_subtask_used |= bool((subtasks == len(spec.subtasks or ())).any())
        frame_index = np.arange(length, dtype=np.int64)
        values["timestamp"] = frame_index / spec.fps  # float64 for stats, float32 in the data
        values["frame_index"] = frame_index
        values["episode_index"] = np.full(length, number, dtype=np.int64)
        values["index"] = np.arange(start, start + length, dtype=np.int64)
        values["task_index"] = np.full(length, task, dtype=np.int64)

        if self.data.full(length):
            self.data.rotate()
        row: dict[str, object] = {
            "episode_index": number,
            "tasks": [episode.task],
            "length": length,
            "data/chunk_index": self.data.chunk,
            "data/file_index": self.data.file,
            "dataset_from_index": start,
            "dataset_to_index": start + length,
        }
        self.data.write(self._data_table(values), length)

        stats: dict[str, lerobot_stats.Stats] = {}
        for name, key in self.keys.items():
            window, samples = self._encode(name, episode.frames[name], length)
            row |= {
                f"videos/{key}/{field}": getattr(window, field)
                for field, _ in (*lerobot_meta.WINDOW, *lerobot_meta.TIMES)
            }
            stats[key] = lerobot_stats.image_stats(samples)
        for feature in self.stat_features:
            if feature not in stats:
                stats[feature] = lerobot_stats.array_stats(values[feature])
        for feature in self.stat_features:
            self.stats[feature] = lerobot_stats.aggregate(self.stats.get(feature), stats[feature])
            row |= {f"stats/{feature}/{k}": v.tolist() for k, v in stats[feature].items()}
        row |= {c: episode.columns.get(c) for c in spec.episode_columns}
        self.table.add(row)
        if self.anomalies is not None and episode.anomalies:
            self.anomalies.add(number, episode.anomalies)
        self.episodes += 1
        self.frames += length

    def _encode(
        self, name: str, frames: Iterable[np.ndarray], length: int
    ) -> tuple[Window, list[np.ndarray]]:
        """Encode the episode's frames of one camera; its window and the frames sampled for stats."""
        video = self.videos[name]
        sampled = set(lerobot_stats.sample_indices(length))
        samples: list[np.ndarray] = []
        video.begin(length)
        for n, frame in enumerate(frames):
            if n >= length:
                raise ValueError(f"episode {self.episodes}: camera {name} has more than {length} frames")
            video.add(frame)
            if n in sampled:
                samples.append(lerobot_stats.downsample(frame))
        return video.end(), samples

    def _data_table(self, values: dict[str, np.ndarray]) -> pa.Table:
        arrays = []
        for name, field in zip(self.columns, self.data.schema, strict=True):
            column = values[name]
            if name == "timestamp":
                column = column.astype(np.float32)
            if pa.types.is_fixed_size_list(field.type):
                flat = pa.array(np.ascontiguousarray(column).reshape(-1), field.type.value_type)
                arrays.append(pa.FixedSizeListArray.from_arrays(flat, field.type.list_size))
            else:
                arrays.append(pa.array(column.reshape(-1), field.type))
        return pa.Table.from_arrays(arrays, schema=self.data.schema)

    def finish(self) -> None:
        self.data.close()
        self.table.close()
        for video in self.videos.values():
            video.close()
        if self.anomalies is not None:
            self.anomalies.close()
            self.anomalies = None
        lerobot_meta.write_tasks(self.root, sorted(self.tasks, key=self.tasks.__getitem__))
        if self.spec.subtasks is not None:
            lerobot_meta.write_subtasks(self.root, self.spec.subtasks, self.no_subtask_used)
        first_videos = {name: video.files[0] for name, video in self.videos.items()}
        info = lerobot_meta.info(self.spec, first_videos, self.episodes, self.frames, len(self.tasks))
        lerobot_meta.write_json(self.root / "meta/info.json", info)
        lerobot_meta.write_json(self.root / "meta/stats.json", lerobot_stats.as_json(self.stats))

    def abort(self) -> None:
        """Close whatever is open, ignoring errors (the folder is removed next)."""
        closers: list[Callable[[], None]] = [self.data.close, self.table.close]
        closers += [v.close for v in self.videos.values()]
        if self.anomalies is not None:
            closers.append(self.anomalies.close)
        for close in closers:
            try:
                close()
            except Exception:  # noqa: S110 - already failing; the files are deleted next
                pass
