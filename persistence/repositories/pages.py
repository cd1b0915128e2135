"""The first rows of many groups in one statement: a page of episodes per dataset, of boxes per
episode, of comparisons per test session, so that a list of parents costs one query, not one each.

On PostgreSQL each parent's page is a `LATERAL (... ORDER BY ... LIMIT n)` over the parents' ids,
which an index in page order answers by reading n rows per parent (indexes: uq_episode_dataset_index,
ix_object_annotation_page, ix_detection_comparison_page; migration 0014). SQLite has no LATERAL: it
ranks the parents' rows with row_number(), which reads every row of the parents named (never the
whole table).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Integer, func, literal, select, true
from sqlalchemy.dialects.postgresql import ARRAY
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
    """`limit` rows of each group in `group_ids` (`group` is the parent's column), in `order_by`
    (which must order a group's rows totally, e.g. end with the primary key or a unique column).

    Returns {parent id: rows in order} with an empty list for a parent without rows."""
    pages: dict[int, list] = {g: [] for g in group_ids}
    if not group_ids:
        return pages
    if len(group_ids) == 1:
        # One parent (the common case): a plain LIMIT lets an index answer it directly.
        query = select(model).where(group == group_ids[0], *clauses).order_by(*order_by).limit(limit)
    elif session.get_bind().dialect.name == "postgresql":
        query = _lateral_pages(model, group, group_ids, clauses, order_by, limit)
    else:
        rank = func.row_number().over(partition_by=group, order_by=tuple(order_by)).label("rank")
        ranked = select(model.id, rank).where(group.in_(group_ids), *clauses).subquery()
        query = (
            select(model)
            .join(ranked, ranked.c.id == model.id)
            .where(ranked.c.rank <= limit)
            .order_by(group, ranked.c.rank)
        )
    for row in (await session.execute(query)).scalars():
        pages[getattr(row, group.key)].append(row)
    return pages


def _lateral_pages(model, group, group_ids: Sequence[int], clauses: Sequence, order_by: Sequence, limit: int):
    """SELECT model.* FROM unnest($ids) AS parent(parent_id)
    JOIN LATERAL (SELECT id FROM model WHERE group = parent.id AND ... ORDER BY ... LIMIT n) AS page ON true
    JOIN model ON model.id = page.id ORDER BY group, order_by..."""
    # One array parameter, so the statement's text (asyncpg prepares it once) is the same for any count.
    ids = literal(list(group_ids), ARRAY(Integer))
    parents = func.unnest(ids).table_valued("parent_id").render_derived(name="parent")
    page = (
        select(model.id.label("page_id"))
        .where(group == parents.c.parent_id, *clauses)
        .order_by(*order_by)
        .limit(limit)
        .correlate(parents)  # only the parent: the table itself stays in the subquery's FROM
        .lateral("page")
    )
    return (
        select(model)
        .select_from(parents)
        .join(page, true())
        .join(model.__table__, model.id == page.c.page_id)
        .order_by(group, *order_by)
    )
