"""Reading an evaluation's comparisons a page at a time, batched over many test sessions so that a
list of sessions with their comparisons costs the same statements as one."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from domain.core.batched_pages import read_pages
from domain.core.runtime import Runtime
from persistence.repositories import detection_comparison as comparisons_repo
from persistence.tables import DetectionComparisonRow


@dataclass(frozen=True)
class PageRequest:
    session_id: int
    kind: str | None
    after_id: int | None
    limit: int


async def comparison_pages(
    rt: Runtime, requests: Sequence[PageRequest]
) -> list[list[DetectionComparisonRow]]:
    async def read(session, session_ids: list[int], r: PageRequest) -> dict:
        return await comparisons_repo.list_comparison_pages(
            session, session_ids, kind=r.kind, after_id=r.after_id, limit=r.limit
        )

    return await read_pages(rt, requests, "session_id", read)


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
