"""Open episodes kept between requests: an LRU of readers, reopened when the episode's main file
changes on disk. A reader that says it is thread-safe (`thread_safe = True`: HDF5, whose library
serialises its own calls) is used by any number of threads at once; any other reader holds a lock per
episode. A reader evicted while threads use it is closed when the last of them is done. Every method
blocks: run it in a worker thread.

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
    users: int = 0  # threads inside `reader()` now (changed under the cache's lock)
    retired: bool = False  # evicted or replaced: closed once `users` is back to 0
    shared: bool = False  # the reader is thread-safe: no per-episode lock

    def __post_init__(self) -> None:
        self.shared = bool(getattr(self.reader, "thread_safe", False))


class EpisodeReaders:
    """Keeps up to `size` episodes open (LRU); videos are decoded through one VideoFileCache."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._open: OrderedDict[SourceRef, _Open] = OrderedDict()
        self._lock = threading.Lock()
        self.videos = VideoFileCache(max(4, size // 4))

    def _get(self, ref: SourceRef) -> _Open:
        """The open entry of `ref` with one more user (release it with `_release`)."""
        mtime = ref.path.stat().st_mtime
        retired = []
        with self._lock:
            entry = self._open.get(ref)
            if entry is not None and entry.mtime == mtime:
                self._open.move_to_end(ref)
                entry.users += 1
                return entry
            if entry is not None:
                self._open.pop(ref)
                retired.append(entry)
        self._close_retired(retired)
        # Opening may read a whole index (a bag's, a parquet footer): not under the cache's lock.
        fresh = _Open(module(ref.format).open_episode(ref, self.videos), mtime)
        with self._lock:
            entry = self._open.get(ref)
            if entry is not None and entry.mtime == mtime:  # another thread opened it meanwhile
                entry.users += 1
                unused = fresh
            else:
                entry, unused = fresh, None
                entry.users += 1
                self._open[ref] = entry
                while len(self._open) > self._size:
                    retired.append(self._open.popitem(last=False)[1])
        if unused is not None:
            unused.reader.close()
        self._close_retired(retired)
        return entry

    def _close_retired(self, entries: list[_Open]) -> None:
        """Mark `entries` retired and close those no thread uses; the others close on release."""
        idle = []
        with self._lock:
            for entry in entries:
                entry.retired = True
                if entry.users == 0:
                    idle.append(entry)
        for entry in idle:
            self._close(entry)

    def _release(self, entry: _Open) -> None:
        with self._lock:
            entry.users -= 1
            close = entry.retired and entry.users == 0
        if close:
            self._close(entry)

    @staticmethod
    def _close(entry: _Open) -> None:
        with entry.lock:
            entry.reader.close()

    @contextmanager
    def reader(self, ref: SourceRef) -> Iterator[EpisodeReader]:
        entry = self._get(ref)
        try:
            if entry.shared:
                yield entry.reader
            else:
                with entry.lock:
                    yield entry.reader
        finally:
            self._release(entry)

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
        self._close_retired(entries)
        self.videos.close()


_process_readers: EpisodeReaders | None = None


def process_readers() -> EpisodeReaders:
    """This process's cache (worker processes: made on first use, kept for the process's life)."""
    global _process_readers
    if _process_readers is None:
        _process_readers = EpisodeReaders(8)
    return _process_readers
