"""Time segments, their vocabulary (segment labels) and corrected task texts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.columns import utcnow
from persistence.tables import EpisodeRow, EpisodeSegmentRow, EpisodeSegmentTaskRow, SegmentLabelRow

# Segment labels


async def read_segment_labels_by_datasets(
    session: AsyncSession, dataset_ids: Sequence[int]
) -> list[SegmentLabelRow]:
    query = (
        select(SegmentLabelRow)
        .where(SegmentLabelRow.dataset_id.in_(dataset_ids))
        .order_by(SegmentLabelRow.id)
    )
    return list((await session.execute(query)).scalars())


async def read_segment_labels_by_ids(session: AsyncSession, ids: Sequence[int]) -> list[SegmentLabelRow]:
    query = select(SegmentLabelRow).where(SegmentLabelRow.id.in_(ids))
    return list((await session.execute(query)).scalars())


async def insert_segment_label(session: AsyncSession, values: dict) -> SegmentLabelRow:
    fields = {"created_at": utcnow(), **values}
    result = await session.execute(insert(SegmentLabelRow).values(**fields).returning(SegmentLabelRow))
    return result.scalar_one()


async def update_segment_label(session: AsyncSession, label_id: int, values: dict) -> SegmentLabelRow | None:
    result = await session.execute(
        update(SegmentLabelRow)
        .where(SegmentLabelRow.id == label_id)
        .values(**values)
        .returning(SegmentLabelRow)
    )
    return result.scalar_one_or_none()


async def count_label_segments(session: AsyncSession, label_id: int) -> int:
    query = select(func.count()).where(EpisodeSegmentRow.label_id == label_id)
    return (await session.execute(query)).scalar_one()


async def delete_segment_label(session: AsyncSession, label_id: int) -> bool:
    result = await session.execute(delete(SegmentLabelRow).where(SegmentLabelRow.id == label_id))
    return cast(CursorResult, result).rowcount == 1


# Segments


async def read_segments_by_ids(session: AsyncSession, ids: Sequence[int]) -> list[EpisodeSegmentRow]:
    query = select(EpisodeSegmentRow).where(EpisodeSegmentRow.id.in_(ids))
    return list((await session.execute(query)).scalars())


async def read_segments_by_episodes(
    session: AsyncSession, episode_ids: Sequence[int]
) -> list[EpisodeSegmentRow]:
    """Ordered by episode, first frame, last frame, id."""
    query = (
        select(EpisodeSegmentRow)
        .where(EpisodeSegmentRow.episode_id.in_(episode_ids))
        .order_by(
            EpisodeSegmentRow.episode_id,
            EpisodeSegmentRow.from_frame,
            EpisodeSegmentRow.to_frame,
            EpisodeSegmentRow.id,
        )
    )
    return list((await session.execute(query)).scalars())


# The columns consensus reads, in SegmentMark's order: plain tuples, no ORM objects (a page of episodes
# holds thousands of segments).
MARK_COLUMNS = (
    EpisodeSegmentRow.id,
    EpisodeSegmentRow.annotator_id,
    EpisodeSegmentRow.label_id,
    EpisodeSegmentRow.from_frame,
    EpisodeSegmentRow.to_frame,
    EpisodeSegmentRow.from_time,
    EpisodeSegmentRow.to_time,
)


async def read_segment_marks(
    session: AsyncSession, episode_ids: Sequence[int] | None = None, dataset_id: int | None = None
) -> list[tuple]:
    """(episode id, *MARK_COLUMNS) of the episodes' segments, or of all of a dataset's."""
    query = select(EpisodeSegmentRow.episode_id, *MARK_COLUMNS)
    if episode_ids is not None:
        query = query.where(EpisodeSegmentRow.episode_id.in_(episode_ids))
    if dataset_id is not None:
        query = query.join(EpisodeRow, EpisodeRow.id == EpisodeSegmentRow.episode_id).where(
            EpisodeRow.dataset_id == dataset_id
        )
    return [tuple(r) for r in (await session.execute(query)).all()]


async def read_annotator_segments(
    session: AsyncSession, episode_id: int, annotator_id: int
) -> list[EpisodeSegmentRow]:
    query = select(EpisodeSegmentRow).where(
        EpisodeSegmentRow.episode_id == episode_id, EpisodeSegmentRow.annotator_id == annotator_id
    )
    return list((await session.execute(query)).scalars())


async def insert_segment(session: AsyncSession, values: dict) -> EpisodeSegmentRow:
    now = utcnow()
    fields = {"created_at": now, "updated_at": now, **values}
    result = await session.execute(insert(EpisodeSegmentRow).values(**fields).returning(EpisodeSegmentRow))
    return result.scalar_one()


async def update_segment_if_version(
    session: AsyncSession, segment_id: int, expected_version: int, values: dict
) -> EpisodeSegmentRow | None:
    """Write only if the stored version is `expected_version`; the row as written, or None."""
    result = await session.execute(
        update(EpisodeSegmentRow)
        .where(EpisodeSegmentRow.id == segment_id, EpisodeSegmentRow.version == expected_version)
        .values(**values, version=EpisodeSegmentRow.version + 1)
        .returning(EpisodeSegmentRow)
    )
    return result.scalar_one_or_none()


async def delete_segment_if_version(session: AsyncSession, segment_id: int, expected_version: int) -> bool:
    result = await session.execute(
        delete(EpisodeSegmentRow).where(
            EpisodeSegmentRow.id == segment_id, EpisodeSegmentRow.version == expected_version
        )
    )
    return cast(CursorResult, result).rowcount == 1


# Corrected task texts


async def read_task_texts(session: AsyncSession, episode_ids: Sequence[int]) -> list[EpisodeSegmentTaskRow]:
    query = select(EpisodeSegmentTaskRow).where(EpisodeSegmentTaskRow.episode_id.in_(episode_ids))
    return list((await session.execute(query)).scalars())


async def insert_task_text(session: AsyncSession, values: dict) -> EpisodeSegmentTaskRow:
    result = await session.execute(
        insert(EpisodeSegmentTaskRow).values(**values).returning(EpisodeSegmentTaskRow)
    )
    return result.scalar_one()


async def update_task_text_if_version(
    session: AsyncSession, episode_id: int, expected_version: int, values: dict
) -> EpisodeSegmentTaskRow | None:
    result = await session.execute(
        update(EpisodeSegmentTaskRow)
        .where(
            EpisodeSegmentTaskRow.episode_id == episode_id, EpisodeSegmentTaskRow.version == expected_version
        )
        .values(**values, version=EpisodeSegmentTaskRow.version + 1)
        .returning(EpisodeSegmentTaskRow)
    )
    return result.scalar_one_or_none()


async def lock_episode(session: AsyncSession, episode_id: int) -> None:
    """Lock the episode's row until the transaction ends (FOR UPDATE on PostgreSQL; SQLite has one
    writer), so that checks over an episode's segments and the write they allow do not interleave."""
    await session.execute(select(EpisodeRow.id).where(EpisodeRow.id == episode_id).with_for_update())
