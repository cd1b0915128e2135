"""LeRobot datasets (codebase v3.0, and v2.0/v2.1), read with pyarrow and json, without `lerobot`.

Layouts, as LeRobot's `LeRobotDatasetMetadata` reads them:
- v3.0: `meta/info.json`, `meta/tasks.parquet`, `meta/episodes/chunk-*/file-*.parquet` (one row per
  episode; all files read), `data/chunk-*/file-*.parquet` (several episodes per file, rows selected by
  `episode_index`), `videos/<key>/chunk-*/file-*.mp4` (several episodes per file, each camera a window
  `[from_timestamp, to_timestamp)`); see lerobot_v30.py.
- v2.1: `meta/info.json`, `meta/episodes.jsonl`, `meta/tasks.jsonl`, `data/chunk-*/episode_*.parquet`,
  `videos/chunk-*/<key>/episode_*.mp4`; see lerobot_v21.py.

Cameras are the features of dtype "video" (AV1, H.264, HEVC, ... decoded by PyAV through the
`VideoFileCache`) or "image" (PNG bytes in the parquet). Frame n of a video camera is the frame whose
presentation time is nearest `from_timestamp + timestamp[n]` within `tolerance_s` (lerobot_video.py).
Standard arrays: `observation.state`, `action`, `timestamp` (float64, from the episode's first frame),
`observation.velocity` (`observation.velocity`/`observation.joint_velocities`), `observation.ee_pose`,
`observation.gripper` (an `observation.gripper` feature, else the state elements named like "gripper"),
`task_index`; everything else is listed unmapped in the scan's mapping.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from persistence.episode_sources.base import DatasetScan, EpisodeReader, EpisodeScan, SourceError, SourceRef
from persistence.episode_sources.lerobot_mapping import field_mapping
from persistence.episode_sources.lerobot_meta import INFO_PATH, V30, read_layout
from persistence.episode_sources.lerobot_reader import LeRobotEpisode
from persistence.episode_sources.lerobot_v21 import scan_v21
from persistence.episode_sources.lerobot_v30 import scan_v30
from persistence.video_files import VideoFileCache

FORMAT = "LEROBOT"
_SNIFF = 4096


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tolerance_s: float | None = Field(
        default=None,
        gt=0,
        description=(
            "Seconds a video frame's presentation time may differ from the time asked for a row "
            "(from_timestamp + timestamp); farther is an error, never another picture. "
            "Default (null): LeRobotDataset's own default, 1e-4 s."
        ),
    )


def detect(path: Path) -> bool:
    """A folder whose meta/info.json starts like LeRobot's (names a codebase_version). Never raises."""
    try:
        info = Path(path) / INFO_PATH
        if not info.is_file():
            return False
        with open(info, "rb") as f:
            head = f.read(_SNIFF)
        return b'"codebase_version"' in head and b"{" in head[:64]
    except OSError:
        return False


def scan(
    path: Path,
    options: Options,
    previous: Mapping[str, EpisodeScan] | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> DatasetScan:
    """Metadata only (info.json, the episode and task tables, parquet footers, file stats); never a frame.

    `previous` spares re-reading the footers of v2.1 data files (one episode per file) whose size and
    mtime are unchanged; v3.0 files hold many episodes and are read from their footers each time.
    Raises SourceError naming the file and the place in it for anything that does not match the format.
    """
    path = Path(path)
    if not path.is_dir():
        raise SourceError(path, "a LeRobot dataset is a folder with meta/info.json")
    layout = read_layout(path)
    if layout.version == V30:
        episodes, tasks, columns, extra = scan_v30(layout, options.tolerance_s, progress)
    else:
        episodes, tasks, columns, extra = scan_v21(layout, options.tolerance_s, previous, progress)
    return DatasetScan(
        format=FORMAT,
        name=path.name,
        fps=layout.fps,
        episodes=episodes,
        robot_type=layout.info.get("robot_type") or None,
        cameras=list(layout.cameras),
        joint_names=layout.joint_names,
        tasks=tasks,
        features=layout.features,
        format_version=str(layout.info.get("codebase_version")),
        mapping=field_mapping(layout, columns, extra),
    )


def open_episode(ref: SourceRef, videos: VideoFileCache) -> EpisodeReader:
    """The episode's rows (one pyarrow table, the row groups holding them only) and its cameras."""
    return LeRobotEpisode(ref, videos)
