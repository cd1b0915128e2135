"""Encoded camera frames (JPEG bytes) kept by their ETag: a bounded LRU in memory and, when a folder is
set, a bounded LRU of files that outlives the process.

A key names one rendering for good (the ETag carries the episode file's indexed version, the camera,
frame, width, quality and any edits' version), so an entry never goes stale: a changed file is a new
ETag once it is re-indexed, and the old entry just ages out. Sizes are bytes of JPEG data.

`get` (memory only) never blocks and may run on the event loop; `load` and `store` touch the disk
folder and block: run them in a worker thread. All methods are thread-safe.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path

SUFFIX = ".jpg"


class _Lru:
    """Keys -> sizes in bytes, least recently used first, with their total."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.sizes: OrderedDict[str, int] = OrderedDict()
        self.total = 0

    def add(self, key: str, size: int) -> list[str]:
        """Record `key`; return the keys evicted to stay within the limit (never `key` itself unless
        it alone is over the limit)."""
        self.total -= self.sizes.pop(key, 0)
        self.sizes[key] = size
        self.total += size
        evicted = []
        while self.total > self.limit and self.sizes:
            old, old_size = self.sizes.popitem(last=False)
            self.total -= old_size
            evicted.append(old)
        return evicted

    def touch(self, key: str) -> None:
        self.sizes.move_to_end(key)

    def drop(self, key: str) -> None:
        self.total -= self.sizes.pop(key, 0)


class FrameCache:
    """At most `memory_bytes` of JPEG data in memory (0: none) and, with `folder`, at most `disk_bytes`
    in files named by a hash of the key (written atomically; found again after a restart)."""

    def __init__(self, memory_bytes: int, folder: Path | None = None, disk_bytes: int = 0) -> None:
        self._lock = threading.Lock()
        self._memory: dict[str, bytes] = {}
        self._memory_lru = _Lru(memory_bytes)
        self.folder = folder
        self._disk_lru = _Lru(disk_bytes)
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            self._index_folder(folder)

    def _index_folder(self, folder: Path) -> None:
        """The files a previous run left, oldest first (by modification time), trimmed to the limit."""
        found = []
        for entry in os.scandir(folder):
            if entry.name.endswith(SUFFIX) and entry.is_file():
                stat = entry.stat()
                found.append((stat.st_mtime, entry.name, stat.st_size))
            elif entry.name.endswith(".partial"):  # a write a killed process left half done
                Path(entry.path).unlink(missing_ok=True)
        for _, name, size in sorted(found):
            for old in self._disk_lru.add(name, size):
                (folder / old).unlink(missing_ok=True)

    @property
    def memory_bytes(self) -> int:
        """Bytes held in memory now."""
        return self._memory_lru.total

    @property
    def disk_bytes(self) -> int:
        """Bytes held in the folder now (0 without one)."""
        return self._disk_lru.total

    def __len__(self) -> int:
        return len(self._memory)

    def get(self, key: str) -> bytes | None:
        """The bytes in memory for `key`, or None. Never blocks."""
        with self._lock:
            data = self._memory.get(key)
            if data is not None:
                self._memory_lru.touch(key)
            return data

    def _remember(self, key: str, data: bytes) -> None:
        with self._lock:
            if len(data) > self._memory_lru.limit:
                return
            self._memory[key] = data
            for old in self._memory_lru.add(key, len(data)):
                del self._memory[old]

    @staticmethod
    def file_name(key: str) -> str:
        return hashlib.blake2b(key.encode(), digest_size=16).hexdigest() + SUFFIX

    def load(self, key: str) -> bytes | None:
        """Memory, then the folder (a file found is kept in memory too); None when neither has it.
        Blocks (reads a file): run it in a worker thread."""
        data = self.get(key)
        if data is not None or self.folder is None:
            return data
        name = self.file_name(key)
        with self._lock:
            known = name in self._disk_lru.sizes
        if not known:
            return None
        try:
            data = (self.folder / name).read_bytes()
        except FileNotFoundError:  # removed behind our back
            with self._lock:
                self._disk_lru.drop(name)
            return None
        with self._lock:
            self._disk_lru.touch(name)
        self._remember(key, data)
        return data

    def store(self, key: str, data: bytes) -> None:
        """Keep `data` for `key` in memory and, with a folder, in a file (evicting the least recently
        used beyond either limit). Blocks (writes a file): run it in a worker thread."""
        self._remember(key, data)
        if self.folder is None or len(data) > self._disk_lru.limit:
            return
        name = self.file_name(key)
        path = self.folder / name
        partial = path.with_name(f"{name}.{threading.get_ident()}.partial")
        partial.write_bytes(data)
        os.replace(partial, path)
        with self._lock:
            evicted = self._disk_lru.add(name, len(data))
        for old in evicted:
            (self.folder / old).unlink(missing_ok=True)
