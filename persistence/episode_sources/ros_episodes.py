"""Bags as episodes, shared by the ROSBAG and MCAP readers: the scan of one bag and of a dataset of
bags. The format modules supply a `Bag` (their I/O); `ros_plan.py` says which topic is what and the
clock, `ros_reader.py` reads an episode.

A scan reads each bag once: the log times and stamps of the clock, camera and mapped topics (camera
payloads are not decoded: stamps come from the raw header bytes where the encoding allows), every
JointState message (the joint names), every task message, and the first action and camera message (the
action's size, the cameras' height and width). One bag is one episode; `previous` episodes whose bag is
unchanged (size and mtime; for a rosbag2 folder its files' total size and latest mtime) and whose plan
is the same are reused without opening the bag.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from persistence.episode_sources.base import (
    TRAJECTORY_DATASETS,
    DatasetScan,
    EpisodeScan,
    SourceError,
    episode_sort_key,
)
from persistence.episode_sources.ros_plan import Plan, clock_text, features, make_plan, mapping
from persistence.episode_sources.ros_streams import (
    KIND_TYPES,
    Kind,
    Stamps,
    StreamOptions,
    Topic,
    choose_stamps,
    fixed_ticks,
    float_array,
    image_size,
    joint_state,
    text,
)

LOCATOR_VERSION = 1


class Bag(Protocol):
    """One open bag or MCAP file. Errors are SourceErrors naming `path` and the topic."""

    path: Path
    format_version: str

    def topics(self) -> dict[str, Topic]: ...

    def iter_raw(
        self, topics: Sequence[str], start: int | None = None, stop: int | None = None
    ) -> Iterator[tuple[str, int, Any]]:
        """(topic, log time ns, undecoded message) in log-time order, log time in [start, stop)."""
        ...

    def stamp(self, topic: str, raw: Any) -> tuple[int, str]:
        """(stamp ns, field) without decoding big payloads where the encoding allows; (0, "") if none."""
        ...

    def decode(self, topic: str, raw: Any) -> Any: ...

    def close(self) -> None: ...


def file_stat(path: Path) -> tuple[int, float]:
    """(size, mtime) of a file, or of a rosbag2 folder: its files' total size and latest mtime."""
    if path.is_dir():
        stats = [p.stat() for p in path.iterdir() if p.is_file()]
        return sum(s.st_size for s in stats), max((s.st_mtime for s in stats), default=path.stat().st_mtime)
    stat = path.stat()
    return stat.st_size, stat.st_mtime


def episode_indexes(names: Sequence[str]) -> list[int]:
    """Each name's last number when all names have one and they are distinct, else the position in
    numeric order (`names` are already sorted with `episode_sort_key`)."""
    numbers = [re.findall(r"\d+", Path(n).stem or n) for n in names]
    values = [int(found[-1]) for found in numbers if found]
    if len(values) == len(names) and len(set(values)) == len(values):
        return values
    return list(range(len(names)))


# --- one bag ----------------------------------------------------------------------------------------


def _check_roles(bag: Bag, topics: Mapping[str, Topic], plan: Plan) -> None:
    for topic, kinds in plan.roles().items():
        if topic in topics and topics[topic].kind not in kinds:
            expected = " or ".join(KIND_TYPES[k] for k in kinds)
            raise SourceError(bag.path, f"topic has type {topics[topic].msgtype}, expected {expected}", topic)
    if plan.clock and not (plan.clock in topics and topics[plan.clock].count):
        raise SourceError(bag.path, "the clock topic has no messages in this bag", plan.clock)


def read_stamps(
    bag: Bag, topics: Sequence[str], keep: Callable[[str, int], bool]
) -> tuple[dict[str, Stamps], dict[str, list[Any]]]:
    """One pass over `topics`: their Stamps, and the decoded messages for which keep(topic, ordinal)."""
    logs: dict[str, list[int]] = {t: [] for t in topics}
    stamps: dict[str, list[int]] = {t: [] for t in topics}
    fields: dict[str, str] = {}
    kept: dict[str, list[Any]] = {t: [] for t in topics}
    for topic, log, raw in bag.iter_raw(topics):
        ns, where = bag.stamp(topic, raw)
        if where:
            fields[topic] = where
        if keep(topic, len(logs[topic])):
            kept[topic].append(bag.decode(topic, raw))
        logs[topic].append(log)
        stamps[topic].append(ns)
    out = {t: choose_stamps(logs[t], stamps[t] if t in fields else None, fields.get(t, "")) for t in topics}
    return out, kept


def clock_ticks(
    plan: Plan, stamps: Mapping[str, Stamps], start: int | None = None, length: int | None = None
) -> np.ndarray:
    if plan.clock is not None:
        return np.sort(stamps[plan.clock].times)
    assert plan.fps is not None
    if start is not None and length is not None:
        return start + np.round(np.arange(length) * (1e9 / plan.fps)).astype(np.int64)
    times = [s.times for s in stamps.values() if len(s.times)]
    return fixed_ticks(int(min(t.min() for t in times)), int(max(t.max() for t in times)), plan.fps)


def scan_bag(bag: Bag, plan: Plan, file: str, index: int, stat: tuple[int, float]) -> EpisodeScan:
    """Read one bag's stamps (clock, cameras, mapped streams) and the few messages that say names, dims
    and sizes: every JointState (joint names) and task message, the first action and camera message."""
    topics = bag.topics()
    _check_roles(bag, topics, plan)
    present = {t for t in plan.roles() if t in topics and topics[t].count}
    first_only = {t for t in present if t != plan.state and t != plan.task}
    wanted = sorted(present | ({plan.clock} if plan.clock else set()))
    stamps, kept = read_stamps(bag, wanted, lambda t, n: t in present and (t not in first_only or n == 0))
    if plan.clock is None and not any(len(s.times) for s in stamps.values()):
        raise SourceError(bag.path, "no message on any mapped topic to resample at fps")
    ticks = clock_ticks(plan, stamps)
    length = len(ticks)
    span = int(ticks[-1] - ticks[0])
    rate = plan.fps if plan.fps else ((length - 1) / (span / 1e9) if span > 0 else None)
    joints: list[str] = []
    velocity = False
    for msg in kept.get(plan.state or "", []):
        names, position, vel = joint_state(msg)
        joints += [n for n in names if n not in joints]
        velocity = velocity or (len(vel) > 0 and len(vel) == len(names))
    action = None
    if plan.action in present:
        first = kept[plan.action][0]
        action = [
            int(float_array(first).size),
            "float32" if "32" in topics[plan.action].msgtype else "float64",
        ]
    texts: list[str] = []
    for msg in kept.get(plan.task or "", []):
        if (value := text(msg)) not in texts:
            texts.append(value)
    sizes = {}
    for name, topic in plan.cameras.items():
        if topic in present:
            kind = topics[topic].mapped_kind()
            sizes[name] = list(image_size(kind, kept[topic][0], str(bag.path), topic))
    have = {"timestamp"} | ({"action"} if action else set())
    if joints:
        have |= {"observation.state"} | ({"observation.velocity"} if velocity else set())
        have |= {"observation.gripper"} if any("gripper" in j.lower() for j in joints) else set()
    locator = {
        "version": LOCATOR_VERSION,
        "plan": asdict(plan),
        "format_version": bag.format_version,
        "topics": {t: [v.msgtype, v.count, v.kind and v.kind.value, v.encoding] for t, v in topics.items()},
        "stamps": {t: s.source for t, s in stamps.items()},
        "length": length,
        "start": int(ticks[0]),
        "span": span,
        "joints": joints,
        "velocity": velocity,
        "action": action,
        "tasks": texts,
        "task_indexes": {},
        "cameras": sizes,
    }
    return EpisodeScan(
        index=index,
        file=file,
        length=length,
        duration=length / rate if rate else 0.0,
        cameras={name: [length, *size] for name, size in sizes.items()},
        missing=[d for d in TRAJECTORY_DATASETS if d not in have],
        file_size=stat[0],
        file_mtime=stat[1],
        locator=locator,
    )


# --- a dataset of bags --------------------------------------------------------------------------------


def topics_of(locator: Mapping[str, Any]) -> dict[str, Topic]:
    return {
        name: Topic(name, msgtype, count, Kind(kind) if kind else None, encoding)
        for name, (msgtype, count, kind, encoding) in locator["topics"].items()
    }


def scan_dataset(
    path: Path,
    fmt: str,
    entries: Sequence[tuple[str, Path]],
    open_bag: Callable[[Path], Bag],
    options: StreamOptions,
    previous: Mapping[str, EpisodeScan] | None,
    progress: Callable[[float, str], None] | None,
) -> DatasetScan:
    """Scan bags (`entries`: (file relative to `path`, bag path), sorted) into one dataset."""
    if not entries:
        raise SourceError(path, "no episode found here")
    indexes = episode_indexes([file for file, _ in entries])
    stats = {file: file_stat(bag_path) for file, bag_path in entries}
    reusable = {
        file: prev
        for file, prev in (previous or {}).items()
        if file in stats
        and (prev.file_size, prev.file_mtime) == stats[file]
        and prev.locator.get("version") == LOCATOR_VERSION
    }
    topics_by_file: dict[str, dict[str, Topic]] = {}
    for file, bag_path in entries:
        if file in reusable:
            topics_by_file[file] = topics_of(reusable[file].locator)
            continue
        bag = open_bag(bag_path)
        try:
            topics_by_file[file] = bag.topics()
        finally:
            bag.close()
    plan = make_plan(path, topics_by_file, options)
    episodes: list[EpisodeScan] = []
    for n, ((file, bag_path), index) in enumerate(zip(entries, indexes, strict=True)):
        prev = reusable.get(file)
        if prev is not None and prev.locator.get("plan") == asdict(plan):
            episodes.append(replace(prev, index=index, locator=dict(prev.locator)))
        else:
            bag = open_bag(bag_path)
            try:
                episodes.append(scan_bag(bag, plan, file, index, stats[file]))
            finally:
                bag.close()
        if progress:
            progress((n + 1) / len(entries), f"scanned {file or path.name}")
    return _dataset(path, fmt, plan, episodes, topics_by_file)


def _dataset(
    path: Path,
    fmt: str,
    plan: Plan,
    episodes: list[EpisodeScan],
    topics_by_file: Mapping[str, Mapping[str, Topic]],
) -> DatasetScan:
    episodes.sort(key=lambda e: e.index)
    tasks: list[str] = []
    for episode in episodes:
        tasks += [t for t in episode.locator["tasks"] if t not in tasks]
    task_index = {t: i for i, t in enumerate(tasks)}
    for episode in episodes:
        episode.locator["task_indexes"] = {t: task_index[t] for t in episode.locator["tasks"]}
        episode.task_indexes = [task_index[t] for t in episode.locator["tasks"]]
    if plan.fps is not None:
        fps = plan.fps
    else:
        frames = sum(e.length - 1 for e in episodes)
        span = sum(e.locator["span"] for e in episodes)
        if span <= 0:
            raise SourceError(
                path / episodes[0].file,
                "the clock topic has at most one message per bag, so no rate: set fps",
                plan.clock or "",
            )
        fps = frames / (span / 1e9)
    joint_names: list[str] = []
    first = None
    for episode in episodes:
        joints = episode.locator["joints"]
        if joints and not joint_names:
            joint_names, first = joints, episode.file
        elif joints and joints != joint_names:
            raise SourceError(
                path / episode.file,
                f"joint names {joints} differ from {joint_names} in {first or path.name}",
                plan.state or "",
            )
    cameras = [name for name in plan.cameras if any(name in e.cameras for e in episodes)]
    versions = sorted({e.locator["format_version"] for e in episodes})
    return DatasetScan(
        format=fmt,
        name=path.stem if path.is_file() else path.name,
        fps=fps,
        episodes=episodes,
        cameras=cameras,
        joint_names=joint_names,
        tasks=list(enumerate(tasks)),
        features=features(plan, episodes, joint_names),
        format_version=", ".join(versions) or None,
        mapping=mapping(plan, episodes, topics_by_file, joint_names),
        clock=clock_text(plan, episodes, fps),
    )


def bag_entries(path: Path, is_bag: Callable[[Path], bool]) -> list[tuple[str, Path]]:
    """(file relative to `path`, bag path) for `path` itself when it is a bag, else its children that
    are, in numeric name order."""
    if is_bag(path):
        return [("", path)]
    if not path.is_dir():
        return []
    children = [p for p in path.iterdir() if not p.name.startswith(".") and is_bag(p)]
    return [(p.name, p) for p in sorted(children, key=lambda p: episode_sort_key(p.name))]
