"""Parquet access shared by every LeRobot reader of a process: footers cached per file version, and row
groups' columns cached up to a byte budget, so that the episodes sharing a v3.0 data file (LeRobot's
converter writes a file as one row group of up to a million rows) do not each read it again.

Every cache is keyed by (path, mtime_ns, size): a file rewritten on disk is read afresh. Thread-safe;
loading happens outside the locks (two threads may load the same entry once each, never wrongly).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from persistence.episode_sources.base import SourceError

T = TypeVar("T")
# Decoded row-group columns kept for all readers together (bytes, as pyarrow counts them).
COLUMN_CACHE_BYTES = 256 * 2**20


def version(path: Path) -> tuple[str, int, int]:
    st = os.stat(path)
    return str(path), st.st_mtime_ns, st.st_size


class Lru:
    """A thread-safe LRU bounded by entry count and by a total of `weight(value)`."""

    def __init__(
        self, size: int, budget: float = float("inf"), weight: Callable[[Any], int] = lambda _: 0
    ) -> None:
        self._size, self._budget, self._weight = size, budget, weight
        self._items: OrderedDict[tuple, tuple[Any, int]] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    def get(self, key: tuple, load: Callable[[], T]) -> T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key][0]
        value = load()
        weight = self._weight(value)
        if weight > self._budget:
            return value  # larger than the whole budget: used once, not kept
        with self._lock:
            if key not in self._items:
                self._items[key] = (value, weight)
                self._total += weight
            while len(self._items) > self._size or self._total > self._budget:
                self._total -= self._items.popitem(last=False)[1][1]
        return value


_footers = Lru(4096)
_columns = Lru(100_000, COLUMN_CACHE_BYTES, lambda array: array.nbytes)


def footer(path: Path) -> pq.FileMetaData:
    """A parquet file's footer (schema, row groups and their statistics)."""
    if not path.is_file():
        raise SourceError(path, "data file missing")

    def load() -> pq.FileMetaData:
        try:
            return pq.read_metadata(path)
        except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ... for a damaged file
            raise SourceError(path, f"unreadable parquet file ({exc})") from None

    return _footers.get(version(path), load)


def group_column(file: pq.ParquetFile, path: Path, group: int, column: str) -> pa.Array:
    """One column of one row group, decoded (shared between readers of the same file)."""

    def load() -> pa.Array:
        try:
            return file.read_row_group(group, columns=[column]).column(0).combine_chunks()
        except Exception as exc:
            raise SourceError(path, f"unreadable rows of row group {group} ({exc})", column) from None

    return _columns.get((*version(path), group, column), load)


def leaf_index(meta: pq.FileMetaData, column: str) -> int | None:
    """The leaf column a top-level scalar column is (statistics are per leaf: lists and structs before it
    shift the numbering)."""
    paths = [meta.schema.column(i).path for i in range(meta.num_columns)]
    return paths.index(column) if column in paths else None


def to_numpy(column: pa.ChunkedArray | pa.Array, path: Path, key: str) -> np.ndarray:
    """A column of numbers, fixed or equal-length lists (nested too) as an N x ... numpy array."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if array.null_count:
        raise SourceError(path, f"{array.null_count} null values", key)
    dims: list[int] = []
    values: pa.Array = array
    while (
        pa.types.is_fixed_size_list(values.type)
        or pa.types.is_list(values.type)
        or pa.types.is_large_list(values.type)
    ):
        if pa.types.is_fixed_size_list(values.type):
            size = values.type.list_size
        else:
            lengths = np.unique(values.value_lengths().to_numpy(zero_copy_only=False))
            if len(lengths) > 1:
                raise SourceError(path, f"rows of different lengths ({', '.join(map(str, lengths))})", key)
            size = int(lengths[0]) if len(lengths) else 0
        dims.append(size)
        values = values.flatten()
        if values.null_count:
            raise SourceError(path, f"{values.null_count} null values", key)
    kind = values.type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)):
        raise SourceError(path, f"parquet type {array.type} is not numeric", key)
    return values.to_numpy(zero_copy_only=False).reshape(len(array), *dims)
