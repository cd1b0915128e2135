"""The typed events of episodes and annotation sessions (GraphQL unions), built from messages."""

from __future__ import annotations

import asyncio
from typing import Annotated

import strawberry
from strawberry import relay

from domain.core import episode_events
from domain.core.episode_events import EventKind
from graph.accounts.user import User
from graph.annotations.annotation_session import AnnotationSession, Participant, SessionStatus
from graph.annotations.episode_annotation import EpisodeAnnotation
from graph.context import Info
from graph.datasets.episode import Episode
from graph.loaders import Loaders
from graph.objects.object_annotation import ObjectAnnotation
from graph.segments.segment import EpisodeSegmentsChanged


@strawberry.type(description="Someone joined a session.")
class ParticipantJoined:
    session: AnnotationSession = strawberry.field(description="The session.")
    participant: Participant = strawberry.field(description="Who joined, where they are.")


@strawberry.type(description="Someone left a session, or was marked gone after the presence timeout.")
class ParticipantLeft:
    session: AnnotationSession = strawberry.field(description="The session.")
    participant: Participant = strawberry.field(description="Who left.")
    reason: str = strawberry.field(description="`left`, or `timeout` when they vanished without leaving.")


@strawberry.type(description="Someone moved to another frame.")
class ParticipantMoved:
    session: AnnotationSession = strawberry.field(description="The session.")
    participant: Participant = strawberry.field(description="Who moved.")
    frame: int = strawberry.field(description="The frame they moved to.")


@strawberry.type(description="An episode annotation was saved.")
class EpisodeAnnotationSaved:
    version: int = strawberry.field(description="The version this save created.")
    annotation: EpisodeAnnotation | None = strawberry.field(
        description="The annotation as it is now (its version may be newer); null if deleted since."
    )
    by: User = strawberry.field(description="Who saved it.")


@strawberry.type(description="An episode annotation was deleted.")
class EpisodeAnnotationDeleted:
    annotation_id: relay.GlobalID = strawberry.field(description="The id the annotation had.")
    version: int = strawberry.field(description="Its last version.")
    annotator: User = strawberry.field(description="Whose annotation it was.")
    by: User = strawberry.field(description="Who deleted it.")
    episode: Episode = strawberry.field(description="The episode.")


@strawberry.type(description="A session was paused, resumed or completed.")
class SessionStatusChanged:
    session: AnnotationSession = strawberry.field(description="The session.")
    status: SessionStatus = strawberry.field(description="The status it changed to.")
    by: User = strawberry.field(description="Who changed it.")


# A GraphQL enum here is the domain's class itself, registered in place (strawberry.enum marks the class
# and returns it), so annotations name a class the type checker knows.
ObjectChange = episode_events.ObjectChange
strawberry.enum(ObjectChange, description="What happened to boxes.")


@strawberry.type(description="Boxes were created, changed, reviewed, interpolated, imported or deleted.")
class ObjectAnnotationsChanged:
    action: ObjectChange = strawberry.field(description="What happened.")
    count: int = strawberry.field(description="How many boxes it touched.")
    objects: list[ObjectAnnotation] = strawberry.field(
        description=(
            "The boxes as they are now (empty for DELETED, and when more than 500 changed at once: "
            "re-read `episode.objects` then)."
        )
    )
    object_ids: list[relay.GlobalID] = strawberry.field(
        description="The ids of the boxes (also of deleted ones); empty when more than 500 changed."
    )
    episode: Episode = strawberry.field(description="The episode.")
    by: User = strawberry.field(description="Who changed them.")


_MEMBERS = (
    ParticipantJoined
    | ParticipantLeft
    | ParticipantMoved
    | EpisodeAnnotationSaved
    | EpisodeAnnotationDeleted
    | SessionStatusChanged
    | ObjectAnnotationsChanged
    | EpisodeSegmentsChanged
)
EpisodeEvent = Annotated[
    _MEMBERS, strawberry.union("EpisodeEvent", description="Something happened on an episode.")
]
AnnotationSessionEvent = Annotated[
    _MEMBERS, strawberry.union("AnnotationSessionEvent", description="Something happened in a session.")
]


# The rows an event names, by loader: read once per message in a process, then primed into each
# subscriber's own fresh loaders (a hundred subscribers do not read the same rows a hundred times).
_EVENT_ROWS = {
    "session": lambda m: m.get("sessionId"),
    "participant": lambda m: (m["sessionId"], m["userId"]) if "sessionId" in m and "userId" in m else None,
    "annotation": lambda m: m.get("annotationId"),
    "episode": lambda m: m.get("episodeId"),
    "user": lambda m: m.get("byUserId", m.get("userId")),
}


async def _read_event_rows(rt, message: dict) -> list[tuple[str, object, object]]:
    loaders = Loaders(rt)  # this message's own, not any subscriber's
    wanted = [(name, key(message)) for name, key in _EVENT_ROWS.items() if key(message) is not None]
    if "annotatorId" in message:
        wanted.append(("user", message["annotatorId"]))
    rows = await asyncio.gather(*(getattr(loaders, name).load(key) for name, key in wanted))
    return [(name, key, row) for (name, key), row in zip(wanted, rows, strict=True)]


async def _prime_from_message(info: Info, message: dict) -> None:
    # Every subscriber in this process receives the same message object, so the read is shared.
    shared = message.get("_rows")
    if shared is None:
        shared = message["_rows"] = asyncio.ensure_future(_read_event_rows(info.context.runtime, message))
    for name, key, row in await asyncio.shield(shared):
        if row is not None:
            getattr(info.context.loaders, name).prime(key, row)


async def build_event(info: Info, message: dict):
    """The typed event a message stands for, read fresh; None when what it names is gone."""
    await _prime_from_message(info, message)
    loaders = info.context.loaders
    kind = EventKind(message["kind"])
    if kind in (EventKind.PARTICIPANT_JOINED, EventKind.PARTICIPANT_LEFT, EventKind.PARTICIPANT_MOVED):
        session = await loaders.session.load(message["sessionId"])
        participant = await loaders.participant.load((message["sessionId"], message["userId"]))
        if session is None or participant is None:
            return None
        session_type, participant_type = (
            AnnotationSession.from_row(session),
            Participant.from_row(participant),
        )
        if kind == EventKind.PARTICIPANT_JOINED:
            return ParticipantJoined(session=session_type, participant=participant_type)
        if kind == EventKind.PARTICIPANT_LEFT:
            return ParticipantLeft(
                session=session_type, participant=participant_type, reason=message["reason"]
            )
        return ParticipantMoved(session=session_type, participant=participant_type, frame=message["frame"])
    if kind == EventKind.SEGMENTS_CHANGED:
        return await EpisodeSegmentsChanged.from_message(info, message)
    by = await loaders.user.load(message["byUserId"] if "byUserId" in message else message["userId"])
    if by is None:
        return None
    if kind == EventKind.ANNOTATION_SAVED:
        row = await loaders.annotation.load(message["annotationId"])
        return EpisodeAnnotationSaved(
            version=message["version"],
            annotation=EpisodeAnnotation.from_row(row) if row else None,
            by=User.from_row(by),
        )
    if kind == EventKind.OBJECTS_CHANGED:
        episode = await loaders.episode.load(message["episodeId"])
        if episode is None:
            return None
        ids = message.get("ids") or []
        action = episode_events.ObjectChange(message["action"])
        rows = [] if action == episode_events.ObjectChange.DELETED else await loaders.box.load_many(ids)
        return ObjectAnnotationsChanged(
            action=action,
            count=message["count"],
            objects=[ObjectAnnotation.from_row(r) for r in rows if r is not None],
            object_ids=[relay.GlobalID("ObjectAnnotation", str(i)) for i in ids],
            episode=Episode.from_row(episode),
            by=User.from_row(by),
        )
    if kind == EventKind.ANNOTATION_DELETED:
        annotator = await loaders.user.load(message["annotatorId"])
        episode = await loaders.episode.load(message["episodeId"])
        if annotator is None or episode is None:
            return None
        return EpisodeAnnotationDeleted(
            annotation_id=relay.GlobalID("EpisodeAnnotation", str(message["annotationId"])),
            version=message["version"],
            annotator=User.from_row(annotator),
            by=User.from_row(by),
            episode=Episode.from_row(episode),
        )
    session = await loaders.session.load(message["sessionId"])
    if session is None:
        return None
    return SessionStatusChanged(
        session=AnnotationSession.from_row(session),
        status=SessionStatus(message["status"]),
        by=User.from_row(by),
    )
