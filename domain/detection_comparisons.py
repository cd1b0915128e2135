"""Reading an evaluation's comparisons a page at a time, batched over many test sessions so that a
list of sessions with their comparisons costs the same statements as one."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import NamedTuple

from domain.runtime import Runtime
from persistence.repositories import detection_comparison as comparisons_repo
from persistence.tables import DetectionComparisonRow


class PageRequest(NamedTuple):
    session_id: int
    kind: str | None
    after_id: int | None
    limit: int


async def comparison_pages(
    rt: Runtime, requests: Sequence[PageRequest]
) -> list[list[DetectionComparisonRow]]:
    """One statement per distinct (kind, cursor, size), not per session."""
    groups: dict[tuple, set[int]] = defaultdict(set)
    for r in requests:
        groups[(r.kind, r.after_id, r.limit)].add(r.session_id)
    found: dict[tuple, list[DetectionComparisonRow]] = {}
    async with rt.sessions() as session:
        for (kind, after_id, limit), session_ids in groups.items():
            pages = await comparisons_repo.list_comparison_pages(
                session, sorted(session_ids), kind=kind, after_id=after_id, limit=limit
            )
            for session_id, rows in pages.items():
                found[(session_id, kind, after_id, limit)] = rows
    return [found[tuple(r)] for r in requests]


async def comparison_counts(rt: Runtime, keys: Sequence[tuple[int, str | None]]) -> list[int]:
    groups: dict[str | None, set[int]] = defaultdict(set)
    for session_id, kind in keys:
        groups[kind].add(session_id)
    counts: dict[tuple[int, str | None], int] = {}
    async with rt.sessions() as session:
        for kind, session_ids in groups.items():
            found = await comparisons_repo.count_comparisons(session, sorted(session_ids), kind)
            for session_id, n in found.items():
                counts[(session_id, kind)] = n
    return [counts[k] for k in keys]
