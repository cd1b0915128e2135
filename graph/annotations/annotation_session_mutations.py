from __future__ import annotations

import strawberry
from strawberry import relay

from domain.annotations import sessions
from graph.annotations.annotation_session import AnnotationSession, Participant, SessionStatus
from graph.context import Info
from graph.ids import decode_id
from graph.permissions import IsAnnotator


@strawberry.type
class AnnotationSessionMutations:
    @strawberry.mutation(
        description="Start a live session on an episode; you are its first participant.",
        permission_classes=[IsAnnotator],
    )
    async def start_annotation_session(self, info: Info, episode_id: relay.GlobalID) -> AnnotationSession:
        row = await sessions.start_session(
            info.context.runtime, info.context.require_viewer(), decode_id(episode_id, "Episode", "episodeId")
        )
        return AnnotationSession.from_row(row)

    @strawberry.mutation(
        description="Join (or rejoin) a session that is not completed.", permission_classes=[IsAnnotator]
    )
    async def join_annotation_session(self, info: Info, id: relay.GlobalID) -> AnnotationSession:
        row = await sessions.join_session(
            info.context.runtime, info.context.require_viewer(), decode_id(id, "AnnotationSession", "id")
        )
        return AnnotationSession.from_row(row)

    @strawberry.mutation(description="Leave a session.", permission_classes=[IsAnnotator])
    async def leave_annotation_session(self, info: Info, id: relay.GlobalID) -> AnnotationSession:
        row = await sessions.leave_session(
            info.context.runtime, info.context.require_viewer(), decode_id(id, "AnnotationSession", "id")
        )
        return AnnotationSession.from_row(row)

    @strawberry.mutation(
        description="Tell the others which frame you are on.", permission_classes=[IsAnnotator]
    )
    async def move_cursor(self, info: Info, session_id: relay.GlobalID, frame: int) -> Participant:
        row = await sessions.move_cursor(
            info.context.runtime,
            info.context.require_viewer(),
            decode_id(session_id, "AnnotationSession", "sessionId"),
            frame,
        )
        return Participant.from_row(row)

    @strawberry.mutation(
        description=(
            "Pause (ACTIVE -> PAUSED), resume (PAUSED -> ACTIVE) or complete a session (its creator or "
            "a reviewer). COMPLETED is final; any other move is CONFLICT with extensions.currentStatus."
        ),
        permission_classes=[IsAnnotator],
    )
    async def set_annotation_session_status(
        self, info: Info, id: relay.GlobalID, status: SessionStatus
    ) -> AnnotationSession:
        row = await sessions.set_status(
            info.context.runtime,
            info.context.require_viewer(),
            decode_id(id, "AnnotationSession", "id"),
            sessions.SessionStatus(status.value),
        )
        return AnnotationSession.from_row(row)
