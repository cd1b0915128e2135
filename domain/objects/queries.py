"""Reading boxes for the graph, batched: one statement per kind of question, not per episode."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from domain.core.batched_pages import read_pages
from domain.core.runtime import Runtime
from persistence.repositories import object_annotation as repo
from persistence.repositories.object_annotation import ObjectFilter, TrackSummary
from persistence.tables import ObjectAnnotationRow


@dataclass(frozen=True)
class BoxPageRequest:
    episode_id: int
    filter: ObjectFilter
    after: tuple[int, int] | None  # (frame, id) of the last box of the previous page
    limit: int


# A track's label, frame span and counts, as the repository reads it.
TrackData = TrackSummary


@dataclass(frozen=True)
class ReviewCounts:
    total: int
    validated: int
    rejected: int
    pending: int

    @classmethod
    def of(cls, counts: dict[str, int]) -> ReviewCounts:
        validated, rejected, pending = (counts.get(k, 0) for k in ("VALIDATED", "REJECTED", "PENDING"))
        return cls(validated + rejected + pending, validated, rejected, pending)


async def box_pages(rt: Runtime, requests: Sequence[BoxPageRequest]) -> list[list[ObjectAnnotationRow]]:
    async def read(session, episode_ids: list[int], r: BoxPageRequest) -> dict:
        return await repo.list_box_pages(session, episode_ids, filter=r.filter, after=r.after, limit=r.limit)

    return await read_pages(rt, requests, "episode_id", read)


async def box_counts(rt: Runtime, keys: Sequence[tuple[int, ObjectFilter]]) -> list[int]:
    groups: dict[ObjectFilter, set[int]] = defaultdict(set)
    for episode_id, filter in keys:
        groups[filter].add(episode_id)
    counts: dict[tuple, int] = {}
    async with rt.sessions() as session:
        for filter, episode_ids in groups.items():
            for episode_id, n in (
                await repo.count_boxes(session, sorted(episode_ids), filter=filter)
            ).items():
                counts[(episode_id, filter)] = n
    return [counts[k] for k in keys]


async def boxes_by_ids(rt: Runtime, ids: Sequence[int]) -> list[ObjectAnnotationRow | None]:
    async with rt.sessions() as session:
        rows = {r.id: r for r in await repo.read_boxes_by_ids(session, ids)}
    return [rows.get(i) for i in ids]


async def tracks_by_episodes(rt: Runtime, episode_ids: Sequence[int]) -> list[list[TrackData]]:
    async with rt.sessions() as session:
        rows = await repo.read_tracks(session, episode_ids)
    grouped: dict[int, list[TrackData]] = {e: [] for e in episode_ids}
    for row in rows:
        grouped[row.episode_id].append(row)
    return [grouped[e] for e in episode_ids]


async def review_by_episodes(rt: Runtime, episode_ids: Sequence[int]) -> list[ReviewCounts]:
    async with rt.sessions() as session:
        counts = await repo.review_counts_by_episodes(session, episode_ids)
    return [ReviewCounts.of(counts[e]) for e in episode_ids]


async def review_by_datasets(rt: Runtime, dataset_ids: Sequence[int]) -> list[ReviewCounts]:
    async with rt.sessions() as session:
        counts = await repo.review_counts_by_datasets(session, dataset_ids)
    return [ReviewCounts.of(counts[d]) for d in dataset_ids]


async def track_boxes(rt: Runtime, keys: Sequence[tuple[int, str, str]]) -> list[list[ObjectAnnotationRow]]:
    """Every box of each (episode id, camera, track id), by frame (a track is bounded by its episode)."""
    async with rt.sessions() as session:
        rows = await repo.read_tracks_boxes(session, keys)
    grouped: dict[tuple, list[ObjectAnnotationRow]] = {k: [] for k in keys}
    for row in rows:
        grouped[(row.episode_id, row.camera, row.track_id)].append(row)
    return [grouped[k] for k in keys]
