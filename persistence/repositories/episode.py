from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.key_sets import entities_with_keys
from persistence.repositories.pages import first_rows_per_group
from persistence.tables import DatasetRow, EpisodeAnnotationRow, EpisodeRow


@dataclass(frozen=True)
class EpisodeFilter:
    task_index: int | None = None
    min_length: int | None = None
    max_length: int | None = None
    has_annotations: bool | None = None
    rating: str | None = None  # some annotator gave this rating
    annotated_by: int | None = None
    min_agreement: float | None = None  # share of annotators on the majority rating
    flagged: bool | None = None  # holding suggestions nobody verified or dismissed

    def clauses(self) -> list:
        clauses = []
        if self.task_index is not None:
            clauses.append(EpisodeRow.task_index == self.task_index)
        if self.min_length is not None:
            clauses.append(EpisodeRow.length >= self.min_length)
        if self.max_length is not None:
            clauses.append(EpisodeRow.length <= self.max_length)
        annotated = select(EpisodeAnnotationRow.episode_id)
        if self.has_annotations is not None:
            inside = EpisodeRow.id.in_(annotated)
            clauses.append(inside if self.has_annotations else ~inside)
        if self.rating is not None:
            clauses.append(EpisodeRow.id.in_(annotated.where(EpisodeAnnotationRow.rating == self.rating)))
        if self.annotated_by is not None:
            clauses.append(
                EpisodeRow.id.in_(annotated.where(EpisodeAnnotationRow.annotator_id == self.annotated_by))
            )
        if self.min_agreement is not None:
            clauses.append(EpisodeRow.id.in_(_agreement_at_least(self.min_agreement)))
        if self.flagged is not None:
            clauses.append(EpisodeRow.flagged.is_(self.flagged))
        return clauses


# Review orders: a sort key, then the index. Ungraded episodes come after the worst graded ones
# (an overall grade is 1-5).
UNGRADED = 99
ORDER_KEYS = {
    "GRADE": func.coalesce(EpisodeRow.overall_grade, UNGRADED),
    "SUGGESTIONS": -EpisodeRow.open_suggestions,
}


def order_key(order: str, row: EpisodeRow) -> int:
    """The sort key of `row` under `order` (what a cursor carries beside the index)."""
    if order == "GRADE":
        return UNGRADED if row.overall_grade is None else row.overall_grade
    return -row.open_suggestions


def _agreement_at_least(share: float):
    """Episodes whose most chosen rating was chosen by at least `share` of their annotators."""
    per_rating = (
        select(EpisodeAnnotationRow.episode_id, func.count().label("votes"))
        .group_by(EpisodeAnnotationRow.episode_id, EpisodeAnnotationRow.rating)
        .subquery()
    )
    totals = (
        select(EpisodeAnnotationRow.episode_id, func.count().label("annotators"))
        .group_by(EpisodeAnnotationRow.episode_id)
        .subquery()
    )
    return (
        select(per_rating.c.episode_id)
        .join(totals, totals.c.episode_id == per_rating.c.episode_id)
        .group_by(per_rating.c.episode_id)
        .having(func.max(per_rating.c.votes) >= share * func.max(totals.c.annotators))
    )


async def read_episodes_by_ids(session: AsyncSession, ids: Sequence[int]) -> list[EpisodeRow]:
    return list((await session.execute(select(EpisodeRow).where(EpisodeRow.id.in_(ids)))).scalars())


async def list_episode_scans(session: AsyncSession, dataset_id: int) -> list:
    """What indexing recorded of each episode (no ORM objects: re-registration reads 10,000 of them)."""
    query = (
        select(
            EpisodeRow.index,
            EpisodeRow.file,
            EpisodeRow.locator,
            EpisodeRow.length,
            EpisodeRow.duration,
            EpisodeRow.cameras,
            EpisodeRow.missing,
            EpisodeRow.file_size,
            EpisodeRow.file_mtime,
            EpisodeRow.task_index,
            EpisodeRow.task_indexes,
        )
        .where(EpisodeRow.dataset_id == dataset_id)
        .order_by(EpisodeRow.index)
    )
    return list((await session.execute(query)).all())


async def list_episodes_of(session: AsyncSession, dataset_id: int) -> list[EpisodeRow]:
    """Every episode of a dataset, by index (re-registration compares them with the files)."""
    query = select(EpisodeRow).where(EpisodeRow.dataset_id == dataset_id).order_by(EpisodeRow.index)
    return list((await session.execute(query)).scalars())


async def read_episode_by_index(session: AsyncSession, dataset_id: int, index: int) -> EpisodeRow | None:
    query = select(EpisodeRow).where(EpisodeRow.dataset_id == dataset_id, EpisodeRow.index == index)
    return (await session.execute(query)).scalar_one_or_none()


async def read_episodes_by_indexes(
    session: AsyncSession, keys: Sequence[tuple[int, int]]
) -> list[EpisodeRow]:
    return await entities_with_keys(session, EpisodeRow, (EpisodeRow.dataset_id, EpisodeRow.index), keys)


async def list_episode_pages(
    session: AsyncSession,
    dataset_ids: Sequence[int],
    *,
    filter: EpisodeFilter,
    after_index: int | None,
    limit: int,
    order: str = "INDEX",
    after_key: int | None = None,
) -> dict[int, list[EpisodeRow]]:
    """The first `limit` episodes of each dataset, by index or by a review order (`ORDER_KEYS`, then
    index), for many datasets in one statement. A cursor is the last (key, index) seen."""
    clauses = list(filter.clauses())
    key = ORDER_KEYS.get(order)
    sort = (EpisodeRow.index,) if key is None else (key, EpisodeRow.index)
    if after_index is not None:
        if key is None or after_key is None:
            clauses.append(EpisodeRow.index > after_index)
        else:
            clauses.append(or_(key > after_key, and_(key == after_key, EpisodeRow.index > after_index)))
    return await first_rows_per_group(
        session, EpisodeRow, EpisodeRow.dataset_id, dataset_ids, clauses=clauses, order_by=sort, limit=limit
    )


async def count_episodes(
    session: AsyncSession, dataset_ids: Sequence[int], *, filter: EpisodeFilter
) -> dict[int, int]:
    query = (
        select(EpisodeRow.dataset_id, func.count())
        .where(EpisodeRow.dataset_id.in_(dataset_ids), *filter.clauses())
        .group_by(EpisodeRow.dataset_id)
    )
    counts = {d: 0 for d in dataset_ids}
    counts.update({d: n for d, n in (await session.execute(query)).all()})
    return counts


async def replace_episodes(session: AsyncSession, dataset_id: int, values: Sequence[dict]) -> None:
    """Make the dataset's episodes exactly `values` (keyed by index), keeping rows that still exist (their
    ids, annotations and counters). Bulk statements: new rows in one INSERT, changed rows in one UPDATE by
    primary key, unchanged rows untouched, so re-registering 10,000 episodes writes only what changed."""
    keys = sorted({k for v in values for k in v})
    columns = [getattr(EpisodeRow, k) for k in keys]
    query = select(EpisodeRow.id, *columns).where(EpisodeRow.dataset_id == dataset_id)
    existing = {row.index: row for row in (await session.execute(query)).all()}
    wanted = {v["index"]: v for v in values}
    stale = [i for i in existing if i not in wanted]
    if stale:
        await session.execute(
            delete(EpisodeRow).where(EpisodeRow.dataset_id == dataset_id, EpisodeRow.index.in_(stale))
        )
    fresh = [dict(value, dataset_id=dataset_id) for i, value in wanted.items() if i not in existing]
    changed = [
        dict(value, id=existing[i].id)
        for i, value in wanted.items()
        if i in existing and any(getattr(existing[i], k) != value[k] for k in value)
    ]
    if fresh:
        await session.execute(insert(EpisodeRow), fresh)
    if changed:
        await session.execute(update(EpisodeRow), changed)
    await session.flush()


async def read_episode_with_dataset(
    session: AsyncSession, dataset_id: int, index: int
) -> tuple[DatasetRow | None, EpisodeRow | None]:
    """The dataset and one of its episodes in one statement (the episode may be absent)."""
    query = (
        select(DatasetRow, EpisodeRow)
        .outerjoin(EpisodeRow, (EpisodeRow.dataset_id == DatasetRow.id) & (EpisodeRow.index == index))
        .where(DatasetRow.id == dataset_id)
    )
    row = (await session.execute(query)).first()
    return (row[0], row[1]) if row else (None, None)


async def list_episode_files(
    session: AsyncSession, dataset_id: int, ids: Sequence[int] | None = None
) -> list[tuple[int, int, str, str]]:
    """(id, index, file, locator) of a dataset's episodes (or of `ids` among them), by index: no full rows."""
    query = select(EpisodeRow.id, EpisodeRow.index, EpisodeRow.file, EpisodeRow.locator).where(
        EpisodeRow.dataset_id == dataset_id
    )
    if ids is not None:
        query = query.where(EpisodeRow.id.in_(ids))
    rows = (await session.execute(query.order_by(EpisodeRow.index))).all()
    return [(episode_id, index, file, locator) for episode_id, index, file, locator in rows]
