"""Episodes: pages of a dataset's episodes, trajectories and camera frames."""

from __future__ import annotations

import asyncio
import hashlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from domain.core.batched_pages import read_pages
from domain.core.errors import BadUserInput, NotFound
from domain.core.runtime import Runtime
from domain.datasets import frames as frames_
from domain.datasets.trajectories import Trajectory, build_trajectory, frame_range
from persistence.episode_sources import TASK_INDEX, TRAJECTORY_DATASETS, SourceRef, episode_ref
from persistence.repositories import episode as episodes_repo
from persistence.repositories.episode import EpisodeFilter
from persistence.tables import DatasetRow, EpisodeRow

MAX_TRAJECTORY_SAMPLES = 200_000


@dataclass(frozen=True)
class PageRequest:
    dataset_id: int
    filter: EpisodeFilter
    after_index: int | None
    limit: int
    order: str = "INDEX"
    after_key: int | None = None


async def episode_pages(rt: Runtime, requests: Sequence[PageRequest]) -> list[list[EpisodeRow]]:
    """Pages for many datasets: one statement per distinct (filter, cursor, size), not per dataset."""

    async def read(session, dataset_ids: list[int], r: PageRequest) -> dict:
        return await episodes_repo.list_episode_pages(
            session,
            dataset_ids,
            filter=r.filter,
            after_index=r.after_index,
            limit=r.limit,
            order=r.order,
            after_key=r.after_key,
        )

    return await read_pages(rt, requests, "dataset_id", read)


async def episode_counts(rt: Runtime, keys: Sequence[tuple[int, EpisodeFilter]]) -> list[int]:
    groups: dict[EpisodeFilter, set[int]] = defaultdict(set)
    for dataset_id, filter in keys:
        groups[filter].add(dataset_id)
    counts: dict[tuple[int, EpisodeFilter], int] = {}
    async with rt.sessions() as session:
        for filter, dataset_ids in groups.items():
            for dataset_id, n in (
                await episodes_repo.count_episodes(session, sorted(dataset_ids), filter=filter)
            ).items():
                counts[(dataset_id, filter)] = n
    return [counts[k] for k in keys]


async def episodes_by_ids(rt: Runtime, ids: Sequence[int]) -> list[EpisodeRow | None]:
    async with rt.reads() as session:
        rows = {r.id: r for r in await episodes_repo.read_episodes_by_ids(session, ids)}
    return [rows.get(i) for i in ids]


async def episodes_by_indexes(rt: Runtime, keys: Sequence[tuple[int, int]]) -> list[EpisodeRow | None]:
    async with rt.reads() as session:
        rows = {
            (r.dataset_id, r.index): r for r in await episodes_repo.read_episodes_by_indexes(session, keys)
        }
    return [rows.get(k) for k in keys]


async def read_trajectory(
    rt: Runtime,
    dataset: DatasetRow,
    episode: EpisodeRow,
    from_frame: int | None = None,
    to_frame: int | None = None,
    stride: int | None = None,
) -> Trajectory:
    frames = frame_range(episode.length, from_frame, to_frame, stride, MAX_TRAJECTORY_SAMPLES)
    names = [n for n in TRAJECTORY_DATASETS if n not in episode.missing] + [TASK_INDEX]
    arrays = await asyncio.to_thread(
        rt.files.read_arrays, episode_ref(dataset, episode), names, frames.as_slice()
    )
    return build_trajectory(arrays, frames, list(dataset.joint_names))


def check_frame(episode: EpisodeRow, camera: str, frame: int) -> None:
    """Raise BadUserInput when `camera` or `frame` does not exist in this episode."""
    if camera not in episode.cameras:
        known = ", ".join(sorted(episode.cameras)) or "none"
        raise BadUserInput(
            f"episode {episode.index} has no camera {camera!r} (cameras: {known})", field="camera"
        )
    frames = episode.cameras[camera][0]
    if not 0 <= frame < frames:
        raise BadUserInput(f"frame must be between 0 and {frames - 1}, got {frame}", field="frame")


def frame_version(episode: EpisodeRow) -> str:
    """Changes whenever the episode file changes; part of frame URLs and ETags."""
    stamp = f"{episode.id}:{episode.file_size}:{episode.file_mtime}"
    return hashlib.blake2b(stamp.encode(), digest_size=6).hexdigest()


@dataclass(frozen=True)
class FrameTarget:
    source: SourceRef
    camera: str
    frame: int
    width: int | None
    quality: int
    etag: str
    episode_id: int
    episode_length: int  # samples
    # Applied to the decoded pixels (H x W x 3 uint8) before encoding: a preview of saved edits
    # (domain/edits/previews.py); datasets know nothing of edits.
    transform: Callable[[np.ndarray], np.ndarray] | None = None


async def locate_frame(
    rt: Runtime,
    dataset_id: int,
    index: int,
    camera: str,
    frame: int,
    width: int | None,
    quality: int | None,
) -> FrameTarget:
    """Everything needed to serve a frame, checked against the index without opening the file.
    NotFound names the dataset, episode, camera or frame that does not exist; BadUserInput the width
    or quality out of range."""
    width, quality = frames_.check_encoding(width, quality)
    # Frame requests come in bursts for the same episode: its row, source and version are cached for
    # a few seconds (one query per episode, not per frame).
    key = (dataset_id, index)
    found = rt.frame_lookups.get(key)
    if found is None:
        async with rt.sessions() as session:
            dataset, episode = await episodes_repo.read_episode_with_dataset(session, dataset_id, index)
        found = _FrameSource(dataset, episode)
        rt.frame_lookups[key] = found
    episode = found.episode
    if found.dataset is None:
        raise NotFound(f"dataset {dataset_id} does not exist")
    if episode is None:
        raise NotFound(f"dataset {dataset_id} has no episode {index}")
    frames = found.frames.get(camera)
    if frames is None or not 0 <= frame < frames:
        try:
            check_frame(episode, camera, frame)  # says which
        except BadUserInput as exc:
            raise NotFound(exc.message) from None
    etag = f'"{found.version}-{camera}-{frame}-{width or 0}-{quality}"'
    assert found.ref is not None  # dataset and episode exist
    return FrameTarget(found.ref, camera, frame, width, quality, etag, found.episode_id, found.length)


class _FrameSource:
    """A (dataset, episode) lookup of `locate_frame`, with what every frame of it shares."""

    __slots__ = ("dataset", "episode", "ref", "version", "frames", "episode_id", "length")

    def __init__(self, dataset: DatasetRow | None, episode: EpisodeRow | None) -> None:
        self.dataset, self.episode = dataset, episode
        present = dataset is not None and episode is not None
        self.ref = episode_ref(dataset, episode) if present else None
        self.version = frame_version(episode) if episode is not None else ""
        # Plain values, read per request without the ORM's attribute machinery: camera -> frames.
        self.frames = {c: int(v[0]) for c, v in episode.cameras.items()} if episode is not None else {}
        self.episode_id = episode.id if episode is not None else 0
        self.length = episode.length if episode is not None else 0


async def render_frame(rt: Runtime, target: FrameTarget) -> bytes:
    """The frame's JPEG bytes: from the frame cache by ETag when it holds them (memory without a
    thread; the disk folder, when set, in one), else read, transformed, encoded and cached.
    FileNotFoundError when the episode file is gone; SourceError when it does not give the frame."""
    cache = rt.frame_cache
    data = cache.get(target.etag)
    if data is not None:
        return data

    def render() -> bytes:
        found = cache.load(target.etag)
        if found is not None:
            return found
        pixels = rt.files.read_frame(target.source, target.camera, target.frame)
        if target.transform is not None:
            pixels = target.transform(pixels)
        encoded = frames_.encode_jpeg(pixels, target.width, target.quality)
        cache.store(target.etag, encoded)
        return encoded

    return await asyncio.to_thread(render)
