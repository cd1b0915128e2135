"""LeRobot v3.0 metadata: `meta/tasks.parquet`, every `meta/episodes/**/*.parquet`, and the footers of
`data/chunk-*/file-*.parquet` (several episodes per data file and per video file).

As in LeRobot's `LeRobotDatasetMetadata`: an episode's rows are in the data file named by its
`data/chunk_index`/`data/file_index`, at global rows `[dataset_from_index, dataset_to_index)`; each camera's
frames are the window `[from_timestamp, to_timestamp)` of `videos/<key>/chunk-*/file-*.mp4`. The episode
tables' `stats/*` columns are never read.
"""

from __future__ import annotations

import bisect
import itertools
import json
import os
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from persistence.episode_sources.base import EpisodeScan, FieldMapping, SourceError, episode_sort_key
from persistence.episode_sources.lerobot_meta import Layout, episode_scan, reporter, stat_file
from persistence.episode_sources.lerobot_parquet import footer, leaf_index

EPISODES_DIR = "meta/episodes"
TASKS_PATH = "meta/tasks.parquet"
_WINDOW = ("chunk_index", "file_index", "from_timestamp", "to_timestamp")


def read_tasks(layout: Layout) -> dict[str, int]:
    """Task string -> task_index from meta/tasks.parquet (the string is a `task` column or, as LeRobot's
    pandas writer leaves it, the frame's index column)."""
    path = layout.root / TASKS_PATH
    stat_file(path, "missing: a v3.0 dataset lists its tasks in meta/tasks.parquet")
    try:
        table = pq.read_table(path)
    except Exception as exc:
        raise SourceError(path, f"unreadable parquet file ({exc})") from None
    index_columns = _pandas_index(table.schema)
    text = next(
        (
            c
            for c in ("task", *index_columns)
            if c in table.column_names and _is_text(table.schema.field(c).type)
        ),
        None,
    )
    if text is None or "task_index" not in table.column_names:
        raise SourceError(path, "needs a task_index column and the task strings (task or the index)", "task")
    tasks: dict[str, int] = {}
    for value, index in zip(
        table.column(text).to_pylist(), table.column("task_index").to_pylist(), strict=True
    ):
        if not isinstance(value, str) or not isinstance(index, int):
            raise SourceError(path, f"task {value!r} with task_index {index!r}", "task_index")
        tasks[value] = index
    return tasks


def _pandas_index(schema: pa.Schema) -> list[str]:
    try:
        meta = json.loads((schema.metadata or {}).get(b"pandas", b"{}"))
        return [c for c in meta.get("index_columns", []) if isinstance(c, str)]
    except (ValueError, AttributeError):
        return []


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _episode_tables(layout: Layout) -> list[tuple[Path, dict[str, list]]]:
    folder = layout.root / EPISODES_DIR
    files = sorted(folder.rglob("*.parquet"), key=lambda p: episode_sort_key(str(p.relative_to(folder))))
    if not files:
        raise SourceError(
            folder, "no episode tables: a v3.0 dataset has meta/episodes/chunk-*/file-*.parquet"
        )
    required = ["episode_index", "length", "data/chunk_index", "data/file_index"]
    required += [f"videos/{c.key}/{w}" for c in layout.cameras.values() if c.kind == "video" for w in _WINDOW]
    tables = []
    for path in files:
        try:
            names = pq.read_schema(path).names
            columns = [c for c in names if not c.startswith("stats/")]
            for column in required:
                if column not in columns:
                    raise SourceError(path, "column missing from the episode table", column)
            table = pq.read_table(path, columns=columns).to_pydict()
        except SourceError:
            raise
        except Exception as exc:
            raise SourceError(path, f"unreadable parquet file ({exc})") from None
        for column in required:
            if any(v is None for v in table[column]):
                raise SourceError(path, "null values in the episode table", column)
        tables.append((path, table))
    return tables


def scan_v30(
    layout: Layout, tolerance: float | None, progress: Callable[[float, str], None] | None
) -> tuple[list[EpisodeScan], list[tuple[int, str]], list[str], list[FieldMapping]]:
    """Episodes (sorted by episode_index), tasks, the data files' columns and the metadata's own fields."""
    root = layout.root
    tasks = read_tasks(layout)
    rows: list[tuple[Path, dict]] = []  # (episode table, its row as a dict)
    for path, table in _episode_tables(layout):
        count = len(table["episode_index"])
        rows += [(path, {k: v[i] for k, v in table.items()}) for i in range(count)]
    rows.sort(key=lambda r: r[1]["episode_index"])
    seen: set[int] = set()
    for path, row in rows:
        if row["episode_index"] in seen:
            raise SourceError(path, f"episode {row['episode_index']} is listed twice", "episode_index")
        seen.add(row["episode_index"])
        if row["length"] < 1:
            raise SourceError(path, f"episode {row['episode_index']} has length {row['length']}", "length")

    by_file: dict[str, list[tuple[Path, dict]]] = defaultdict(list)
    for path, row in rows:
        data = layout.path(
            "data_path", chunk_index=row["data/chunk_index"], file_index=row["data/file_index"]
        )
        by_file[data].append((path, row))
    ranges: dict[int, list[int] | None] = {}
    stats: dict[str, os.stat_result] = {}
    columns: list[str] = []
    for data, members in by_file.items():
        st = stat_file(root / data, f"data file missing (episode {members[0][1]['episode_index']})")
        stats[data] = st
        meta = footer(root / data)
        names = meta.schema.to_arrow_schema().names
        if "episode_index" not in names:
            raise SourceError(root / data, "column missing from the data file", "episode_index")
        columns += [c for c in names if c not in columns]
        ranges.update(_row_ranges(root / data, meta, members))

    report = reporter(len(rows), progress)
    episodes: list[EpisodeScan] = []
    seen_videos: set[str] = set()
    for done, (path, row) in enumerate(rows, 1):
        index, length = int(row["episode_index"]), int(row["length"])
        data = layout.path(
            "data_path", chunk_index=row["data/chunk_index"], file_index=row["data/file_index"]
        )
        videos = {}
        for cam in layout.cameras.values():
            if cam.kind != "video":
                continue
            w = {k: row[f"videos/{cam.key}/{k}"] for k in _WINDOW}
            video = layout.path(
                "video_path", video_key=cam.key, chunk_index=w["chunk_index"], file_index=w["file_index"]
            )
            if video not in seen_videos:
                stat_file(root / video, f"video file missing (camera {cam.name}, episode {index})", cam.key)
                seen_videos.add(video)
            start, stop = float(w["from_timestamp"]), float(w["to_timestamp"])
            # Half a frame of slack: the window's ends are sums of float durations.
            if stop - start < (length - 0.5) / layout.fps:
                raise SourceError(
                    path,
                    f"episode {index}: camera {cam.name}'s window {start:.4f}..{stop:.4f} s of {video} is "
                    f"shorter than the episode's {length} frames at {layout.fps:g} fps",
                    f"videos/{cam.key}/to_timestamp",
                )
            videos[cam.name] = {"file": video, "from": start, "to": stop}
        task_indexes = []
        for task in row.get("tasks") or []:
            if task not in tasks:
                raise SourceError(path, f"episode {index}: task {task!r} is not in {TASKS_PATH}", "tasks")
            task_indexes.append(tasks[task])
        locator: dict[str, object] = {
            "episode": index, "length": length, "rows": ranges[index], "videos": videos
        }
        if tolerance is not None:
            locator["tolerance_s"] = tolerance
        episodes.append(episode_scan(layout, index, data, length, task_indexes, locator, stats[data]))
        report(done)

    first = rows[0][0]
    table_columns = pq.read_schema(first).names
    extra = [FieldMapping(f"{EPISODES_DIR}:tasks", "task", None, "list<string>", f"indexed by {TASKS_PATH}")]
    known = {"episode_index", "length", "tasks", "data/chunk_index", "data/file_index"}
    known |= {
        "dataset_from_index",
        "dataset_to_index",
        "meta/episodes/chunk_index",
        "meta/episodes/file_index",
    }
    known |= {f"videos/{c.key}/{w}" for c in layout.cameras.values() for w in _WINDOW}
    if any(c.startswith("stats/") for c in table_columns):
        extra.append(
            FieldMapping(f"{EPISODES_DIR}:stats/*", None, None, None, "per-episode statistics: not read")
        )
    for column in table_columns:
        if column not in known and not column.startswith("stats/"):
            extra.append(
                FieldMapping(f"{EPISODES_DIR}:{column}", None, None, None, "episode metadata: not read")
            )
    if (root / "meta/stats.json").is_file():
        extra.append(FieldMapping("meta/stats.json", None, None, None, "dataset statistics: not read"))
    return episodes, sorted((i, t) for t, i in tasks.items()), columns, extra


def _row_ranges(
    path: Path, meta: pq.FileMetaData, members: list[tuple[Path, dict]]
) -> dict[int, list[int] | None]:
    """Each episode's rows `[start, stop)` within one data file, from dataset_from_index/to_index checked
    against the row groups' episode_index statistics; None where the reader must search episode_index."""
    found: dict[int, list[int] | None] = {}
    total = sum(int(row["length"]) for _, row in members)
    episodes = [int(row["episode_index"]) for _, row in members]
    if total > meta.num_rows:
        raise SourceError(
            path,
            f"holds {meta.num_rows} rows, meta/episodes puts {total} rows of episodes "
            f"{episodes[0]}..{episodes[-1]} in it: rows are missing",
            "episode_index",
        )
    groups = _group_bounds(meta)
    starts = [first for first, _, _ in groups]  # row groups are in row order
    covers = _coverage(groups)
    has_range = all(row.get("dataset_from_index") is not None for _, row in members)
    base = min(int(row["dataset_from_index"]) for _, row in members) if has_range else 0
    for table, row in members:
        index, length = int(row["episode_index"]), int(row["length"])
        if not covers(index):
            raise SourceError(
                path, f"holds no rows of episode {index} (by episode_index statistics)", "episode_index"
            )
        if not has_range:
            found[index] = None
            continue
        start = int(row["dataset_from_index"]) - base
        if row.get("dataset_to_index") is not None and int(row["dataset_to_index"]) - base != start + length:
            raise SourceError(
                table, f"episode {index}: dataset_to_index - dataset_from_index != length", "length"
            )
        stop = start + length
        # Only the row groups overlapping [start, stop): found by bisection, so a file of many episodes
        # costs O(episodes x log groups), not episodes x groups.
        first = max(0, bisect.bisect_right(starts, start) - 1)
        overlapping = groups[first : bisect.bisect_left(starts, stop)]
        contradicted = any(e is not None and not e[0] <= index <= e[1] for _, _, e in overlapping)
        found[index] = None if contradicted or stop > meta.num_rows else [start, stop]
    return found


def _coverage(groups: list[tuple[int, int, tuple[int, int] | None]]) -> Callable[[int], bool]:
    """Whether some row group's episode_index statistics admit an episode (always, when a group has none)."""
    if not groups or any(e is None for _, _, e in groups):
        return lambda index: True
    ordered = sorted(e for _, _, e in groups if e is not None)
    lows = [lo for lo, _ in ordered]
    reach = list(itertools.accumulate((hi for _, hi in ordered), max))  # the highest max among lows <= k

    def covers(index: int) -> bool:
        at = bisect.bisect_right(lows, index) - 1
        return at >= 0 and reach[at] >= index

    return covers


def _group_bounds(meta: pq.FileMetaData) -> list[tuple[int, int, tuple[int, int] | None]]:
    """(first row, end row, (min, max) episode_index) of each row group; None when the statistics are
    absent."""
    column = leaf_index(meta, "episode_index")
    bounds: list[tuple[int, int, tuple[int, int] | None]] = []
    first = 0
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        episodes = None
        if column is not None:
            s = group.column(column).statistics
            if s is not None and s.has_min_max:
                episodes = (int(s.min), int(s.max))
        bounds.append((first, first + group.num_rows, episodes))
        first += group.num_rows
    return bounds
