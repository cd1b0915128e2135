"""Time segments: an annotator's labelled frame ranges on an episode, each saved with optimistic
concurrency.

A new segment is version 1; an update or delete names the version it replaces (`expected_version`),
and any other version is a CONFLICT carrying the current version and content. Annotators act on their
own segments, reviewers on anyone's. Every accepted change is published on the episode's channel and
its open annotation sessions' channels (SEGMENTS_CHANGED) after it commits.

Checks (BAD_USER_INPUT naming the field): `from_frame` and `to_frame` inside the episode and in order,
`label_id` a label of the episode's dataset, `instruction` and `notes` text, and no overlap with the
annotator's other segments on the episode when either label says its segments may not overlap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from domain.accounts.users import Role, Viewer
from domain.core.episode_events import EventKind, episode_channel, publish, session_channel
from domain.core.errors import BadUserInput, Conflict, Forbidden, NotFound, check_text
from domain.core.runtime import Runtime
from domain.segments.consensus import SegmentConsensus, SegmentMark, check_min_iou, segment_consensus
from domain.segments.times import frame_times
from persistence.columns import utcnow
from persistence.repositories import annotation_session as sessions_repo
from persistence.repositories import dataset as datasets_repo
from persistence.repositories import episode as episodes_repo
from persistence.repositories import segment as repo
from persistence.tables import EpisodeRow, EpisodeSegmentRow, SegmentLabelRow

TEXT_MAX = 2000


class SegmentChange(StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"


@dataclass(frozen=True)
class SegmentDraft:
    """A segment's content: frames inclusive, a segment label of the episode's dataset."""

    label_id: int
    from_frame: int
    to_frame: int
    instruction: str | None = None
    notes: str | None = None


def content(row: EpisodeSegmentRow) -> dict:
    """A segment's content as a CONFLICT shows it (camelCase, as the client sent it)."""
    return {
        "labelId": row.label_id,
        "fromFrame": row.from_frame,
        "toFrame": row.to_frame,
        "instruction": row.instruction,
        "notes": row.notes,
    }


def _annotator(viewer: Viewer, annotator_id: int | None, action: str) -> int:
    """Whose segment this is: annotators act on their own, reviewers on anyone's."""
    if annotator_id is None or annotator_id == viewer.user_id:
        return viewer.user_id
    if not viewer.can(Role.REVIEWER):
        raise Forbidden(f"only reviewers may {action} another annotator's segments")
    return annotator_id


def _optional_text(value: str | None, field: str) -> str | None:
    if value is None or not value.strip():
        return None
    return check_text(value, field, max_length=TEXT_MAX)


def _overlaps(a_from: int, a_to: int, b_from: int, b_to: int) -> bool:
    return a_from <= b_to and b_from <= a_to


async def _episode(session: AsyncSession, episode_id: int, field: str = "episode_id") -> EpisodeRow:
    found = await episodes_repo.read_episodes_by_ids(session, [episode_id])
    if not found:
        raise NotFound(f"episode {episode_id} does not exist", field=field)
    return found[0]


async def _checked(
    session: AsyncSession,
    episode: EpisodeRow,
    annotator: int,
    draft: SegmentDraft,
    replacing: int | None,
) -> tuple[SegmentDraft, SegmentLabelRow]:
    """The draft with its texts cleaned, and its label; BAD_USER_INPUT naming the field at fault."""
    if not 0 <= draft.from_frame < episode.length:
        raise BadUserInput(
            f"from_frame must be in 0..{episode.length - 1}, got {draft.from_frame}", field="from_frame"
        )
    if not 0 <= draft.to_frame < episode.length:
        raise BadUserInput(
            f"to_frame must be in 0..{episode.length - 1}, got {draft.to_frame}", field="to_frame"
        )
    if draft.to_frame < draft.from_frame:
        raise BadUserInput(
            f"to_frame must not be before from_frame ({draft.from_frame}), got {draft.to_frame}",
            field="to_frame",
        )
    labels = {r.id: r for r in await repo.read_segment_labels_by_datasets(session, [episode.dataset_id])}
    label = labels.get(draft.label_id)
    if label is None:
        raise BadUserInput(
            f"label_id {draft.label_id} is not a segment label of the episode's dataset", field="label_id"
        )
    cleaned = SegmentDraft(
        label_id=draft.label_id,
        from_frame=draft.from_frame,
        to_frame=draft.to_frame,
        instruction=_optional_text(draft.instruction, "instruction"),
        notes=_optional_text(draft.notes, "notes"),
    )
    for other in await repo.read_annotator_segments(session, episode.id, annotator):
        if other.id == replacing or not _overlaps(
            draft.from_frame, draft.to_frame, other.from_frame, other.to_frame
        ):
            continue
        other_label = labels[other.label_id]
        if label.may_overlap and other_label.may_overlap:
            continue
        strict = label if not label.may_overlap else other_label
        raise BadUserInput(
            f"from_frame: frames {draft.from_frame}..{draft.to_frame} overlap segment {other.id} "
            f"({other_label.name!r}, frames {other.from_frame}..{other.to_frame}); "
            f"{strict.name!r} segments may not overlap others",
            field="from_frame",
            segmentId=other.id,
        )
    return cleaned, label


async def _values(
    rt: Runtime, session: AsyncSession, episode: EpisodeRow, draft: SegmentDraft, viewer: Viewer
) -> dict:
    dataset = await datasets_repo.read_dataset(session, episode.dataset_id)
    assert dataset is not None  # the episode's dataset (a foreign key)
    start, end = await frame_times(rt, dataset, episode, [draft.from_frame, draft.to_frame])
    return {
        "label_id": draft.label_id,
        "from_frame": draft.from_frame,
        "to_frame": draft.to_frame,
        "from_time": start,
        "to_time": end,
        "instruction": draft.instruction,
        "notes": draft.notes,
        "updated_by": viewer.user_id,
        "updated_at": utcnow(),
    }


async def _published(
    rt: Runtime, viewer: Viewer, row: EpisodeSegmentRow, sessions: list[int], action: SegmentChange
) -> None:
    channels = [episode_channel(row.episode_id), *(session_channel(s) for s in sessions)]
    await publish(
        rt,
        channels,
        EventKind.SEGMENTS_CHANGED,
        episodeId=row.episode_id,
        segmentId=row.id,
        annotatorId=row.annotator_id,
        version=row.version,
        action=action.value,
        byUserId=viewer.user_id,
    )


async def create_segment(
    rt: Runtime, viewer: Viewer, episode_id: int, draft: SegmentDraft, annotator_id: int | None = None
) -> EpisodeSegmentRow:
    """A new segment, version 1, of the viewer (or, for reviewers, of `annotator_id`)."""
    annotator = _annotator(viewer, annotator_id, "create")
    async with rt.sessions() as session, session.begin():
        episode = await _episode(session, episode_id)
        # Creates and updates on one episode take turns: the overlap check reads the others' rows.
        await repo.lock_episode(session, episode_id)
        draft, _ = await _checked(session, episode, annotator, draft, None)
        values = await _values(rt, session, episode, draft, viewer)
        now = values["updated_at"]
        row = await repo.insert_segment(
            session,
            {**values, "episode_id": episode_id, "annotator_id": annotator, "version": 1, "created_at": now},
        )
        sessions = await sessions_repo.open_session_ids(session, episode_id)
    await _published(rt, viewer, row, sessions, SegmentChange.CREATED)
    return row


async def _stored(session: AsyncSession, viewer: Viewer, segment_id: int, action: str) -> EpisodeSegmentRow:
    found = await repo.read_segments_by_ids(session, [segment_id])
    if not found:
        raise NotFound(f"segment {segment_id} does not exist", field="id")
    _annotator(viewer, found[0].annotator_id, action)
    return found[0]


def _stale(row: EpisodeSegmentRow, expected_version: int) -> Conflict:
    return Conflict(
        f"expected_version {expected_version} is not the current version {row.version}",
        field="expected_version",
        currentVersion=row.version,
        current=content(row),
    )


async def update_segment(
    rt: Runtime, viewer: Viewer, segment_id: int, draft: SegmentDraft, *, expected_version: int
) -> EpisodeSegmentRow:
    """Replace a segment's content if its version is `expected_version` (CONFLICT otherwise)."""
    async with rt.sessions() as session, session.begin():
        current = await _stored(session, viewer, segment_id, "update")
        if current.version != expected_version:
            raise _stale(current, expected_version)
        episode = await _episode(session, current.episode_id)
        await repo.lock_episode(session, current.episode_id)  # as in create_segment
        draft, _ = await _checked(session, episode, current.annotator_id, draft, segment_id)
        values = await _values(rt, session, episode, draft, viewer)
        # The version check is in the UPDATE itself: a save that raced this one since the read loses.
        row = await repo.update_segment_if_version(session, segment_id, expected_version, values)
        if row is None:
            raise Conflict(
                f"expected_version {expected_version} is not the current version",
                field="expected_version",
            )
        sessions = await sessions_repo.open_session_ids(session, row.episode_id)
    await _published(rt, viewer, row, sessions, SegmentChange.UPDATED)
    return row


async def delete_segment(rt: Runtime, viewer: Viewer, segment_id: int, *, expected_version: int) -> bool:
    """Delete a segment if its version is `expected_version` (CONFLICT otherwise); false if none."""
    async with rt.sessions() as session, session.begin():
        found = await repo.read_segments_by_ids(session, [segment_id])
        if not found:
            return False
        current = found[0]
        _annotator(viewer, current.annotator_id, "delete")
        if current.version != expected_version:
            raise _stale(current, expected_version)
        if not await repo.delete_segment_if_version(session, segment_id, expected_version):
            raise Conflict(
                f"expected_version {expected_version} is not the current version",
                field="expected_version",
            )
        sessions = await sessions_repo.open_session_ids(session, current.episode_id)
    await _published(rt, viewer, current, sessions, SegmentChange.DELETED)
    return True


async def segments_by_episodes(rt: Runtime, episode_ids: Sequence[int]) -> list[list[EpisodeSegmentRow]]:
    """Each episode's segments (every annotator's) by first frame, in one statement."""
    async with rt.sessions() as session:
        rows = await repo.read_segments_by_episodes(session, episode_ids)
    grouped: dict[int, list[EpisodeSegmentRow]] = {e: [] for e in episode_ids}
    for row in rows:
        grouped[row.episode_id].append(row)
    return [grouped[e] for e in episode_ids]


async def segments_by_ids(rt: Runtime, ids: Sequence[int]) -> list[EpisodeSegmentRow | None]:
    async with rt.sessions() as session:
        rows = {r.id: r for r in await repo.read_segments_by_ids(session, ids)}
    return [rows.get(i) for i in ids]


async def consensus_by_keys(rt: Runtime, keys: Sequence[tuple[int, float]]) -> list[SegmentConsensus]:
    """The segment consensus of each (episode id, min IoU), reading all episodes in one statement."""
    for _, min_iou in keys:
        check_min_iou(min_iou)
    by_episode = await marks_by_episodes(rt, sorted({e for e, _ in keys}))
    return [segment_consensus(by_episode.get(e, []), m) for e, m in keys]


async def marks_by_episodes(
    rt: Runtime, episode_ids: Sequence[int] | None = None, dataset_id: int | None = None
) -> dict[int, list[SegmentMark]]:
    """Segments as consensus sees them, by episode: of `episode_ids`, or of a whole dataset."""
    async with rt.sessions() as session:
        rows = await repo.read_segment_marks(session, episode_ids, dataset_id)
    grouped: dict[int, list[SegmentMark]] = {}
    for episode_id, *columns in rows:
        grouped.setdefault(episode_id, []).append(SegmentMark(*columns))
    return grouped
