from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.tables import AnnotationSessionRow, SessionParticipantRow


async def create_session(session: AsyncSession, **values) -> AnnotationSessionRow:
    row = AnnotationSessionRow(**values)
    session.add(row)
    await session.flush()
    return row


async def read_session(session: AsyncSession, session_id: int) -> AnnotationSessionRow | None:
    return await session.get(AnnotationSessionRow, session_id)


async def read_sessions_by_ids(session: AsyncSession, ids: Sequence[int]) -> list[AnnotationSessionRow]:
    query = select(AnnotationSessionRow).where(AnnotationSessionRow.id.in_(ids))
    return list((await session.execute(query)).scalars())


async def read_sessions_by_episodes(
    session: AsyncSession, episode_ids: Sequence[int]
) -> list[AnnotationSessionRow]:
    query = (
        select(AnnotationSessionRow)
        .where(AnnotationSessionRow.episode_id.in_(episode_ids))
        .order_by(AnnotationSessionRow.id)
    )
    return list((await session.execute(query)).scalars())


async def update_status(
    session: AsyncSession, session_id: int, status: str, when: datetime, *, only_if_status: Sequence[str]
) -> AnnotationSessionRow | None:
    """Set the status, only from those states (None when the session was elsewhere or is gone)."""
    query = (
        update(AnnotationSessionRow)
        .where(AnnotationSessionRow.id == session_id, AnnotationSessionRow.status.in_(list(only_if_status)))
        .values(status=status, updated_at=when)
        .returning(AnnotationSessionRow)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def open_session_ids(session: AsyncSession, episode_id: int) -> list[int]:
    query = select(AnnotationSessionRow.id).where(
        AnnotationSessionRow.episode_id == episode_id, AnnotationSessionRow.status != "COMPLETED"
    )
    return list((await session.execute(query)).scalars())


async def read_participant(
    session: AsyncSession, session_id: int, user_id: int
) -> SessionParticipantRow | None:
    query = select(SessionParticipantRow).where(
        SessionParticipantRow.session_id == session_id, SessionParticipantRow.user_id == user_id
    )
    return (await session.execute(query)).scalar_one_or_none()


async def read_participants(session: AsyncSession, session_ids: Sequence[int]) -> list[SessionParticipantRow]:
    query = (
        select(SessionParticipantRow)
        .where(SessionParticipantRow.session_id.in_(session_ids))
        .order_by(SessionParticipantRow.session_id, SessionParticipantRow.id)
    )
    return list((await session.execute(query)).scalars())


async def touch_participants(
    session: AsyncSession, session_id: int, user_ids: Sequence[int], when: datetime
) -> None:
    await session.execute(
        update(SessionParticipantRow)
        .where(
            SessionParticipantRow.session_id == session_id,
            SessionParticipantRow.user_id.in_(user_ids),
            SessionParticipantRow.left_at.is_(None),
        )
        .values(last_seen_at=when)
    )


async def mark_gone(
    session: AsyncSession, seen_before: datetime, when: datetime
) -> list[SessionParticipantRow]:
    """Participants not seen since `seen_before` are marked as left; returns them."""
    query = select(SessionParticipantRow).where(
        SessionParticipantRow.left_at.is_(None), SessionParticipantRow.last_seen_at < seen_before
    )
    gone = list((await session.execute(query)).scalars())
    for row in gone:
        row.left_at = when
    await session.flush()
    return gone
