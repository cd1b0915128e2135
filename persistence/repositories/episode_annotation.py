from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.documents import RevisionContent
from persistence.key_sets import entities_with_keys
from persistence.tables import AnnotationRevisionRow, AnomalyRow, EpisodeAnnotationRow, EpisodeRow


async def read_annotation(
    session: AsyncSession, episode_id: int, annotator_id: int
) -> EpisodeAnnotationRow | None:
    query = select(EpisodeAnnotationRow).where(
        EpisodeAnnotationRow.episode_id == episode_id, EpisodeAnnotationRow.annotator_id == annotator_id
    )
    return (await session.execute(query)).scalar_one_or_none()


async def read_annotations_by_ids(session: AsyncSession, ids: Sequence[int]) -> list[EpisodeAnnotationRow]:
    query = select(EpisodeAnnotationRow).where(EpisodeAnnotationRow.id.in_(ids))
    return list((await session.execute(query)).scalars())


async def read_annotations_by_episodes(
    session: AsyncSession, episode_ids: Sequence[int]
) -> list[EpisodeAnnotationRow]:
    query = (
        select(EpisodeAnnotationRow)
        .where(EpisodeAnnotationRow.episode_id.in_(episode_ids))
        .order_by(EpisodeAnnotationRow.episode_id, EpisodeAnnotationRow.id)
    )
    return list((await session.execute(query)).scalars())


async def read_annotations_by_keys(
    session: AsyncSession, keys: Sequence[tuple[int, int]]
) -> list[EpisodeAnnotationRow]:
    """By (episode id, annotator id) pairs, in one statement."""
    columns = (EpisodeAnnotationRow.episode_id, EpisodeAnnotationRow.annotator_id)
    return await entities_with_keys(session, EpisodeAnnotationRow, columns, keys)


async def read_dataset_annotations(session: AsyncSession, dataset_id: int) -> list[EpisodeAnnotationRow]:
    query = (
        select(EpisodeAnnotationRow)
        .join(EpisodeRow, EpisodeRow.id == EpisodeAnnotationRow.episode_id)
        .where(EpisodeRow.dataset_id == dataset_id)
        .order_by(EpisodeAnnotationRow.episode_id)
    )
    return list((await session.execute(query)).scalars())


async def annotator_counts(session: AsyncSession, dataset_id: int) -> dict[int, int]:
    """Episodes of the dataset by how many annotators they have: {0: n, 1: n, 2: n, ...}."""
    per_episode = (
        select(EpisodeRow.id, func.count(EpisodeAnnotationRow.id).label("annotators"))
        .outerjoin(EpisodeAnnotationRow, EpisodeAnnotationRow.episode_id == EpisodeRow.id)
        .where(EpisodeRow.dataset_id == dataset_id)
        .group_by(EpisodeRow.id)
        .subquery()
    )
    query = select(per_episode.c.annotators, func.count()).group_by(per_episode.c.annotators)
    return {annotators: n for annotators, n in (await session.execute(query)).all()}


async def insert_annotation(session: AsyncSession, values: dict) -> int:
    result = await session.execute(
        insert(EpisodeAnnotationRow).values(**values).returning(EpisodeAnnotationRow.id)
    )
    return result.scalar_one()


async def update_annotation_if_version(
    session: AsyncSession, episode_id: int, annotator_id: int, expected_version: int, values: dict
) -> int | None:
    """Write only if the stored version is `expected_version`; returns the annotation id or None."""
    result = await session.execute(
        update(EpisodeAnnotationRow)
        .where(
            EpisodeAnnotationRow.episode_id == episode_id,
            EpisodeAnnotationRow.annotator_id == annotator_id,
            EpisodeAnnotationRow.version == expected_version,
        )
        .values(**values, version=EpisodeAnnotationRow.version + 1)
        .returning(EpisodeAnnotationRow.id)
    )
    return result.scalar_one_or_none()


async def replace_anomalies(session: AsyncSession, annotation_id: int, anomalies: Sequence[dict]) -> None:
    await session.execute(delete(AnomalyRow).where(AnomalyRow.annotation_id == annotation_id))
    if anomalies:
        episode_id = await session.scalar(
            select(EpisodeAnnotationRow.episode_id).where(EpisodeAnnotationRow.id == annotation_id)
        )
        await session.execute(
            insert(AnomalyRow),
            [
                dict(a, annotation_id=annotation_id, episode_id=episode_id, position=i)
                for i, a in enumerate(anomalies)
            ],
        )


async def read_anomalies(session: AsyncSession, annotation_ids: Sequence[int]) -> list[AnomalyRow]:
    query = (
        select(AnomalyRow)
        .where(AnomalyRow.annotation_id.in_(annotation_ids))
        .order_by(AnomalyRow.annotation_id, AnomalyRow.position)
    )
    return list((await session.execute(query)).scalars())


async def add_revision(
    session: AsyncSession, annotation_id: int, version: int, content: RevisionContent, saved_by: int
) -> None:
    session.add(
        AnnotationRevisionRow(
            annotation_id=annotation_id, version=version, content=content, saved_by=saved_by
        )
    )
    await session.flush()


async def read_revisions(session: AsyncSession, annotation_id: int) -> list[AnnotationRevisionRow]:
    query = (
        select(AnnotationRevisionRow)
        .where(AnnotationRevisionRow.annotation_id == annotation_id)
        .order_by(AnnotationRevisionRow.version)
    )
    return list((await session.execute(query)).scalars())


async def delete_annotation(session: AsyncSession, annotation_id: int) -> bool:
    result = await session.execute(
        delete(EpisodeAnnotationRow).where(EpisodeAnnotationRow.id == annotation_id)
    )
    # Session.execute is typed to give a Result; a DELETE or UPDATE gives a CursorResult.
    return cast(CursorResult, result).rowcount == 1


async def read_revisions_at(
    session: AsyncSession, keys: Sequence[tuple[int, int]]
) -> list[AnnotationRevisionRow]:
    """Revisions by (annotation id, version), in one statement: the content of current versions."""
    columns = (AnnotationRevisionRow.annotation_id, AnnotationRevisionRow.version)
    return await entities_with_keys(session, AnnotationRevisionRow, columns, keys)
