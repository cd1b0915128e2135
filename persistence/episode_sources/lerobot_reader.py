"""One LeRobot episode (v3.0 or v2.1) opened for reading: its parquet rows held as a pyarrow table, arrays
under the standard names, and camera frames by time from MP4 files or PNG bytes inside the parquet.

Rows: the locator's row range inside the data file, verified with the `episode_index` column; when it
does not hold (or is absent), the rows whose `episode_index` is the episode's, searched through the row
groups whose statistics allow it. Row groups are never taken to be episodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from persistence.episode_sources.base import (
    TASK_INDEX,
    SourceError,
    SourceRef,
    check_frames,
    unknown_camera,
)
from persistence.episode_sources.images import ImageDecodeError, decode_rgb
from persistence.episode_sources.lerobot_meta import Camera, read_layout
from persistence.episode_sources.lerobot_parquet import footer, group_column, leaf_index, to_numpy
from persistence.episode_sources.lerobot_video import VideoTimes
from persistence.video_files import VideoFileCache

_MATRICES = ("action", "observation.state", "observation.velocity", "observation.ee_pose")


class LeRobotEpisode:
    """An EpisodeReader (see base.py). Not thread-safe: the caller serialises calls per reader."""

    def __init__(self, ref: SourceRef, videos: VideoFileCache) -> None:
        self._root = Path(ref.root)
        self._layout = read_layout(self._root)
        locator = ref.details()
        self._episode, self._length = int(locator["episode"]), int(locator["length"])
        self._tolerance = float(locator.get("tolerance_s") or self._layout.default_tolerance())
        self._windows: dict[str, dict] = locator.get("videos", {})
        self._videos = videos
        self._path = ref.path
        meta = footer(self._path)
        try:
            self._file = pq.ParquetFile(self._path, metadata=meta)
        except Exception as exc:
            raise SourceError(self._path, f"unreadable parquet file ({exc})") from None
        try:
            self._open(meta, locator)
        except BaseException:
            self._file.close()
            raise

    def _open(self, meta: pq.FileMetaData, locator: dict) -> None:
        self._starts = np.cumsum([0] + [meta.row_group(g).num_rows for g in range(meta.num_row_groups)])
        # The last row group of each image column read (it may be too large for the shared cache).
        self._image_groups: dict[str, tuple[int, pa.Array]] = {}
        self._times: dict[str, VideoTimes] = {}
        names = self._file.schema_arrow.names
        for key in self._layout.columns.values():
            if key not in names:
                raise SourceError(
                    self._path, "declared in meta/info.json but missing from the data file", key
                )
        self._rows = self._find_rows(locator.get("rows"))
        wanted = list(dict.fromkeys(self._layout.columns.values()))
        self._table = self._take(wanted, self._rows) if wanted else pa.table({})
        stamp_key = self._layout.columns.get("timestamp")
        # The frame's time as stored (a video frame is looked up at from_timestamp + this, as LeRobot does).
        self._stamps = (
            self._column(stamp_key).astype(np.float64)
            if stamp_key
            else np.arange(self._length, dtype=np.float64) / self._layout.fps
        )

    # -- rows ---------------------------------------------------------------------------------------

    def _find_rows(self, span: list[int] | None) -> np.ndarray:
        if "episode_index" not in self._file.schema_arrow.names:
            raise SourceError(self._path, "column missing from the data file", "episode_index")
        if span is not None:
            rows = np.arange(span[0], span[1], dtype=np.int64)
            if len(rows) == self._length and span[1] <= self._starts[-1]:
                found = self._take(["episode_index"], rows).column(0).to_numpy()
                if np.all(found == self._episode):
                    return rows
        # Search: every row group whose episode_index statistics allow the episode.
        rows_found: list[np.ndarray] = []
        meta, leaf = self._file.metadata, leaf_index(self._file.metadata, "episode_index")
        for g in range(meta.num_row_groups):
            stats = meta.row_group(g).column(leaf).statistics if leaf is not None else None
            if stats is not None and stats.has_min_max and not stats.min <= self._episode <= stats.max:
                continue
            column = group_column(self._file, self._path, g, "episode_index").to_numpy(zero_copy_only=False)
            rows_found.append(np.flatnonzero(column == self._episode) + self._starts[g])
        rows = np.concatenate(rows_found) if rows_found else np.zeros(0, dtype=np.int64)
        if len(rows) != self._length:
            raise SourceError(
                self._path,
                f"holds {len(rows)} rows of episode {self._episode}, the episode table says {self._length}"
                + (": rows are missing" if len(rows) < self._length else ""),
                "episode_index",
            )
        return rows

    def _take(self, columns: list[str], rows: np.ndarray) -> pa.Table:
        """The given file rows (in that order) of `columns`, from the row groups holding them only."""
        groups = np.unique(np.searchsorted(self._starts, rows, side="right") - 1)
        parts = [[group_column(self._file, self._path, int(g), c) for g in groups] for c in columns]
        table = pa.table({c: pa.chunked_array(p) for c, p in zip(columns, parts, strict=True)})
        # Position of each file row in the concatenation of the row groups read.
        sizes = self._starts[groups + 1] - self._starts[groups]
        offsets = np.cumsum(np.concatenate([[0], sizes[:-1]]))
        group_of = np.searchsorted(self._starts, rows, side="right") - 1
        positions = rows - self._starts[group_of] + offsets[np.searchsorted(groups, group_of)]
        # take() copies: the reader keeps its own rows, not the shared row groups.
        return table.take(pa.array(positions)).combine_chunks()

    def _column(self, key: str, selection: np.ndarray | None = None) -> np.ndarray:
        column = self._table.column(key)
        if selection is not None:
            column = column.take(pa.array(selection))
        return to_numpy(column, self._path, key)

    # -- EpisodeReader ------------------------------------------------------------------------------

    @property
    def length(self) -> int:
        return self._length

    def cameras(self) -> dict[str, tuple[int, int, int]]:
        return {c.name: (self._length, c.height, c.width) for c in self._layout.cameras.values()}

    def arrays(self, names: Sequence[str], selection: slice) -> dict[str, np.ndarray]:
        """Standard arrays over `selection` of frames: timestamp float64 seconds from the episode's first
        frame; state, action, velocity, ee_pose N x D (float as stored); gripper N or N x G; task_index N."""
        picked = np.arange(self._length)[selection]
        columns = self._layout.columns
        out: dict[str, np.ndarray] = {}
        for name in names:
            if name == "timestamp" and name in columns:
                out[name] = self._stamps[picked] - self._stamps[0]
            elif name in _MATRICES and name in columns:
                values = self._column(columns[name], picked)
                values = values.reshape(len(picked), -1)
                out[name] = values if values.dtype.kind == "f" else values.astype(np.float64)
            elif name == "observation.gripper" and name in columns:
                values = self._column(columns[name], picked).reshape(len(picked), -1)
                out[name] = _floats(values[:, 0] if values.shape[1] == 1 else values)
            elif name == "observation.gripper" and self._layout.gripper_columns:
                state = self._column(columns["observation.state"], picked).reshape(len(picked), -1)
                grip = state[:, list(self._layout.gripper_columns)]
                out[name] = _floats(grip[:, 0] if grip.shape[1] == 1 else grip)
            elif name == TASK_INDEX and name in columns:
                out[name] = self._column(columns[name], picked).reshape(len(picked)).astype(np.int64)
        return out

    def frames(self, camera: str, indices: Sequence[int]) -> list[np.ndarray]:
        """RGB H x W x 3 uint8 frames in the order asked: for a video camera, the frame whose presentation
        time is nearest `from_timestamp + timestamp[n]` (LeRobot's `decode_video_frames`), within the
        tolerance; for an image camera, the row's PNG decoded. SourceError naming the file otherwise."""
        cam = next((c for c in self._layout.cameras.values() if c.name == camera), None)
        if cam is None:
            raise unknown_camera(camera, [c.name for c in self._layout.cameras.values()])
        indices = [int(i) for i in indices]
        check_frames(camera, self._length, indices)
        if not indices:
            return []
        out = self._images(cam, indices) if cam.kind == "image" else self._video(cam, indices)
        h, w = out[0].shape[:2]
        if (h, w) != (cam.height, cam.width):
            raise SourceError(
                self._path if cam.kind == "image" else self._root / self._windows[cam.name]["file"],
                f"frames are {w}x{h}, meta/info.json declares {cam.width}x{cam.height}",
                cam.key,
            )
        return out

    def _video(self, cam: Camera, indices: list[int]) -> list[np.ndarray]:
        if cam.name not in self._times:
            window = self._windows.get(cam.name)
            if window is None:
                raise SourceError(
                    self._path, f"the episode's locator has no video window for {cam.name}", cam.key
                )
            self._times[cam.name] = VideoTimes(
                self._root / window["file"],
                cam.key,
                window["from"],
                window["to"],
                self._layout.fps,
                self._videos,
            )
        times = self._times[cam.name]
        picks = times.nearest(self._stamps, indices, self._tolerance, self._episode)
        return times.read(picks)

    def _images(self, cam: Camera, indices: list[int]) -> list[np.ndarray]:
        out = []
        for n in indices:
            row = int(self._rows[n])
            group = int(np.searchsorted(self._starts, row, side="right") - 1)
            cell = self._image_group(cam.key, group)[row - int(self._starts[group])].as_py()
            data = cell.get("bytes") if isinstance(cell, dict) else cell if isinstance(cell, bytes) else None
            if not data:
                raise SourceError(
                    self._path, f"frame {n} of episode {self._episode} has no image bytes", cam.key
                )
            try:
                out.append(decode_rgb(data, ("PNG", "JPEG")))
            except ImageDecodeError as exc:
                raise SourceError(self._path, f"frame {n}: undecodable image ({exc})", cam.key) from None
        return out

    def _image_group(self, key: str, group: int) -> pa.Array:
        last = self._image_groups.get(key)
        if last is None or last[0] != group:
            last = (group, group_column(self._file, self._path, group, key))
            self._image_groups[key] = last
        return last[1]

    def close(self) -> None:
        self._image_groups.clear()
        self._file.close()


def _floats(values: np.ndarray) -> np.ndarray:
    return values if values.dtype.kind == "f" else values.astype(np.float64)
