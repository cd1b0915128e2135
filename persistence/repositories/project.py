"""Projects and the episodes linked to them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.columns import utcnow
from persistence.tables import EpisodeRow, LabelRow, ObjectAnnotationRow, ProjectEpisodeRow, ProjectRow

Link = ProjectEpisodeRow


async def read_project(session: AsyncSession, project_id: int) -> ProjectRow | None:
    return await session.get(ProjectRow, project_id)


async def lock_project(session: AsyncSession, project_id: int) -> ProjectRow | None:
    """The project, locked until the transaction ends (SELECT ... FOR UPDATE on PostgreSQL; SQLite has
    one writer at a time anyway), so a check of its status holds for the writes that follow."""
    query = select(ProjectRow).where(ProjectRow.id == project_id).with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def read_projects_by_ids(session: AsyncSession, ids: Sequence[int]) -> list[ProjectRow]:
    return list((await session.execute(select(ProjectRow).where(ProjectRow.id.in_(ids)))).scalars())


async def list_projects(
    session: AsyncSession, *, after_id: int | None, limit: int, status: str | None = None
) -> list[ProjectRow]:
    query = select(ProjectRow).order_by(ProjectRow.id).limit(limit)
    if after_id is not None:
        query = query.where(ProjectRow.id > after_id)
    if status is not None:
        query = query.where(ProjectRow.status == status)
    return list((await session.execute(query)).scalars())


async def count_projects(session: AsyncSession, status: str | None = None) -> int:
    query = select(func.count()).select_from(ProjectRow)
    if status is not None:
        query = query.where(ProjectRow.status == status)
    return (await session.execute(query)).scalar_one()


async def insert_project(session: AsyncSession, values: dict) -> ProjectRow:
    now = utcnow()
    result = await session.execute(
        insert(ProjectRow).values(created_at=now, updated_at=now, **values).returning(ProjectRow)
    )
    return result.scalar_one()


async def update_project(session: AsyncSession, project_id: int, values: dict) -> ProjectRow | None:
    result = await session.execute(
        update(ProjectRow)
        .where(ProjectRow.id == project_id)
        .values(updated_at=utcnow(), version=ProjectRow.version + 1, **values)
        .returning(ProjectRow)
    )
    return result.scalar_one_or_none()


async def delete_project(session: AsyncSession, project_id: int) -> bool:
    result = await session.execute(delete(ProjectRow).where(ProjectRow.id == project_id))
    # Session.execute is typed to give a Result; a DELETE or UPDATE gives a CursorResult.
    return cast(CursorResult, result).rowcount > 0


async def linked_episode_ids(session: AsyncSession, project_id: int) -> list[int]:
    query = select(Link.episode_id).where(Link.project_id == project_id).order_by(Link.episode_id)
    return list((await session.execute(query)).scalars())


async def links_by_projects(session: AsyncSession, project_ids: Sequence[int]) -> list[Link]:
    query = select(Link).where(Link.project_id.in_(project_ids)).order_by(Link.project_id, Link.episode_id)
    return list((await session.execute(query)).scalars())


async def link_episodes(
    session: AsyncSession,
    project_id: int,
    episode_ids: Sequence[int],
    reason: str | None,
    user_id: int | None,
) -> list[int]:
    """Link the episodes not linked yet (linking twice changes nothing); the newly linked ids."""
    existing = set(
        (
            await session.execute(
                select(Link.episode_id).where(Link.project_id == project_id, Link.episode_id.in_(episode_ids))
            )
        ).scalars()
    )
    new = [e for e in dict.fromkeys(episode_ids) if e not in existing]
    if new:
        now = utcnow()
        await session.execute(
            insert(Link),
            [
                {
                    "project_id": project_id,
                    "episode_id": e,
                    "reason": reason,
                    "linked_by": user_id,
                    "linked_at": now,
                }
                for e in new
            ],
        )
    return new


async def unlink_episodes(session: AsyncSession, project_id: int, episode_ids: Sequence[int]) -> int:
    result = await session.execute(
        delete(Link).where(Link.project_id == project_id, Link.episode_id.in_(episode_ids))
    )
    # Session.execute is typed to give a Result; a DELETE or UPDATE gives a CursorResult.
    return cast(CursorResult, result).rowcount


async def rank_unlinked_episodes(
    session: AsyncSession, project_id: int, label_names: Sequence[str], limit: int
) -> list[tuple[EpisodeRow, int]]:
    """Episodes not linked to the project, most validated boxes of its labels first (ties: by id)."""
    linked = select(Link.episode_id).where(Link.project_id == project_id)
    boxes = (
        select(ObjectAnnotationRow.episode_id, func.count().label("n"))
        .join(LabelRow, LabelRow.id == ObjectAnnotationRow.label_id)
        .where(
            ObjectAnnotationRow.review == "VALIDATED",
            ObjectAnnotationRow.outside.is_(False),
            LabelRow.name.in_(label_names),
            ObjectAnnotationRow.episode_id.not_in(linked),
        )
        .group_by(ObjectAnnotationRow.episode_id)
        .subquery()
    )
    query = (
        select(EpisodeRow, boxes.c.n)
        .join(boxes, boxes.c.episode_id == EpisodeRow.id)
        .order_by(boxes.c.n.desc(), EpisodeRow.id)
        .limit(limit)
    )
    return [(row, n) for row, n in (await session.execute(query)).all()]
