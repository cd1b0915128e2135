"""A LeRobot camera's frames by time: frame n of an episode is the video frame whose presentation time is
nearest `from_timestamp + timestamp[n]`, as LeRobot's `decode_video_frames` picks it (PyAV backend:
decode, then argmin of |frame time - query|, the earlier frame on a tie), and only within `tolerance_s`
(LeRobot raises `FrameTimestampError` past it; so does this, as a SourceError naming the file and time).

Frame times come from `VideoFileCache.frame_times` (each packet's pts, by demuxing, never by counting
packets); the pictures from `VideoFileCache.read_frames` (seek to a keyframe, decode forward).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from persistence.episode_sources.base import SourceError
from persistence.video_files import VideoFileCache
from persistence.video_index import VideoError


class VideoTimes:
    """One camera of one episode: a video file and the episode's window `[start, stop)` in it (seconds of
    presentation time; `stop` None when the file is the episode's own, as in v2.1)."""

    def __init__(
        self, path: Path, key: str, start: float, stop: float | None, fps: float, videos: VideoFileCache
    ) -> None:
        self.path, self.key, self.start, self.stop, self.fps, self.videos = (
            path,
            key,
            start,
            stop,
            fps,
            videos,
        )
        self._picks: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # index, distance, query

    def _frame_times(self) -> np.ndarray:
        if not self.path.is_file():
            raise SourceError(self.path, "video file missing", self.key)
        try:
            return self.videos.frame_times(self.path)
        except VideoError as exc:
            raise SourceError(self.path, exc.problem, self.key) from None

    def _compute(self, stamps: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        times = self._frame_times()
        candidates = np.arange(len(times))
        if self.stop is not None:
            # Only the episode's own frames (k / fps after `start`, k < frames): a query past the window
            # must not land on the next episode's first frame, which LeRobot would return.
            half = 0.5 / self.fps
            candidates = np.flatnonzero((times >= self.start - half) & (times < self.stop - half))
            if not len(candidates):
                raise SourceError(
                    self.path,
                    f"no frame in the episode's window {self.start:.6f}..{self.stop:.6f} s",
                    self.key,
                )
        shown = times[candidates]
        queries = self.start + stamps
        right = np.clip(np.searchsorted(shown, queries), 0, len(shown) - 1)
        left = np.clip(right - 1, 0, len(shown) - 1)
        take_left = np.abs(queries - shown[left]) <= np.abs(shown[right] - queries)
        chosen = np.where(take_left, left, right)
        return candidates[chosen], np.abs(shown[chosen] - queries), queries

    def nearest(self, stamps: np.ndarray, indices: list[int], tolerance: float, episode: int) -> list[int]:
        """The file's frame index for each episode frame in `indices`; `stamps` are the episode's stored
        timestamps (seconds)."""
        if self._picks is None:
            self._picks = self._compute(stamps)
        picks, distance, queries = self._picks
        for n in indices:
            if distance[n] > tolerance:
                raise SourceError(
                    self.path,
                    f"no frame within {tolerance:.6f} s of {queries[n]:.6f} s (frame {n} of episode "
                    f"{episode}; the nearest is {distance[n]:.6f} s away): the video is shorter than the "
                    "episode or out of sync with its timestamps",
                    self.key,
                )
        return [int(picks[n]) for n in indices]

    def read(self, picks: list[int]) -> list[np.ndarray]:
        try:
            return self.videos.read_frames(self.path, picks)
        except VideoError as exc:
            raise SourceError(self.path, exc.problem, self.key) from None
        except FileNotFoundError:
            raise SourceError(self.path, "video file missing", self.key) from None
