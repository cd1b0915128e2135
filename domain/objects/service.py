"""Boxes on frames (object annotations): created in batches, edited with optimistic concurrency.

Every change is all or nothing and publishes an OBJECTS_CHANGED event on the episode and its open
sessions after commit. Annotators change their own boxes; reviewers anyone's. A validated box is
ground truth: only reviewers change or delete it, and any edit sends it back to review.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.accounts.users import Role, Viewer
from domain.core.episode_events import (
    EVENT_IDS_MAX,
    EventKind,
    ObjectChange,
    episode_channel,
    publish,
    session_channel,
)
from domain.core.errors import REQUEST, BadUserInput, Conflict, Forbidden, LimitExceeded, NotFound, inside
from domain.core.runtime import Runtime
from domain.objects import boxes
from domain.objects.boxes import BoxChanges, BoxDraft, Review, Source
from domain.objects.interpolation import Keyframe, interpolate
from persistence.columns import utcnow
from persistence.repositories import annotation_session as sessions_repo
from persistence.repositories import episode as episodes_repo
from persistence.repositories import label as labels_repo
from persistence.repositories import object_annotation as repo
from persistence.tables import EpisodeRow, ObjectAnnotationRow

BATCH_MAX = 10_000
EDITABLE = (
    "camera",
    "frame",
    "x",
    "y",
    "width",
    "height",
    "label",
    "track_id",
    "occluded",
    "truncated",
    "difficult",
    "outside",
    "notes",
    "score",
    "keyframe",
)


def content(row: ObjectAnnotationRow, label: str | None = None) -> dict:
    """A box as JSON (CONFLICT answers carry it)."""
    return {
        "id": row.id,
        "episodeId": row.episode_id,
        "camera": row.camera,
        "frame": row.frame,
        "x": row.x,
        "y": row.y,
        "width": row.width,
        "height": row.height,
        "labelId": row.label_id,
        "label": label,
        "trackId": row.track_id,
        "occluded": row.occluded,
        "truncated": row.truncated,
        "difficult": row.difficult,
        "outside": row.outside,
        "notes": row.notes,
        "source": row.source,
        "score": row.score,
        "confidence": row.score,  # the deprecated name of "score", for one release (README)
        "keyframe": row.keyframe,
        "review": row.review,
        "version": row.version,
    }


async def open_sessions_of(session: AsyncSession, episode_ids: Iterable[int]) -> dict[int, list[int]]:
    """The open annotation sessions of each episode: where announce publishes besides the episode."""
    return {e: await sessions_repo.open_session_ids(session, e) for e in episode_ids}


async def announce(
    rt: Runtime,
    by: int,
    action: ObjectChange,
    ids_by_episode: dict[int, list[int]],
    open_sessions: dict[int, list[int]],
) -> None:
    """Publish one event per episode touched, on the episode and its open sessions (after commit).
    `open_sessions` as open_sessions_of read them inside the change's transaction."""
    if not ids_by_episode:
        return
    for episode_id, ids in ids_by_episode.items():
        channels = [episode_channel(episode_id), *(session_channel(s) for s in open_sessions[episode_id])]
        await publish(
            rt,
            channels,
            EventKind.OBJECTS_CHANGED,
            episodeId=episode_id,
            action=action.value,
            ids=ids if len(ids) <= EVENT_IDS_MAX else None,
            count=len(ids),
            byUserId=by,
        )


def _grouped(rows: Sequence[tuple[int, int]]) -> dict[int, list[int]]:
    grouped: dict[int, list[int]] = defaultdict(list)
    for box_id, episode_id in rows:
        grouped[episode_id].append(box_id)
    return dict(grouped)


async def _episodes(session: AsyncSession, ids: set[int]) -> dict[int, EpisodeRow]:
    return {e.id: e for e in await episodes_repo.read_episodes_by_ids(session, list(ids))}


async def _label_sets(session: AsyncSession, dataset_ids: set[int]) -> dict[int, dict[str, int]]:
    """Label name -> id of each dataset's label set."""
    rows = await labels_repo.read_labels_by_datasets(session, list(dataset_ids))
    sets: dict[int, dict[str, int]] = {d: {} for d in dataset_ids}
    for row in rows:
        sets[row.dataset_id][row.name] = row.id
    return sets


def _may_change(viewer: Viewer, row: ObjectAnnotationRow, action: str, path: str) -> None:
    if viewer.can(Role.REVIEWER):
        return
    if row.review == Review.VALIDATED:
        raise Forbidden(f"{path}: only reviewers may {action} a validated box", field=path)
    if row.created_by != viewer.user_id:
        raise Forbidden(f"{path}: only reviewers may {action} another annotator's box", field=path)


async def create_boxes(rt: Runtime, viewer: Viewer, drafts: Sequence[BoxDraft]) -> list[ObjectAnnotationRow]:
    if len(drafts) > BATCH_MAX:
        raise LimitExceeded(
            f"at most {BATCH_MAX} boxes per batch, got {len(drafts)}", field=REQUEST, limit="batch"
        )
    if not drafts:
        return []
    now = utcnow()
    try:
        # The reads, the checks and the insert are one transaction: what was checked is what is written.
        async with rt.sessions() as session, session.begin():
            episodes = await _episodes(session, {d.episode_id for d in drafts})
            for i, draft in enumerate(drafts):
                if draft.episode_id not in episodes:
                    where = inside(REQUEST, i, "episode_id")
                    raise NotFound(f"{where}: episode does not exist", field=where)
            label_sets = await _label_sets(session, {e.dataset_id for e in episodes.values()})
            label_ids, named = _checked_drafts(drafts, episodes, label_sets)
            stored = await repo.track_labels(session, list(dict.fromkeys(key for _, key in named)))
            for i, key in named:
                if key in stored and stored[key] != label_ids[i]:
                    where = inside(REQUEST, i, "label")
                    raise BadUserInput(
                        f"{where}: track {key[2]} is labelled otherwise; one track, one label", field=where
                    )
            taken = await repo.existing_track_frames(
                session, [(e, t, c, drafts[i].frame) for i, (e, c, t) in named if (e, c, t) in stored]
            )
            for i, (e, c, t) in named:
                if (e, t, c, drafts[i].frame) in taken:
                    where = inside(REQUEST, i, "frame")
                    raise BadUserInput(
                        f"{where}: track {t} has a box on frame {drafts[i].frame} already", field=where
                    )
            values = await _values_with_tracks(
                session, drafts, label_ids, label_sets, episodes, viewer.user_id, now
            )
            ids = await repo.insert_boxes(session, values)
            rows = await repo.read_boxes_by_ids(session, ids)
            open_sessions = await open_sessions_of(session, {r.episode_id for r in rows})
    except IntegrityError:
        # Another writer put a box on the same track and frame between our check and our insert.
        raise Conflict(
            "a box was added to one of these tracks and frames meanwhile; reload and retry", field=REQUEST
        ) from None
    created = _grouped([(r.id, r.episode_id) for r in rows])
    await announce(rt, viewer.user_id, ObjectChange.CREATED, created, open_sessions)
    return rows


def _checked_drafts(
    drafts: Sequence[BoxDraft], episodes: dict[int, EpisodeRow], label_sets: dict[int, dict[str, int]]
) -> tuple[list[int], list[tuple[int, tuple[int, str, str]]]]:
    """Check each draft against its episode and label set, and the batch's tracks (one label and one
    box per frame each); the drafts' label ids and (index, (episode id, camera, track id)) of those
    naming a track."""
    label_ids = [
        boxes.check_draft(
            d,
            episodes[d.episode_id].cameras,
            label_sets[episodes[d.episode_id].dataset_id],
            inside(REQUEST, i),
        )
        for i, d in enumerate(drafts)
    ]
    # A track has one label and one box per frame, within the batch and against what is stored.
    named = [(i, (d.episode_id, d.camera, d.track_id)) for i, d in enumerate(drafts) if d.track_id]
    seen_labels: dict[tuple, int] = {}
    seen_frames: set[tuple] = set()
    for i, key in named:
        frame_key = (*key, drafts[i].frame)
        if frame_key in seen_frames:
            where = inside(REQUEST, i, "frame")
            raise BadUserInput(
                f"{where}: track {key[2]} has two boxes on frame {drafts[i].frame}", field=where
            )
        seen_frames.add(frame_key)
        if seen_labels.setdefault(key, label_ids[i]) != label_ids[i]:
            where = inside(REQUEST, i, "label")
            raise BadUserInput(f"{where}: track {key[2]} has another label in this batch", field=where)
    return label_ids, named


async def _values_with_tracks(session, drafts, label_ids, label_sets, episodes, user_id, now) -> list[dict]:
    """Row values of the drafts; boxes without a track id get a new DET_<LABEL>_<NNNN> track each."""
    unnamed: dict[int, list[int]] = defaultdict(list)
    for i, d in enumerate(drafts):
        if not d.track_id:
            unnamed[d.episode_id].append(i)
    track_ids = {i: d.track_id for i, d in enumerate(drafts) if d.track_id}
    for episode_id, indexes in unnamed.items():
        first = await repo.draw_track_numbers(session, episode_id, len(indexes))
        for n, i in enumerate(indexes):
            track_ids[i] = boxes.generated_track_id(drafts[i].label, first + n)
    return [
        {
            "episode_id": d.episode_id,
            "camera": d.camera,
            "frame": d.frame,
            "x": float(d.x),
            "y": float(d.y),
            "width": float(d.width),
            "height": float(d.height),
            "label_id": label_ids[i],
            "track_id": track_ids[i],
            "occluded": d.occluded,
            "truncated": d.truncated,
            "difficult": d.difficult,
            "outside": d.outside,
            "notes": d.notes,
            "source": Source(d.source).value,
            "score": d.score,
            "keyframe": d.keyframe,
            "version": 1,
            "review": Review.PENDING.value,
            "created_by": user_id,
            "created_at": now,
            "updated_by": user_id,
            "updated_at": now,
        }
        for i, d in enumerate(drafts)
    ]


async def _read_box(session: AsyncSession, box_id: int, field: str) -> ObjectAnnotationRow:
    rows = await repo.read_boxes_by_ids(session, [box_id])
    if not rows:
        raise NotFound(f"box {box_id} does not exist", field=field)
    return rows[0]


async def _conflict(session: AsyncSession, box_id: int, expected: int) -> Conflict:
    """CONFLICT with the box as it is now (the version-guarded write found another version)."""
    # The box read before the write sits in the session's identity map with what it held then;
    # expired, the read below loads what another writer committed since.
    session.expire_all()
    current = await _read_box(session, box_id, "id")
    label = (await labels_repo.read_labels_by_ids(session, [current.label_id]))[0].name
    return Conflict(
        f"expected_version {expected} is not the current version ({current.version})",
        field="expected_version",
        currentVersion=current.version,
        current=content(current, label),
    )


def _edited(
    row: ObjectAnnotationRow, changes: BoxChanges, cameras: dict, labels: dict[str, int]
) -> tuple[int, dict]:
    """The box with `changes` applied, checked against its episode's cameras and label set: its label
    id and the row values to write (errors name the field changed)."""
    names = {v: k for k, v in labels.items()}
    merged = {name: getattr(row, name) for name in EDITABLE if name != "label"}
    merged["label"] = names[row.label_id]
    merged.update(changes.given())
    draft = BoxDraft(episode_id=row.episode_id, source=Source(row.source), **merged)
    label_id = boxes.check_draft(draft, cameras, labels, REQUEST)
    values = {name: merged[name] for name in EDITABLE if name != "label"}
    values["label_id"] = label_id
    if row.source == Source.INTERPOLATED:
        # A person corrected it: it is now a keyframe that interpolation keeps.
        values.update(source=Source.MANUAL.value, keyframe=True)
    if row.review != Review.PENDING:
        values.update(review=Review.PENDING.value, reviewed_by=None, reviewed_at=None, reject_reason=None)
    return label_id, values


async def update_box(
    rt: Runtime, viewer: Viewer, box_id: int, expected_version: int, changes: BoxChanges
) -> ObjectAnnotationRow:
    """Apply `changes` if the box is still at `expected_version`; the box as it is then.

    NOT_FOUND (id) for no such box, FORBIDDEN for a box the viewer may not edit, BAD_USER_INPUT naming
    the field for a change its episode, label set or track refuses, CONFLICT with the current box
    (expected_version) when it is at another version. The reads, the checks and the
    write are one transaction, the write guarded by the version (optimistic concurrency)."""
    try:
        async with rt.sessions() as session, session.begin():
            row = await _read_box(session, box_id, "id")
            _may_change(viewer, row, "edit", "id")
            episode = (await _episodes(session, {row.episode_id}))[row.episode_id]
            labels = (await _label_sets(session, {episode.dataset_id}))[episode.dataset_id]
            label_id, values = _edited(row, changes, episode.cameras, labels)
            values.update(updated_by=viewer.user_id, updated_at=utcnow())
            track = (row.episode_id, values["camera"], values["track_id"])
            if label_id != row.label_id or track != (row.episode_id, row.camera, row.track_id):
                others = [r for r in await repo.read_track(session, *track) if r.id != row.id]
                if any(r.label_id != label_id for r in others):
                    raise BadUserInput(
                        f"label: track {track[2]} is labelled otherwise; one track, one label", field="label"
                    )
            updated = await repo.update_box_if_version(session, box_id, expected_version, values)
            if updated is None:
                raise await _conflict(session, box_id, expected_version)
            open_sessions = await open_sessions_of(session, [updated.episode_id])
    except IntegrityError:
        raise BadUserInput(
            f"frame: track {values['track_id']} has a box on frame {values['frame']} already",
            field="frame",
        ) from None
    changed = {updated.episode_id: [updated.id]}
    await announce(rt, viewer.user_id, ObjectChange.UPDATED, changed, open_sessions)
    return updated


async def delete_boxes(rt: Runtime, viewer: Viewer, ids: Sequence[int]) -> int:
    if len(ids) > BATCH_MAX:
        raise LimitExceeded(
            f"at most {BATCH_MAX} boxes per batch, got {len(ids)}", field="ids", limit="batch"
        )
    async with rt.sessions() as session, session.begin():
        rows = await repo.read_boxes_by_ids(session, ids)
        for i, row in enumerate(rows):
            _may_change(
                viewer, row, "delete", f"ids[{list(ids).index(row.id)}]" if row.id in ids else f"ids[{i}]"
            )
        deleted = await repo.delete_boxes(session, [r.id for r in rows])
        open_sessions = await open_sessions_of(session, {episode for _, episode in deleted})
    await announce(rt, viewer.user_id, ObjectChange.DELETED, _grouped(deleted), open_sessions)
    return len(deleted)


async def review_boxes(
    rt: Runtime, viewer: Viewer, ids: Sequence[int], validated: bool, reason: str | None
) -> list[ObjectAnnotationRow]:
    if len(ids) > BATCH_MAX:
        raise LimitExceeded(
            f"at most {BATCH_MAX} boxes per batch, got {len(ids)}", field="ids", limit="batch"
        )
    reject_reason = None
    if not validated:
        if reason is None or not reason.strip():
            raise BadUserInput("reason is required when rejecting boxes", field="reason")
        boxes.check_details(track_id=None, notes=reason, score=None, path="reason")
        reject_reason = reason.strip()
    values = {
        "review": (Review.VALIDATED if validated else Review.REJECTED).value,
        "reviewed_by": viewer.user_id,
        "reviewed_at": utcnow(),
        "reject_reason": reject_reason,
    }
    async with rt.sessions() as session, session.begin():
        rows = await repo.set_review(session, list(dict.fromkeys(ids)), values)
        if len(rows) != len(set(ids)):
            missing = sorted(set(ids) - {r.id for r in rows})
            raise NotFound(
                f"boxes {missing} do not exist; nothing was reviewed", field="ids", missing=missing
            )
        open_sessions = await open_sessions_of(session, {r.episode_id for r in rows})
    reviewed = _grouped([(r.id, r.episode_id) for r in rows])
    await announce(rt, viewer.user_id, ObjectChange.REVIEWED, reviewed, open_sessions)
    return rows


async def interpolate_track(
    rt: Runtime, viewer: Viewer, episode_id: int, camera: str, track_id: str
) -> list[ObjectAnnotationRow]:
    """Replace the track's interpolated boxes with fresh ones between its keyframes; the new boxes."""
    now = utcnow()
    async with rt.sessions() as session, session.begin():
        track = await repo.read_track(session, episode_id, camera, track_id)
        if not track:
            raise NotFound(f"episode has no track {track_id!r} on camera {camera!r}", field="track_id")
        # The boxes about to be replaced are checked as an edit of each (as deleteObjectAnnotations does).
        for row in track:
            replaceable = not row.keyframe and row.review != Review.VALIDATED
            if row.source == Source.INTERPOLATED.value and replaceable:
                _may_change(viewer, row, "replace", "track_id")
        replaced = await repo.delete_interpolated(session, episode_id, camera, track_id)
        kept = [r for r in track if r.id not in set(replaced)]
        keyframes = {r.frame: r for r in kept if r.keyframe}
        filled = interpolate(
            [Keyframe(r.frame, r.x, r.y, r.width, r.height, r.outside) for r in keyframes.values()],
            occupied={r.frame for r in kept},
        )
        values = []
        for box in filled:
            origin = keyframes[box.after]
            values.append(
                {
                    "episode_id": episode_id,
                    "camera": camera,
                    "frame": box.frame,
                    "x": box.x,
                    "y": box.y,
                    "width": box.width,
                    "height": box.height,
                    "label_id": origin.label_id,
                    "track_id": track_id,
                    "occluded": origin.occluded,
                    "truncated": origin.truncated,
                    "difficult": origin.difficult,
                    "outside": False,
                    "notes": None,
                    "source": Source.INTERPOLATED.value,
                    "score": None,
                    "keyframe": False,
                    "version": 1,
                    "review": Review.PENDING.value,
                    "created_by": viewer.user_id,
                    "created_at": now,
                    "updated_by": viewer.user_id,
                    "updated_at": now,
                }
            )
        ids = await repo.insert_boxes(session, values)
        rows = await repo.read_boxes_by_ids(session, ids)
        open_sessions = await open_sessions_of(session, [episode_id])
    if replaced:
        await announce(rt, viewer.user_id, ObjectChange.DELETED, {episode_id: replaced}, open_sessions)
    await announce(rt, viewer.user_id, ObjectChange.INTERPOLATED, {episode_id: ids}, open_sessions)
    return rows
