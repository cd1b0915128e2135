"""Open episodes kept between requests: an LRU of readers, one lock each, reopened when the
episode's main file changes on disk. Every method blocks: run it in a worker thread.

Worker processes (analysis, detection, export) use `process_readers()`, their own cache."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from persistence.episode_sources.base import EpisodeReader, SourceRef
from persistence.episode_sources.formats import module
from persistence.video_files import VideoFileCache


@dataclass
class _Open:
    reader: EpisodeReader
    mtime: float
    lock: threading.Lock = field(default_factory=threading.Lock)


class EpisodeReaders:
    """Keeps up to `size` episodes open (LRU); videos are decoded through one VideoFileCache."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._open: OrderedDict[SourceRef, _Open] = OrderedDict()
        self._lock = threading.Lock()
        self.videos = VideoFileCache(max(4, size // 4))

    def _get(self, ref: SourceRef) -> _Open:
        mtime = ref.path.stat().st_mtime
        with self._lock:
            entry = self._open.get(ref)
            if entry is not None and entry.mtime == mtime:
                self._open.move_to_end(ref)
                return entry
            if entry is not None:
                self._open.pop(ref)
                self._retire(entry)
        # Opening may read a whole index (a bag's, a parquet footer): not under the cache's lock.
        fresh = _Open(module(ref.format).open_episode(ref, self.videos), mtime)
        with self._lock:
            entry = self._open.get(ref)
            if entry is not None and entry.mtime == mtime:  # another thread opened it meanwhile
                fresh.reader.close()
                return entry
            self._open[ref] = fresh
            while len(self._open) > self._size:
                _, old = self._open.popitem(last=False)
                self._retire(old)
            return fresh

    @staticmethod
    def _retire(entry: _Open) -> None:
        with entry.lock:
            entry.reader.close()

    @contextmanager
    def reader(self, ref: SourceRef) -> Iterator[EpisodeReader]:
        entry = self._get(ref)
        with entry.lock:
            yield entry.reader

    def read_frame(self, ref: SourceRef, camera: str, frame: int) -> np.ndarray:
        """Frame `frame` of `camera` as H x W x 3 uint8 RGB (FrameRequestError when absent)."""
        with self.reader(ref) as reader:
            return reader.frames(camera, [frame])[0]

    def read_frames(self, ref: SourceRef, camera: str, frames: Sequence[int]) -> list[np.ndarray]:
        with self.reader(ref) as reader:
            return reader.frames(camera, list(frames))

    def read_arrays(self, ref: SourceRef, names: Sequence[str], selection: slice) -> dict[str, np.ndarray]:
        """The named standard arrays over `selection`; names the episode lacks are left out."""
        with self.reader(ref) as reader:
            return reader.arrays(list(names), selection)

    def close(self) -> None:
        with self._lock:
            entries = list(self._open.values())
            self._open.clear()
        for entry in entries:
            self._retire(entry)
        self.videos.close()


_process_readers: EpisodeReaders | None = None


def process_readers() -> EpisodeReaders:
    """This process's cache (worker processes: made on first use, kept for the process's life)."""
    global _process_readers
    if _process_readers is None:
        _process_readers = EpisodeReaders(8)
    return _process_readers
