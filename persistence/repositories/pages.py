"""The first rows of many groups in one statement: a page of episodes per dataset, of boxes per
episode, of comparisons per test session, so that a list of parents costs one query, not one each."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession


async def first_rows_per_group(
    session: AsyncSession,
    model,
    group,
    group_ids: Sequence[int],
    *,
    clauses: Sequence,
    order_by: Sequence,
    limit: int,
) -> dict[int, list]:
    """`limit` rows of each group in `group_ids` (`group` is the parent's column), in `order_by`."""
    where = [group.in_(group_ids), *clauses]
    if len(group_ids) == 1:
        # One parent (the common case): a plain LIMIT lets an index answer it directly.
        query = select(model).where(*where).order_by(*order_by).limit(limit)
    else:
        rank = func.row_number().over(partition_by=group, order_by=tuple(order_by)).label("rank")
        ranked = select(model.id, rank).where(*where).subquery()
        query = (
            select(model)
            .join(ranked, ranked.c.id == model.id)
            .where(ranked.c.rank <= limit)
            .order_by(group, ranked.c.rank)
        )
    pages: dict[int, list] = {g: [] for g in group_ids}
    for row in (await session.execute(query)).scalars():
        pages[getattr(row, group.key)].append(row)
    return pages
