"""Pages of many parents' children (episodes per dataset, boxes per episode, comparisons per test
session) read together: requests that differ only in their parent share one statement, so a list of
parents costs one query per distinct filter, cursor and size, not one per parent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from domain.core.runtime import Runtime

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# A frozen dataclass: the parent's id in field `parent`, the rest of the page's terms.
R = TypeVar("R", bound="DataclassInstance")


async def read_pages(
    rt: Runtime,
    requests: Sequence[R],
    parent: str,
    read: Callable[[AsyncSession, list[int], R], Awaitable[dict[int, list[Any]]]],
) -> list[list[Any]]:
    """One page per request; `read(session, parent_ids, request)` answers every parent at once."""
    groups: dict[R, tuple[R, set[int]]] = {}
    for r in requests:
        groups.setdefault(replace(r, **{parent: 0}), (r, set()))[1].add(getattr(r, parent))
    found: dict[tuple[int, R], list[Any]] = {}
    async with rt.reads() as session:
        for key, (example, parent_ids) in groups.items():
            for parent_id, rows in (await read(session, sorted(parent_ids), example)).items():
                found[(parent_id, key)] = rows
    return [found[(getattr(r, parent), replace(r, **{parent: 0}))] for r in requests]
