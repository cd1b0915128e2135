"""Live annotation sessions: who is on which frame of an episode, and the session's status (its
allowed moves are in `annotation_session_states`).

Presence: joining, moving the cursor and an open `annotationSessionEvents` subscription keep a
participant seen; one not seen for `presence_timeout` seconds is marked gone by `sweep`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from domain.accounts.users import Role, Viewer
from domain.annotations.session_states import SessionStatus, check_move, sources
from domain.core.episode_events import EventKind, episode_channel, publish, session_channel
from domain.core.errors import BadUserInput, Conflict, Forbidden, NotFound
from domain.core.runtime import Runtime
from persistence.columns import utcnow
from persistence.repositories import annotation_session as repo
from persistence.repositories import episode as episodes_repo
from persistence.tables import AnnotationSessionRow, SessionParticipantRow

log = logging.getLogger(__name__)


def _channels(row: AnnotationSessionRow) -> list[str]:
    return [session_channel(row.id), episode_channel(row.episode_id)]


async def _session(session: AsyncSession, session_id: int, field: str = "id") -> AnnotationSessionRow:
    """The annotation session, read in the caller's transaction; NOT_FOUND naming `field`."""
    row = await repo.read_session(session, session_id)
    if row is None:
        raise NotFound(f"annotation session {session_id} does not exist", field=field)
    return row


async def start_session(rt: Runtime, viewer: Viewer, episode_id: int) -> AnnotationSessionRow:
    async with rt.sessions() as session, session.begin():
        if not await episodes_repo.read_episodes_by_ids(session, [episode_id]):
            raise NotFound(f"episode {episode_id} does not exist", field="episode_id")
        row = await repo.create_session(
            session, episode_id=episode_id, status=SessionStatus.ACTIVE.value, created_by=viewer.user_id
        )
        session.add(SessionParticipantRow(session_id=row.id, user_id=viewer.user_id))
    await publish(
        rt,
        _channels(row),
        EventKind.PARTICIPANT_JOINED,
        sessionId=row.id,
        episodeId=row.episode_id,
        userId=viewer.user_id,
    )
    return row


async def join_session(rt: Runtime, viewer: Viewer, session_id: int) -> AnnotationSessionRow:
    now = utcnow()
    async with rt.sessions() as session, session.begin():
        row = await _session(session, session_id)
        if row.status == SessionStatus.COMPLETED:
            raise BadUserInput(f"annotation session {session_id} is completed", field="id")
        participant = await repo.read_participant(session, session_id, viewer.user_id)
        if participant is None:
            session.add(SessionParticipantRow(session_id=session_id, user_id=viewer.user_id))
        else:
            participant.left_at = None
            participant.last_seen_at = now
    await publish(
        rt,
        _channels(row),
        EventKind.PARTICIPANT_JOINED,
        sessionId=row.id,
        episodeId=row.episode_id,
        userId=viewer.user_id,
    )
    return row


async def leave_session(rt: Runtime, viewer: Viewer, session_id: int) -> AnnotationSessionRow:
    async with rt.sessions() as session, session.begin():
        row = await _session(session, session_id)
        participant = await repo.read_participant(session, session_id, viewer.user_id)
        if participant is None or participant.left_at is not None:
            raise BadUserInput(f"you are not in annotation session {session_id}", field="id")
        participant.left_at = utcnow()
    await publish(
        rt,
        _channels(row),
        EventKind.PARTICIPANT_LEFT,
        sessionId=row.id,
        episodeId=row.episode_id,
        userId=viewer.user_id,
        reason="left",
    )
    return row


async def move_cursor(rt: Runtime, viewer: Viewer, session_id: int, frame: int) -> SessionParticipantRow:
    async with rt.sessions() as session, session.begin():
        row = await _session(session, session_id, field="session_id")
        episode = (await episodes_repo.read_episodes_by_ids(session, [row.episode_id]))[0]
        if not 0 <= frame < episode.length:
            raise BadUserInput(
                f"frame must be between 0 and {episode.length - 1}, got {frame}", field="frame"
            )
        participant = await repo.read_participant(session, session_id, viewer.user_id)
        if participant is None or participant.left_at is not None:
            raise Forbidden(f"join annotation session {session_id} before moving in it")
        participant.current_frame = frame
        participant.last_seen_at = utcnow()
    await publish(
        rt,
        _channels(row),
        EventKind.PARTICIPANT_MOVED,
        sessionId=row.id,
        episodeId=row.episode_id,
        userId=viewer.user_id,
        frame=frame,
    )
    return participant


async def set_status(
    rt: Runtime, viewer: Viewer, session_id: int, status: SessionStatus
) -> AnnotationSessionRow:
    """Pause, resume or complete the session (the moves `annotation_session_states` allows); any
    other move, such as reopening a completed session or setting the status it has, is CONFLICT
    naming the current status. Its creator or a reviewer only (else FORBIDDEN)."""
    async with rt.sessions() as session, session.begin():
        row = await _session(session, session_id)
        if row.created_by != viewer.user_id and not viewer.can(Role.REVIEWER):
            raise Forbidden("only the session's creator or a reviewer may change its status")
        status = check_move(row.status, status, session_id)
        # Guarded: on PostgreSQL another transaction may have moved it since the read above.
        current = await repo.update_status(
            session, session_id, status.value, utcnow(), only_if_status=sources(status)
        )
        if current is None:  # moved by someone else since it was read
            raise Conflict(
                f"id: annotation session {session_id} changed meanwhile; read it again", field="id"
            )
    await publish(
        rt,
        _channels(row),
        EventKind.SESSION_STATUS_CHANGED,
        sessionId=row.id,
        episodeId=row.episode_id,
        status=status.value,
        userId=viewer.user_id,
    )
    return current


async def touch(rt: Runtime, session_id: int, user_ids: Sequence[int]) -> None:
    async with rt.sessions() as session, session.begin():
        await repo.touch_participants(session, session_id, user_ids, utcnow())


async def sweep(rt: Runtime) -> int:
    """Mark participants not seen for the presence timeout as gone; returns how many."""
    now = utcnow()
    async with rt.sessions() as session, session.begin():
        gone = await repo.mark_gone(session, now - timedelta(seconds=rt.settings.presence_timeout), now)
        sessions = {s.id: s for s in await repo.read_sessions_by_ids(session, [g.session_id for g in gone])}
    for participant in gone:
        row = sessions[participant.session_id]
        await publish(
            rt,
            _channels(row),
            EventKind.PARTICIPANT_LEFT,
            sessionId=row.id,
            episodeId=row.episode_id,
            userId=participant.user_id,
            reason="timeout",
        )
    return len(gone)


async def sweep_forever(rt: Runtime) -> None:
    while True:
        # Every second at most: one indexed query, and the timeout is kept to within a second.
        await asyncio.sleep(min(rt.settings.presence_timeout / 3, 1.0))
        try:
            await sweep(rt)
        except Exception:  # noqa: BLE001 - try again next round
            log.exception("presence sweep failed")


async def sessions_by_ids(rt: Runtime, ids: Sequence[int]) -> list[AnnotationSessionRow | None]:
    async with rt.sessions() as session:
        rows = {r.id: r for r in await repo.read_sessions_by_ids(session, ids)}
    return [rows.get(i) for i in ids]


async def sessions_by_episodes(rt: Runtime, episode_ids: Sequence[int]) -> list[list[AnnotationSessionRow]]:
    async with rt.sessions() as session:
        rows = await repo.read_sessions_by_episodes(session, episode_ids)
    grouped: dict[int, list[AnnotationSessionRow]] = {e: [] for e in episode_ids}
    for row in rows:
        grouped[row.episode_id].append(row)
    return [grouped[e] for e in episode_ids]


async def participants_by_sessions(
    rt: Runtime, session_ids: Sequence[int]
) -> list[list[SessionParticipantRow]]:
    async with rt.sessions() as session:
        rows = await repo.read_participants(session, session_ids)
    grouped: dict[int, list[SessionParticipantRow]] = {s: [] for s in session_ids}
    for row in rows:
        grouped[row.session_id].append(row)
    return [grouped[s] for s in session_ids]


async def participants_by_keys(
    rt: Runtime, keys: Sequence[tuple[int, int]]
) -> list[SessionParticipantRow | None]:
    rows = await participants_by_sessions(rt, sorted({k[0] for k in keys}))
    found = {(r.session_id, r.user_id): r for group in rows for r in group}
    return [found.get(k) for k in keys]
