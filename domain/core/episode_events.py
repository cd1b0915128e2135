"""Live events about episodes and annotation sessions: channel names and event kinds.

A message is a small JSON object of ids; subscribers re-read what they show. Services publish
only after their transaction commits, and a failed publish never fails the change it reports.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from domain.core.runtime import Runtime

log = logging.getLogger(__name__)


class EventKind(StrEnum):
    PARTICIPANT_JOINED = "PARTICIPANT_JOINED"
    PARTICIPANT_LEFT = "PARTICIPANT_LEFT"
    PARTICIPANT_MOVED = "PARTICIPANT_MOVED"
    ANNOTATION_SAVED = "ANNOTATION_SAVED"
    ANNOTATION_DELETED = "ANNOTATION_DELETED"
    SESSION_STATUS_CHANGED = "SESSION_STATUS_CHANGED"
    OBJECTS_CHANGED = "OBJECTS_CHANGED"
    SEGMENTS_CHANGED = "SEGMENTS_CHANGED"


class ObjectChange(StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"
    REVIEWED = "REVIEWED"
    INTERPOLATED = "INTERPOLATED"
    IMPORTED = "IMPORTED"


# An event names at most this many boxes; a bigger change says only how many (clients re-read).
EVENT_IDS_MAX = 500


def episode_channel(episode_id: int) -> str:
    return f"episode.{episode_id}"


def session_channel(session_id: int) -> str:
    return f"session.{session_id}"


async def publish(rt: Runtime, channels: list[str], kind: EventKind, **payload) -> None:
    message = {"kind": kind.value, **payload}
    for channel in channels:
        try:
            await rt.events.publish(channel, message)
        except Exception:  # noqa: BLE001 - the change is committed; subscribers re-read on their next event
            log.warning("could not publish %s on %s", kind, channel, exc_info=True)
