"""An uploaded video (`uploadVideo`) as an episode: one camera `video`, frame times as its only
trajectory data. Frames are decoded by presentation-order index (persistence/video_files.py) and shown
as a player shows them (turned by the display matrix); episode time counts from the first frame, since
a recording cut from a longer one keeps its original timestamps (e.g. from 0.5 s)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict

from persistence.episode_sources.base import SourceError, SourceRef, check_frames, unknown_camera
from persistence.video_files import VideoFileCache
from persistence.video_index import VideoError

FORMAT = "VIDEO"
CAMERA = "video"
SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi")


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")


def detect(path: Path) -> bool:
    return False  # videos arrive through uploadVideo, which probes them fully


class VideoEpisode:
    def __init__(self, path: Path, videos: VideoFileCache) -> None:
        self.path, self.videos = path, videos
        try:
            times = videos.frame_times(path)
        except VideoError as exc:
            raise SourceError(path, exc.problem, CAMERA) from None
        self._times = times - times[0]  # seconds since the first frame

    @property
    def length(self) -> int:
        return len(self._times)

    def cameras(self) -> dict[str, tuple[int, int, int]]:
        height, width = self.frames(CAMERA, [0])[0].shape[:2]
        return {CAMERA: (self.length, int(height), int(width))}

    def arrays(self, names: Sequence[str], selection: slice) -> dict[str, np.ndarray]:
        return {"timestamp": self._times[selection]} if "timestamp" in names else {}

    def frames(self, camera: str, indices: Sequence[int]) -> list[np.ndarray]:
        if camera != CAMERA:
            raise unknown_camera(camera, [CAMERA])
        check_frames(camera, self.length, indices)
        try:
            return self.videos.read_frames(self.path, [int(i) for i in indices], display=True)
        except VideoError as exc:  # a file changed or damaged since it was accepted: say so, not a crash
            raise SourceError(self.path, exc.problem, CAMERA) from None

    def close(self) -> None:
        pass  # the shared VideoFileCache owns the open files


def open_episode(ref: SourceRef, videos: VideoFileCache) -> VideoEpisode:
    return VideoEpisode(ref.path, videos)
