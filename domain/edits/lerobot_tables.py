"""The parquet files of a LeRobot v3.0 dataset, written with pyarrow as LeRobot's writer lays them out.

- `data/chunk-CCC/file-FFF.parquet`: one row group per episode (LeRobot writes each episode with one
  `write_table`), snappy, dictionary encoding, the `huggingface` schema metadata that `datasets` reads
  the features from. A file is closed and the next one started when its size on disk plus the coming
  episode's estimate (the file's bytes per frame x its frames) reaches `data_files_size_in_mb`, as
  LeRobot's `_save_episode_data` decides.
- `meta/episodes/chunk-CCC/file-FFF.parquet`: one row per episode, written 10 rows at a time (LeRobot's
  metadata buffer), rotated by the same size limit (estimate: the file's bytes per row; LeRobot divides
  by the last episode index instead, which only rotates earlier).
- `meta/tasks.parquet` and `meta/subtasks.parquet`: a pandas frame's layout (the text is the index,
  `__index_level_0__`, with the `pandas` schema metadata), so that LeRobot's `pd.read_parquet` gives
  `tasks.loc[text]` and `subtasks.iloc[i].name` as it expects; written without pandas.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from domain.edits.lerobot_video import MB, next_file

DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
EPISODES_PATH = "meta/episodes/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
EPISODE_ROWS_BUFFERED = 10
_ARROW = {
    "float32": pa.float32(),
    "float64": pa.float64(),
    "int64": pa.int64(),
    "int32": pa.int32(),
    "bool": pa.bool_(),
    "string": pa.string(),
}


def arrow_type(dtype: str) -> pa.DataType:
    try:
        return _ARROW[dtype]
    except KeyError:
        raise ValueError(f"dtype {dtype!r}: expected one of {', '.join(_ARROW)}") from None


def data_schema(features: Mapping[str, tuple[str, int]]) -> pa.Schema:
    """Schema of the data files: feature -> (dtype, width); width 1 is a scalar column, more a
    fixed-size list (LeRobot's `datasets.Value` and `datasets.List(length=...)`)."""
    fields: list[pa.Field] = []
    described: dict[str, dict[str, object]] = {}
    for name, (dtype, width) in features.items():
        value: dict[str, object] = {"dtype": dtype, "_type": "Value"}
        if width == 1:
            fields.append(pa.field(name, arrow_type(dtype)))
            described[name] = value
        else:
            fields.append(pa.field(name, pa.list_(arrow_type(dtype), width)))
            described[name] = {"feature": value, "length": width, "_type": "List"}
    meta = {"huggingface": json.dumps({"info": {"features": described}})}
    return pa.schema(fields, metadata=meta)


class RotatingParquet:
    """Parquet files named by `pattern` (chunk_index, file_index), one open at a time, the next one
    started when `size on disk + per-unit size x coming units` reaches the limit."""

    def __init__(self, root: Path, pattern: str, schema: pa.Schema, chunks_size: int, size_mb: float) -> None:
        self._root, self._pattern, self.schema = root, pattern, schema
        self._chunks_size, self._limit = chunks_size, size_mb * MB
        self.chunk, self.file = 0, 0
        self._writer: pq.ParquetWriter | None = None
        self._path: Path | None = None
        self._units = 0  # frames or rows in the open file
        self.files: list[Path] = []

    def full(self, units: int) -> bool:
        """Whether `units` more frames (rows) would take the open file to the limit."""
        if self._writer is None or not self._units:
            return False
        assert self._path is not None
        size = os.path.getsize(self._path)
        return size + size / self._units * units >= self._limit

    def rotate(self) -> None:
        """Close the open file: the next write starts the next one."""
        self._close()
        self.chunk, self.file = next_file(self.chunk, self.file, self._chunks_size)

    def write(self, table: pa.Table, units: int) -> None:
        if self._writer is None:
            self._path = self._root / self._pattern.format(chunk_index=self.chunk, file_index=self.file)
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(
                self._path, self.schema, compression="snappy", use_dictionary=True
            )
            self._units = 0
            self.files.append(self._path)
        self._writer.write_table(table)
        self._units += units

    def close(self) -> None:
        self._close()

    def _close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()


class EpisodeTable:
    """`meta/episodes/...`: rows buffered 10 at a time; each row's `meta/episodes/chunk_index` and
    `file_index` name the file it lands in."""

    def __init__(self, root: Path, schema: pa.Schema, chunks_size: int, size_mb: float) -> None:
        self._files = RotatingParquet(root, EPISODES_PATH, schema, chunks_size, size_mb)
        self._rows: list[dict] = []

    @property
    def files(self) -> list[Path]:
        return self._files.files

    def add(self, row: dict) -> None:
        """`row` without its meta/episodes/* columns, which are set here."""
        if self._files.full(1):
            self.flush()
            self._files.rotate()
        where = {"meta/episodes/chunk_index": self._files.chunk, "meta/episodes/file_index": self._files.file}
        self._rows.append(row | where)
        if len(self._rows) >= EPISODE_ROWS_BUFFERED:
            self.flush()

    def flush(self) -> None:
        if self._rows:
            table = pa.Table.from_pylist(self._rows, schema=self._files.schema)
            self._files.write(table, len(self._rows))
            self._rows = []

    def close(self) -> None:
        self.flush()
        self._files.close()


def write_indexed_table(path: Path, index: Sequence[str], columns: Mapping[str, pa.Array]) -> None:
    """A table as pandas' `DataFrame(columns, index=index).to_parquet(path)` writes it: the columns,
    then the index as `__index_level_0__`, and the `pandas` schema metadata naming it the index."""
    described = [
        {"name": name, "field_name": name, **_pandas_type(array.type), "metadata": None}
        for name, array in columns.items()
    ]
    described.append(
        {
            "name": None,
            "field_name": "__index_level_0__",
            "pandas_type": "object",
            "numpy_type": "str",
            "metadata": None,
        }
    )
    pandas = {
        "index_columns": ["__index_level_0__"],
        "column_indexes": [
            {
                "name": None,
                "field_name": None,
                "pandas_type": "unicode",
                "numpy_type": "str",
                "metadata": {"encoding": "UTF-8"},
            }
        ],
        "columns": described,
        "attributes": {},
        "creator": {"library": "pyarrow", "version": pa.__version__},
        "pandas_version": "3.1.1",
    }
    arrays = [*columns.values(), pa.array(list(index), pa.large_string())]
    names = [*columns, "__index_level_0__"]
    table = pa.Table.from_arrays(arrays, names=names).replace_schema_metadata({"pandas": json.dumps(pandas)})
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="snappy")


def _pandas_type(kind: pa.DataType) -> dict[str, str]:
    if pa.types.is_integer(kind):
        return {"pandas_type": "int64", "numpy_type": "int64"}
    if pa.types.is_floating(kind):
        return {"pandas_type": "float64", "numpy_type": "float64"}
    if pa.types.is_boolean(kind):
        return {"pandas_type": "bool", "numpy_type": "bool"}
    return {"pandas_type": "unicode", "numpy_type": "object"}
