from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay

from domain.annotations import sessions
from graph.context import Info
from graph.loaders import existing
from persistence.tables import AnnotationSessionRow, SessionParticipantRow

if TYPE_CHECKING:
    from graph.accounts.user import User
    from graph.datasets.episode import Episode

# A GraphQL enum here is the domain's class itself, registered in place (strawberry.enum marks the class
# and returns it), so annotations name a class the type checker knows.
SessionStatus = sessions.SessionStatus
strawberry.enum(SessionStatus, description="ACTIVE, PAUSED or COMPLETED.")


@strawberry.type(description="A person in an annotation session.")
class Participant(relay.Node):
    id: relay.NodeID[int]
    current_frame: int = strawberry.field(description="The frame they are on.")
    joined_at: datetime = strawberry.field(description="When they (last) joined.")
    last_seen_at: datetime = strawberry.field(description="When they were last seen.")
    left_at: datetime | None = strawberry.field(
        description="When they left or were marked gone; null while present."
    )
    user_id: strawberry.Private[int]
    session_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: SessionParticipantRow) -> Participant:
        return cls(
            id=row.id,
            current_frame=row.current_frame,
            joined_at=row.joined_at,
            last_seen_at=row.last_seen_at,
            left_at=row.left_at,
            user_id=row.user_id,
            session_id=row.session_id,
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False):
        return [None for _ in node_ids]  # reached through their session

    @strawberry.field(description="True while they are in the session.")
    def present(self) -> bool:
        return self.left_at is None

    @strawberry.field(description="Who they are.")
    async def user(self, info: Info) -> Annotated[User, strawberry.lazy("graph.accounts.user")]:
        from graph.accounts.user import User

        return User.from_row(existing(await info.context.loaders.user.load(self.user_id)))


@strawberry.type(description="Several people annotating one episode at once.")
class AnnotationSession(relay.Node):
    id: relay.NodeID[int]
    status: SessionStatus = strawberry.field(description="ACTIVE, PAUSED or COMPLETED.")
    created_at: datetime = strawberry.field(description="When it started.")
    updated_at: datetime = strawberry.field(description="When its status last changed.")
    row: strawberry.Private[AnnotationSessionRow]

    @classmethod
    def from_row(cls, row: AnnotationSessionRow) -> AnnotationSession:
        return cls(
            id=row.id,
            status=sessions.SessionStatus(row.status),
            created_at=row.created_at,
            updated_at=row.updated_at,
            row=row,
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False):
        rows = await info.context.loaders.session.load_many([int(i) for i in node_ids])
        return [cls.from_row(r) if r else None for r in rows]

    @strawberry.field(description="The episode being annotated.")
    async def episode(self, info: Info) -> Annotated[Episode, strawberry.lazy("graph.datasets.episode")]:
        from graph.datasets.episode import Episode

        return Episode.from_row(existing(await info.context.loaders.episode.load(self.row.episode_id)))

    @strawberry.field(description="Everyone who has been in the session (see `present`).")
    async def participants(self, info: Info) -> list[Participant]:
        return [Participant.from_row(r) for r in await info.context.loaders.participants.load(self.row.id)]

    @strawberry.field(description="Who started it.")
    async def created_by(self, info: Info) -> Annotated[User, strawberry.lazy("graph.accounts.user")] | None:
        from graph.accounts.user import User

        if self.row.created_by is None:
            return None
        row = await info.context.loaders.user.load(self.row.created_by)
        return User.from_row(row) if row else None

    @strawberry.field(
        description="Share of the participants who have saved an annotation of the episode, 0-1."
    )
    async def progress(self, info: Info) -> float:
        people = {p.user_id for p in await info.context.loaders.participants.load(self.row.id)}
        if not people:
            return 0.0
        annotated = {
            a.annotator_id for a in await info.context.loaders.episode_annotations.load(self.row.episode_id)
        }
        return len(people & annotated) / len(people)
