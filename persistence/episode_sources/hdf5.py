"""annograph's own HDF5 layout (DESIGN.md): a folder with `info.json` and `episodes/episode_*.hdf5`,
each holding `timestamp`, `action`, `observation.*` and `observation.images.<camera>` (N x H x W x 3
uint8, one frame per chunk) and the attribute `task_index`."""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import h5py
import numpy as np
from pydantic import BaseModel, ConfigDict

from persistence.episode_sources.base import (
    IMAGE_PREFIX,
    TASK_INDEX,
    TRAJECTORY_DATASETS,
    DatasetScan,
    EpisodeScan,
    FieldMapping,
    SourceError,
    SourceRef,
    check_frames,
    episode_sort_key,
    unknown_camera,
)

FORMAT = "HDF5"
EPISODE_GLOB = "episode_*.hdf5"


class Options(BaseModel):
    """Nothing to say: `info.json` holds fps, cameras, joint names and tasks."""

    model_config = ConfigDict(extra="forbid")


def detect(path: Path) -> bool:
    return path.is_dir() and (path / "info.json").is_file() and (path / "episodes").is_dir()


def check(path: Path, options: Options) -> None:
    read_info(path)


def read_info(folder: Path) -> dict:
    info_path = folder / "info.json"
    if not info_path.is_file():
        raise SourceError(info_path, "missing info.json")
    try:
        info = json.loads(info_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceError(info_path, f"unreadable info.json ({exc})") from None
    if not isinstance(info, dict):
        raise SourceError(info_path, "info.json must hold an object")
    fps = info.get("fps")
    if not isinstance(fps, int | float) or isinstance(fps, bool) or fps <= 0:
        raise SourceError(info_path, "info.json needs a positive number 'fps'", "fps")
    return info


def _tasks(info: dict, info_path: Path) -> list[tuple[int, str]]:
    tasks = []
    for position, task in enumerate(info.get("tasks") or []):
        if isinstance(task, str):
            tasks.append((position, task))
        elif isinstance(task, dict) and "description" in task:
            tasks.append((int(task.get("index", position)), str(task["description"])))
        else:
            raise SourceError(info_path, "needs a 'description'", f"tasks[{position}]")
    return tasks


def scan(
    path: Path,
    options: Options,
    previous: Mapping[str, EpisodeScan] | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> DatasetScan:
    info = read_info(path)
    fps = float(info["fps"])
    episodes_dir = path / "episodes"
    if not episodes_dir.is_dir():
        raise SourceError(episodes_dir, "missing episodes/ folder")
    files = sorted(episodes_dir.glob(EPISODE_GLOB), key=lambda p: episode_sort_key(p.name))
    if not files:
        raise SourceError(episodes_dir, "holds no episode_*.hdf5 files")
    headers = []
    for done, file in enumerate(files, start=1):
        relative = str(file.relative_to(path))
        stat = file.stat()
        old = (previous or {}).get(relative)
        if old is not None and old.file_size == stat.st_size and old.file_mtime == stat.st_mtime:
            headers.append(old)
        else:
            headers.append(scan_episode(path, file, fps))
        if progress:
            progress(done / len(files), f"indexed {done} of {len(files)} episodes")
    features = info.get("features") or {}
    cameras = info.get("cameras")
    if cameras is None:
        cameras = [k[len(IMAGE_PREFIX) :] for k in features if k.startswith(IMAGE_PREFIX)]
    cameras = [str(c) for c in cameras] or sorted({c for h in headers for c in h.cameras})
    mapping = [FieldMapping(name, name) for name in TRAJECTORY_DATASETS]
    mapping += [FieldMapping(IMAGE_PREFIX + c, f"camera:{c}") for c in cameras]
    mapping.append(FieldMapping("task_index", "task", note="file attribute"))
    return DatasetScan(
        format=FORMAT,
        name=str(info.get("name") or path.name),
        fps=fps,
        episodes=headers,
        robot_type=info.get("robot_type"),
        cameras=cameras,
        joint_names=[str(j) for j in info.get("joint_names") or []],
        tasks=_tasks(info, path / "info.json"),
        features=features if isinstance(features, dict) else {},
        mapping=mapping,
    )


def check_filters(path: Path | str, dataset: h5py.Dataset, where: str) -> None:
    """SourceError naming the filter when a dataset is stored with one no installed HDF5 plugin
    decodes: refused at registration, never a server error on every frame later."""
    plist = dataset.id.get_create_plist()
    for i in range(plist.get_nfilters()):
        code, _, _, name = plist.get_filter(i)
        if not h5py.h5z.filter_avail(code):
            label = name.decode(errors="replace") if isinstance(name, bytes) else str(name)
            problem = f"stored with HDF5 filter {code} ({label}), which no installed plugin reads"
            raise SourceError(path, problem, where)


def episode_index(path: Path) -> int:
    try:
        return int(path.stem.rsplit("_", 1)[1])
    except (IndexError, ValueError):
        raise SourceError(path, "file name must be episode_<number>.hdf5") from None


def scan_episode(folder: Path, path: Path, fps: float) -> EpisodeScan:
    """One episode's shapes and attributes; SourceError names the file and dataset at fault."""
    relative = path.relative_to(folder)
    try:
        with h5py.File(path, "r") as f:
            lengths = {}
            for name in TRAJECTORY_DATASETS:
                if name in f:
                    if not isinstance(f[name], h5py.Dataset):
                        raise SourceError(relative, "a group where an array belongs", f"/{name}")
                    if f[name].ndim:
                        lengths[name] = f[name].shape[0]
            cameras = {}
            for name in f:
                if name.startswith(IMAGE_PREFIX):
                    shape = f[name].shape if isinstance(f[name], h5py.Dataset) else None
                    if shape is None or len(shape) != 4 or shape[3] != 3:
                        raise SourceError(relative, f"must be N x H x W x 3, found {shape}", f"/{name}")
                    check_filters(relative, f[name], f"/{name}")
                    cameras[name[len(IMAGE_PREFIX) :]] = [int(shape[0]), int(shape[1]), int(shape[2])]
            if not lengths and not cameras:
                raise SourceError(relative, "holds no timestamp, state or camera dataset")
            length = (
                lengths.get("timestamp")
                or lengths.get("observation.state")
                or max([*lengths.values(), *(c[0] for c in cameras.values())])
            )
            duration = length / fps
            if "timestamp" in f and length:
                ts = f["timestamp"][[0, length - 1]] if length > 1 else f["timestamp"][:1]
                if np.all(np.isfinite(ts)) and ts[-1] >= ts[0]:
                    duration = float(ts[-1] - ts[0]) + 1.0 / fps
            task = f.attrs.get("task_index")
            try:
                task_indexes = [] if task is None else [int(np.asarray(task).reshape(-1)[0])]
            except (TypeError, ValueError, IndexError):
                problem = f"must be an integer, found {task!r}"
                raise SourceError(relative, problem, "/.attrs[task_index]") from None
    except SourceError:
        raise
    except (OSError, KeyError, ValueError) as exc:
        raise SourceError(relative, f"unreadable or truncated HDF5 file ({exc})") from None
    stat = path.stat()
    return EpisodeScan(
        index=episode_index(path),
        file=str(relative),
        length=int(length),
        duration=duration,
        cameras=cameras,
        missing=[name for name in TRAJECTORY_DATASETS if name not in lengths],
        file_size=stat.st_size,
        file_mtime=stat.st_mtime,
        task_indexes=task_indexes,
    )


class Hdf5Episode:
    """An open episode file; datasets are read by slice, frames one chunk each. Thread-safe (the HDF5
    library's calls are serialised by h5py's lock), so the reader cache lets threads share it."""

    thread_safe = True

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = h5py.File(path, "r")
        names = [n for n in TRAJECTORY_DATASETS if n in self.file and self.file[n].ndim]
        first = names[0] if names else next((n for n in self.file if n.startswith(IMAGE_PREFIX)), None)
        self._length = int(self.file[first].shape[0]) if first else 0
        # camera -> (its checked dataset, a chunk reader or None): looked up once, not per frame.
        self._streams: dict[str, tuple[h5py.Dataset, Callable[[int], np.ndarray] | None]] = {}

    @property
    def length(self) -> int:
        return self._length

    def cameras(self) -> dict[str, tuple[int, int, int]]:
        return {
            n[len(IMAGE_PREFIX) :]: tuple(int(v) for v in self.file[n].shape[:3])  # type: ignore[misc]
            for n in self.file
            if n.startswith(IMAGE_PREFIX)
        }

    def arrays(self, names: Sequence[str], selection: slice) -> dict[str, np.ndarray]:
        out = {name: self.file[name][selection] for name in names if name in self.file}
        if TASK_INDEX in names and TASK_INDEX not in out and "task_index" in self.file.attrs:
            count = len(range(*selection.indices(self._length)))
            task = int(np.asarray(self.file.attrs["task_index"]).reshape(-1)[0])
            out[TASK_INDEX] = np.full(count, task, dtype=np.int64)
        return out

    def _stream(self, camera: str) -> tuple[h5py.Dataset, Callable[[int], np.ndarray] | None]:
        found = self._streams.get(camera)
        if found is not None:
            return found
        key = IMAGE_PREFIX + camera
        if key not in self.file:
            raise unknown_camera(camera, list(self.cameras()))
        stream = self.file[key]
        if stream.ndim != 4 or stream.shape[3] != 3 or stream.dtype != np.uint8:
            found_shape = f"{stream.shape} {stream.dtype}"
            raise SourceError(self.path, f"must be N x H x W x 3 uint8, found {found_shape}", key)
        found = (stream, chunk_reader(stream))
        self._streams[camera] = found
        return found

    def frames(self, camera: str, indices: Sequence[int]) -> list[np.ndarray]:
        stream, read_chunk = self._stream(camera)
        check_frames(camera, stream.shape[0], indices)
        # One read per frame: the layout stores one frame per chunk, and the frames need not be sorted.
        if read_chunk is not None:
            return [read_chunk(frame) for frame in indices]
        return [stream[frame] for frame in indices]

    def close(self) -> None:
        self.file.close()


def chunk_reader(stream: h5py.Dataset) -> Callable[[int], np.ndarray] | None:
    """For a stream stored one frame per chunk, raw or deflated (our layout): a function reading frame i
    as the chunk's bytes, inflated by zlib outside HDF5 (zlib lets other threads run meanwhile, HDF5
    holds the interpreter). None for any other layout or filter: read it through h5py."""
    plist = stream.id.get_create_plist()
    filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
    if stream.chunks != (1, *stream.shape[1:]) or filters not in ([], [h5py.h5z.FILTER_DEFLATE]):
        return None
    shape, size = stream.shape[1:], int(np.prod(stream.shape[1:]))

    def read(frame: int) -> np.ndarray:
        try:
            mask, data = stream.id.read_direct_chunk((frame, 0, 0, 0))
        except (KeyError, OSError, ValueError):  # a chunk never written: the fill value, from h5py
            return stream[frame]
        if filters and not mask & 1:  # bit 0 set: the deflate filter was skipped for this chunk
            data = zlib.decompress(data)
        if len(data) != size:
            return stream[frame]
        return np.frombuffer(bytearray(data), dtype=np.uint8).reshape(shape)

    return read


def open_episode(ref: SourceRef, videos: object) -> Hdf5Episode:
    return Hdf5Episode(ref.path)
