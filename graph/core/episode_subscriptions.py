from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator

import strawberry
from strawberry import relay

from domain.annotations import sessions as annotation_sessions
from domain.core.episode_events import episode_channel, session_channel
from domain.core.errors import NotFound
from graph.context import Info
from graph.core.episode_event import AnnotationSessionEvent, EpisodeEvent, build_event
from graph.core.stream import channel_messages
from graph.ids import decode_id
from graph.permissions import IsViewer


async def _heartbeat(info: Info, session_id: int) -> None:
    """While the subscription is open its viewer counts as seen in the session."""
    rt = info.context.runtime
    while True:
        with contextlib.suppress(Exception):
            await annotation_sessions.touch(rt, session_id, [info.context.require_viewer().user_id])
        await asyncio.sleep(rt.settings.presence_timeout / 3)


@strawberry.type
class EpisodeSubscriptions:
    @strawberry.subscription(
        description="Everything that happens on an episode: annotations saved or deleted, session events.",
        permission_classes=[IsViewer],
    )
    async def episode_events(
        self, info: Info, episode_id: relay.GlobalID
    ) -> AsyncGenerator[EpisodeEvent, None]:
        wanted = decode_id(episode_id, "Episode", "episodeId")
        if await info.context.loaders.episode.load(wanted) is None:
            raise NotFound(f"episode {episode_id} does not exist", field="episodeId")
        async for message in channel_messages(info.context.runtime, episode_channel(wanted)):
            info.context.fresh_loaders()
            event = await build_event(info, message)
            if event is not None:
                yield event

    @strawberry.subscription(
        description=(
            "Everything that happens in a session: people joining, leaving and moving, annotations "
            "saved or deleted, status changes. While open, it keeps its viewer present in the session."
        ),
        permission_classes=[IsViewer],
    )
    async def annotation_session_events(
        self, info: Info, session_id: relay.GlobalID
    ) -> AsyncGenerator[AnnotationSessionEvent, None]:
        wanted = decode_id(session_id, "AnnotationSession", "sessionId")
        if await info.context.loaders.session.load(wanted) is None:
            raise NotFound(f"annotation session {session_id} does not exist", field="sessionId")
        heartbeat = asyncio.create_task(_heartbeat(info, wanted))
        try:
            async for message in channel_messages(info.context.runtime, session_channel(wanted)):
                info.context.fresh_loaders()
                event = await build_event(info, message)
                if event is not None:
                    yield event
        finally:
            heartbeat.cancel()
