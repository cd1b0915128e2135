"""LeRobot v2.0/v2.1 metadata: `meta/episodes.jsonl`, `meta/tasks.jsonl`, one data file per episode
(`data/chunk-*/episode_*.parquet`) and one video per episode and camera
(`videos/chunk-*/<key>/episode_*.mp4`), each video starting at the episode's first frame.

As in LeRobot 0.3's `LeRobotDatasetMetadata`: `episode_chunk` is `episode_index // chunks_size`, the
paths are info.json's `data_path`/`video_path` templates, a frame's video time is its `timestamp`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path

from persistence.episode_sources.base import EpisodeScan, FieldMapping, SourceError
from persistence.episode_sources.lerobot_meta import Layout, episode_scan, reporter, stat_file
from persistence.episode_sources.lerobot_parquet import footer

EPISODES_PATH = "meta/episodes.jsonl"
TASKS_PATH = "meta/tasks.jsonl"


def _jsonl(path: Path, keys: tuple[str, ...]) -> list[dict]:
    stat_file(path, f"missing: a v2.1 dataset has {path.parent.name}/{path.name}")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(path, f"unreadable ({exc})") from None
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SourceError(path, f"not JSON ({exc.msg})", f"line {number}") from None
        if not isinstance(item, dict) or any(k not in item for k in keys):
            raise SourceError(path, f"a line needs {', '.join(keys)}", f"line {number}")
        item["_line"] = number
        out.append(item)
    return out


def scan_v21(
    layout: Layout,
    tolerance: float | None,
    previous: Mapping[str, EpisodeScan] | None,
    progress: Callable[[float, str], None] | None,
) -> tuple[list[EpisodeScan], list[tuple[int, str]], list[str], list[FieldMapping]]:
    """Episodes (sorted by episode_index), tasks, the data files' columns and the metadata's own fields.
    A data file whose size and mtime match `previous` is not opened again (its row count is reused)."""
    root = layout.root
    tasks_path, episodes_path = root / TASKS_PATH, root / EPISODES_PATH
    tasks: dict[str, int] = {}
    for item in _jsonl(tasks_path, ("task_index", "task")):
        if not isinstance(item["task"], str) or not isinstance(item["task_index"], int):
            raise SourceError(
                tasks_path, "task must be a string and task_index an integer", f"line {item['_line']}"
            )
        tasks[item["task"]] = item["task_index"]
    rows = _jsonl(episodes_path, ("episode_index", "length"))
    for item in rows:
        if (
            not isinstance(item["episode_index"], int)
            or not isinstance(item["length"], int)
            or item["length"] < 1
        ):
            raise SourceError(
                episodes_path, "episode_index and length must be integers >= 1", f"line {item['_line']}"
            )
    rows.sort(key=lambda r: r["episode_index"])
    if not rows:
        raise SourceError(episodes_path, "no episodes")
    chunks = layout.info.get("chunks_size") or 1000
    report = reporter(len(rows), progress)
    episodes: list[EpisodeScan] = []
    columns: list[str] = []
    last = None
    for done, item in enumerate(rows, 1):
        index, length, line = item["episode_index"], item["length"], f"line {item['_line']}"
        if index == last:
            raise SourceError(episodes_path, f"episode {index} is listed twice", line)
        last = index
        chunk = index // chunks
        data = layout.path("data_path", episode_chunk=chunk, episode_index=index)
        st = stat_file(root / data, f"data file missing (episode {index})")
        before = (previous or {}).get(data)
        if (
            before is not None
            and (before.file_size, before.file_mtime) == (st.st_size, st.st_mtime)
            and columns
        ):
            rows_in_file = before.length  # unchanged since the last scan: its footer is not read again
        else:
            meta = footer(root / data)
            rows_in_file = meta.num_rows
            names = meta.schema.to_arrow_schema().names
            if "episode_index" not in names:
                raise SourceError(root / data, "column missing from the data file", "episode_index")
            columns += [c for c in names if c not in columns]
        if rows_in_file != length:
            raise SourceError(
                root / data,
                f"holds {rows_in_file} rows, {EPISODES_PATH} says episode {index} has {length}"
                + (": rows are missing" if rows_in_file < length else ""),
                "episode_index",
            )
        videos = {}
        for cam in layout.cameras.values():
            if cam.kind == "video":
                video = layout.path("video_path", episode_chunk=chunk, video_key=cam.key, episode_index=index)
                stat_file(root / video, f"video file missing (camera {cam.name}, episode {index})", cam.key)
                videos[cam.name] = {"file": video, "from": 0.0, "to": None}
        task_indexes = []
        for task in item.get("tasks") or []:
            if task not in tasks:
                raise SourceError(
                    episodes_path, f"episode {index}: task {task!r} is not in {TASKS_PATH}", line
                )
            task_indexes.append(tasks[task])
        locator = {"episode": index, "length": length, "rows": [0, length], "videos": videos}
        if tolerance is not None:
            locator["tolerance_s"] = tolerance
        episodes.append(episode_scan(layout, index, data, length, task_indexes, locator, st))
        report(done)

    extra = [FieldMapping(f"{EPISODES_PATH}:tasks", "task", None, "list<string>", f"indexed by {TASKS_PATH}")]
    if (root / "meta/episodes_stats.jsonl").is_file():
        extra.append(
            FieldMapping("meta/episodes_stats.jsonl", None, None, None, "per-episode statistics: not read")
        )
    if (root / "meta/stats.json").is_file():
        extra.append(FieldMapping("meta/stats.json", None, None, None, "dataset statistics: not read"))
    return episodes, sorted((i, t) for t, i in tasks.items()), columns, extra
