"""Episode annotations: one per annotator per episode, saved with optimistic concurrency.

Every save names the version it replaces (`expectedVersion`); a save against any other version,
or a save without one over an existing annotation, is a CONFLICT carrying the current version
and content. Each accepted save adds a revision, so no accepted content is ever lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import numpy as np
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.accounts.users import Role, Viewer
from domain.annotations import drafts
from domain.core.episode_events import EventKind, episode_channel, publish, session_channel
from domain.core.errors import Conflict, Forbidden, NotFound
from domain.core.runtime import Runtime
from persistence.columns import utcnow
from persistence.episode_sources import episode_ref
from persistence.repositories import annotation_session as sessions_repo
from persistence.repositories import dataset as datasets_repo
from persistence.repositories import episode as episodes_repo
from persistence.repositories import episode_annotation as repo
from persistence.tables import AnomalyRow, EpisodeAnnotationRow, EpisodeRow

log = logging.getLogger(__name__)


class _Stale(Exception):
    """The stored version is not the expected one (raised to roll the transaction back)."""


def _annotator(viewer: Viewer, annotator_id: int | None, action: str) -> int:
    """Whose annotation this is: annotators act on their own, reviewers on anyone's."""
    if annotator_id is None or annotator_id == viewer.user_id:
        return viewer.user_id
    if not viewer.can(Role.REVIEWER):
        raise Forbidden(f"only reviewers may {action} another annotator's annotation")
    return annotator_id


async def _times(
    rt: Runtime, session: AsyncSession, episode: EpisodeRow, ranges: list[tuple[int, int]]
) -> list[tuple[float, float]]:
    """Seconds of each frame range from the episode's own timestamps (frame / fps where missing)."""
    if not ranges:
        return []
    dataset = await datasets_repo.read_dataset(session, episode.dataset_id)
    assert dataset is not None  # the episode's dataset (a foreign key)
    fps = dataset.fps
    stamps = None
    if "timestamp" not in episode.missing:
        ref = episode_ref(dataset, episode)
        try:
            arrays = await asyncio.to_thread(rt.files.read_arrays, ref, ["timestamp"], slice(None))
            stamps = arrays.get("timestamp")
        except OSError:
            # The file moved since indexing: the annotation still saves, timed by frame rate.
            log.warning("episode file %s is unreadable; anomaly times from fps", ref.path)

    def at(frame: int) -> float:
        if stamps is not None and frame < len(stamps) and np.isfinite(stamps[frame]):
            return float(stamps[frame])
        return frame / fps

    return [(at(start), at(end)) for start, end in ranges]


async def _current(session: AsyncSession, episode_id: int, annotator_id: int) -> tuple[int, dict | None]:
    row = await repo.read_annotation(session, episode_id, annotator_id)
    if row is None:
        return 0, None
    revisions = await repo.read_revisions(session, row.id)
    return row.version, revisions[-1].content.stored() if revisions else None


async def _conflict(session: AsyncSession, episode_id: int, annotator_id: int, why: str) -> Conflict:
    version, current = await _current(session, episode_id, annotator_id)
    current = drafts.with_old_keys(current) if current is not None else None
    return Conflict(why, field="expected_version", currentVersion=version, current=current)


async def save_annotation(
    rt: Runtime,
    viewer: Viewer,
    episode_id: int,
    draft: drafts.AnnotationDraft,
    *,
    expected_version: int | None,
    annotator_id: int | None = None,
) -> EpisodeAnnotationRow:
    annotator = _annotator(viewer, annotator_id, "save")
    async with rt.sessions() as session:
        try:
            # The episode, the draft's checks, the anomalies' times and the write: one transaction.
            async with session.begin():
                row, sessions = await _save(
                    rt, session, viewer, episode_id, draft, expected_version, annotator
                )
        except _Stale:
            # Built after the rollback, so the answer shows what is committed now.
            raise await _conflict(
                session,
                episode_id,
                annotator,
                f"expected_version {expected_version} is not the current version",
            ) from None
        except IntegrityError:
            conflict = await _conflict(
                session,
                episode_id,
                annotator,
                "expected_version: this annotation exists already; send its version to replace it",
            )
            if conflict.details["currentVersion"] == 0:
                raise  # not the unique (episode, annotator) pair: a real error
            raise conflict from None
    channels = [episode_channel(episode_id), *(session_channel(s) for s in sessions)]
    await publish(
        rt,
        channels,
        EventKind.ANNOTATION_SAVED,
        episodeId=episode_id,
        annotationId=row.id,
        annotatorId=annotator,
        version=row.version,
        byUserId=viewer.user_id,
    )
    return row


async def _save(
    rt: Runtime,
    session: AsyncSession,
    viewer: Viewer,
    episode_id: int,
    draft: drafts.AnnotationDraft,
    expected_version: int | None,
    annotator: int,
) -> tuple[EpisodeAnnotationRow, list[int]]:
    """Check and write the draft in the caller's transaction: the annotation as saved and the episode's
    open annotation sessions. NOT_FOUND (episode_id), BAD_USER_INPUT naming the draft's field,
    _Stale when the stored version is not `expected_version`."""
    found = await episodes_repo.read_episodes_by_ids(session, [episode_id])
    if not found:
        raise NotFound(f"episode {episode_id} does not exist", field="episode_id")
    episode = found[0]
    drafts.check_draft(draft, episode.length)
    times = await _times(rt, session, episode, [(a.from_frame, a.to_frame) for a in draft.anomalies])
    content = drafts.content(draft, times)
    now = utcnow()
    values = {**draft.columns(), "updated_by": viewer.user_id, "updated_at": now}
    # The version check is in the UPDATE itself.
    if expected_version is None:
        annotation_id = await repo.insert_annotation(
            session,
            {
                **values,
                "episode_id": episode_id,
                "annotator_id": annotator,
                "version": 1,
                "created_at": now,
            },
        )
        version = 1
    else:
        updated = await repo.update_annotation_if_version(
            session, episode_id, annotator, expected_version, values
        )
        if updated is None:
            raise _Stale
        annotation_id = updated
        version = expected_version + 1
    await repo.replace_anomalies(
        session,
        annotation_id,
        [
            {
                "type": a.type.value,
                "severity": a.severity.value,
                "from_frame": a.from_frame,
                "to_frame": a.to_frame,
                "from_time": start,
                "to_time": end,
                "description": a.description,
                "auto_detected": a.auto_detected,
                "verified": a.verified,
            }
            for a, (start, end) in zip(draft.anomalies, times, strict=True)
        ],
    )
    await repo.add_revision(session, annotation_id, version, content, viewer.user_id)
    sessions = await sessions_repo.open_session_ids(session, episode_id)
    row = (await repo.read_annotations_by_ids(session, [annotation_id]))[0]
    return row, sessions


async def delete_annotation(rt: Runtime, viewer: Viewer, episode_id: int, annotator_id: int | None) -> bool:
    annotator = _annotator(viewer, annotator_id, "delete")
    async with rt.sessions() as session, session.begin():
        row = await repo.read_annotation(session, episode_id, annotator)
        if row is None:
            return False
        deleted = await repo.delete_annotation(session, row.id)
        sessions = await sessions_repo.open_session_ids(session, episode_id)
    if deleted:
        channels = [episode_channel(episode_id), *(session_channel(s) for s in sessions)]
        await publish(
            rt,
            channels,
            EventKind.ANNOTATION_DELETED,
            episodeId=episode_id,
            annotationId=row.id,
            annotatorId=annotator,
            version=row.version,
            byUserId=viewer.user_id,
        )
    return deleted


async def annotations_by_episodes(
    rt: Runtime, episode_ids: Sequence[int]
) -> list[list[EpisodeAnnotationRow]]:
    async with rt.sessions() as session:
        rows = await repo.read_annotations_by_episodes(session, episode_ids)
    grouped: dict[int, list[EpisodeAnnotationRow]] = {e: [] for e in episode_ids}
    for row in rows:
        grouped[row.episode_id].append(row)
    return [grouped[e] for e in episode_ids]


async def annotations_by_keys(
    rt: Runtime, keys: Sequence[tuple[int, int]]
) -> list[EpisodeAnnotationRow | None]:
    async with rt.sessions() as session:
        rows = {(r.episode_id, r.annotator_id): r for r in await repo.read_annotations_by_keys(session, keys)}
    return [rows.get(k) for k in keys]


async def annotations_by_ids(rt: Runtime, ids: Sequence[int]) -> list[EpisodeAnnotationRow | None]:
    async with rt.sessions() as session:
        rows = {r.id: r for r in await repo.read_annotations_by_ids(session, ids)}
    return [rows.get(i) for i in ids]


async def anomalies_by_annotations(rt: Runtime, annotation_ids: Sequence[int]) -> list[list[AnomalyRow]]:
    async with rt.sessions() as session:
        rows = await repo.read_anomalies(session, annotation_ids)
    grouped: dict[int | None, list[AnomalyRow]] = {a: [] for a in annotation_ids}
    for row in rows:
        grouped[row.annotation_id].append(row)
    return [grouped[a] for a in annotation_ids]


async def revisions(rt: Runtime, annotation_id: int):
    async with rt.sessions() as session:
        return await repo.read_revisions(session, annotation_id)
