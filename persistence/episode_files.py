"""The HDF5 episode layout (DESIGN.md): reading dataset folders and episode files.

Indexing reads headers only (shapes, attributes, timestamps), never frames. Serving reads
slices through `EpisodeFileCache`, which keeps files open between requests. Every function
here blocks: callers run it in a worker thread, never on the event loop.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

IMAGE_PREFIX = "observation.images."
# Datasets of the layout other than camera streams; all optional except that some frame count must exist.
TRAJECTORY_DATASETS = (
    "timestamp",
    "action",
    "observation.state",
    "observation.velocity",
    "observation.ee_pose",
    "observation.gripper",
)
EPISODE_GLOB = "episode_*.hdf5"


class EpisodeFileError(Exception):
    """A dataset folder or episode file cannot be used; `path` names the file at fault."""

    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    fps: float
    robot_type: str | None
    cameras: list[str]
    joint_names: list[str]
    tasks: list[tuple[int, str]]
    features: dict


@dataclass(frozen=True)
class EpisodeHeader:
    index: int
    file: str
    length: int
    duration: float
    task_index: int | None
    cameras: dict[str, list[int]]  # camera -> [frames, height, width]
    missing: list[str]
    file_size: int
    file_mtime: float


def read_info(folder: Path) -> DatasetInfo:
    info_path = folder / "info.json"
    if not info_path.is_file():
        raise EpisodeFileError(info_path, "missing info.json")
    try:
        info = json.loads(info_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EpisodeFileError(info_path, f"unreadable info.json ({exc})") from None
    if not isinstance(info, dict):
        raise EpisodeFileError(info_path, "info.json must hold an object")
    fps = info.get("fps")
    if not isinstance(fps, (int, float)) or isinstance(fps, bool) or fps <= 0:
        raise EpisodeFileError(info_path, "info.json needs a positive number 'fps'")
    features = info.get("features") or {}
    cameras = info.get("cameras")
    if cameras is None:
        cameras = [k[len(IMAGE_PREFIX) :] for k in features if k.startswith(IMAGE_PREFIX)]
    tasks = []
    for position, task in enumerate(info.get("tasks") or []):
        if isinstance(task, str):
            tasks.append((position, task))
        elif isinstance(task, dict) and "description" in task:
            tasks.append((int(task.get("index", position)), str(task["description"])))
        else:
            raise EpisodeFileError(info_path, f"info.json tasks[{position}] needs a 'description'")
    return DatasetInfo(
        name=str(info.get("name") or folder.name),
        fps=float(fps),
        robot_type=info.get("robot_type"),
        cameras=[str(c) for c in cameras],
        joint_names=[str(j) for j in info.get("joint_names") or []],
        tasks=tasks,
        features=features if isinstance(features, dict) else {},
    )


def list_episode_files(folder: Path) -> list[Path]:
    episodes = folder / "episodes"
    if not episodes.is_dir():
        raise EpisodeFileError(episodes, "missing episodes/ folder")
    return sorted(episodes.glob(EPISODE_GLOB))


def episode_index(path: Path) -> int:
    try:
        return int(path.stem.rsplit("_", 1)[1])
    except (IndexError, ValueError):
        raise EpisodeFileError(path, "file name must be episode_<number>.hdf5") from None


def scan_episode(folder: Path, path: Path, fps: float) -> EpisodeHeader:
    """Read one episode's shapes and attributes; raise EpisodeFileError naming what is wrong."""
    relative = path.relative_to(folder)
    try:
        with h5py.File(path, "r") as f:
            lengths = {name: f[name].shape[0] for name in TRAJECTORY_DATASETS if name in f and f[name].ndim}
            cameras = {}
            for name in f:
                if name.startswith(IMAGE_PREFIX):
                    shape = f[name].shape
                    if len(shape) != 4 or shape[3] != 3:
                        raise EpisodeFileError(relative, f"{name} must be N x H x W x 3, found {shape}")
                    cameras[name[len(IMAGE_PREFIX) :]] = [int(shape[0]), int(shape[1]), int(shape[2])]
            if not lengths and not cameras:
                raise EpisodeFileError(relative, "holds no timestamp, state or camera dataset")
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
            task_index = int(task) if task is not None else None
    except EpisodeFileError:
        raise
    except (OSError, KeyError, ValueError) as exc:
        raise EpisodeFileError(relative, f"unreadable or truncated HDF5 file ({exc})") from None
    stat = path.stat()
    return EpisodeHeader(
        index=episode_index(path),
        file=str(relative),
        length=int(length),
        duration=duration,
        task_index=task_index,
        cameras=cameras,
        missing=[name for name in TRAJECTORY_DATASETS if name not in lengths],
        file_size=stat.st_size,
        file_mtime=stat.st_mtime,
    )


@dataclass
class _OpenFile:
    handle: h5py.File
    mtime: float
    lock: threading.Lock = field(default_factory=threading.Lock)


# An episode made from an uploaded video is the video file itself: one camera, no trajectory.
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi")
VIDEO_CAMERA = "video"


def is_video_file(path: Path | str) -> bool:
    return str(path).lower().endswith(VIDEO_SUFFIXES)


class FrameRequestError(LookupError):
    """A camera or frame the episode file does not have; `what` is "camera" or "frames"."""

    def __init__(self, message: str, what: str) -> None:
        super().__init__(message)
        self.what = what


def read_camera_frames(path: Path | str, camera: str, frames: Sequence[int], videos) -> list[np.ndarray]:
    """The RGB frames (H × W × 3 uint8) of `camera`, in the order asked, from an HDF5 episode or (through
    `videos`, a VideoFileCache) a video episode; FrameRequestError names what is missing."""
    if is_video_file(path):
        if camera != VIDEO_CAMERA:
            raise FrameRequestError(
                f"the episode has no camera {camera!r} (it has: {VIDEO_CAMERA})", "camera"
            )
        try:
            return videos.read_frames(path, list(frames))
        except IndexError as exc:
            raise FrameRequestError(str(exc), "frames") from None
    with h5py.File(Path(path), "r") as f:
        key = IMAGE_PREFIX + camera
        if key not in f:
            cameras = sorted(n[len(IMAGE_PREFIX) :] for n in f if n.startswith(IMAGE_PREFIX))
            raise FrameRequestError(
                f"the episode has no camera {camera!r} (it has: {', '.join(cameras) or 'none'})", "camera"
            )
        stream = f[key]
        if stream.ndim != 4 or stream.shape[3] != 3 or stream.dtype != np.uint8:
            raise ValueError(
                f"{path}: {key} must be N × H × W × 3 uint8, found {stream.shape} {stream.dtype}"
            )
        count = stream.shape[0]
        for frame in frames:
            if not 0 <= frame < count:
                raise FrameRequestError(
                    f"frame {frame} is out of range: camera {camera!r} has {count} frames (0..{count - 1})",
                    "frames",
                )
        # One read per frame: the layout stores one frame per chunk, and the frames need not be sorted.
        return [stream[frame] for frame in frames]


class EpisodeFileCache:
    """Keeps up to `size` episode files open (LRU); a file changed on disk is reopened. Video
    episodes go to a VideoFileCache (decoding by index with seeking)."""

    def __init__(self, size: int = 64) -> None:
        from persistence.video_files import VideoFileCache

        self._size = size
        self._files: OrderedDict[Path, _OpenFile] = OrderedDict()
        self._lock = threading.Lock()
        self.videos = VideoFileCache(max(4, size // 4))

    def _get(self, path: Path) -> _OpenFile:
        mtime = path.stat().st_mtime
        with self._lock:
            entry = self._files.get(path)
            if entry is not None and entry.mtime == mtime:
                self._files.move_to_end(path)
                return entry
            if entry is not None:
                self._files.pop(path)
                entry.handle.close()
            entry = _OpenFile(h5py.File(path, "r"), mtime)
            self._files[path] = entry
            while len(self._files) > self._size:
                _, old = self._files.popitem(last=False)
                with old.lock:
                    old.handle.close()
            return entry

    def read_frame(self, path: Path, camera: str, frame: int) -> np.ndarray:
        if is_video_file(path):
            return self.videos.read_frame(path, frame)
        entry = self._get(path)
        with entry.lock:
            return entry.handle[IMAGE_PREFIX + camera][frame]

    def read_arrays(self, path: Path, names: list[str], selection: slice) -> dict[str, np.ndarray]:
        """The named datasets over `selection` of frames; names absent from the file are left out."""
        if is_video_file(path):  # a video has frame times and nothing else
            from persistence.video_index import frame_times

            return {"timestamp": frame_times(path)[selection]} if "timestamp" in names else {}
        entry = self._get(path)
        with entry.lock:
            f = entry.handle
            return {name: f[name][selection] for name in names if name in f}

    def close(self) -> None:
        with self._lock:
            for entry in self._files.values():
                entry.handle.close()
            self._files.clear()
        self.videos.close()
