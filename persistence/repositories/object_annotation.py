from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import delete, func, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.documents.object_annotation import BoxAttributes
from persistence.key_sets import entities_with_keys, rows_with_keys
from persistence.repositories.pages import first_rows_per_group
from persistence.tables import EpisodeRow, ObjectAnnotationRow

Row = ObjectAnnotationRow


@dataclass(frozen=True)
class ObjectFilter:
    camera: str | None = None
    frame: int | None = None
    from_frame: int | None = None
    to_frame: int | None = None
    track_id: str | None = None
    label_id: int | None = None
    source: str | None = None
    review: str | None = None  # PENDING | VALIDATED | REJECTED
    validated: bool | None = None

    def clauses(self) -> list:
        clauses = []
        if self.camera is not None:
            clauses.append(Row.camera == self.camera)
        if self.frame is not None:
            clauses.append(Row.frame == self.frame)
        if self.from_frame is not None:
            clauses.append(Row.frame >= self.from_frame)
        if self.to_frame is not None:
            clauses.append(Row.frame <= self.to_frame)
        if self.track_id is not None:
            clauses.append(Row.track_id == self.track_id)
        if self.label_id is not None:
            clauses.append(Row.label_id == self.label_id)
        if self.source is not None:
            clauses.append(Row.source == self.source)
        if self.review is not None:
            clauses.append(Row.review == self.review)
        if self.validated is not None:
            clauses.append((Row.review == "VALIDATED") if self.validated else (Row.review != "VALIDATED"))
        return clauses


async def read_boxes_by_ids(session: AsyncSession, ids: Sequence[int]) -> list[Row]:
    return list((await session.execute(select(Row).where(Row.id.in_(ids)).order_by(Row.id))).scalars())


async def list_box_pages(
    session: AsyncSession,
    episode_ids: Sequence[int],
    *,
    filter: ObjectFilter,
    after: tuple[int, int] | None,
    limit: int,
) -> dict[int, list[Row]]:
    """The first `limit` boxes (by frame, then id) of each episode, for many episodes in one statement."""
    clauses = list(filter.clauses())
    if after is not None:
        clauses.append(tuple_(Row.frame, Row.id) > tuple_(*after))
    return await first_rows_per_group(
        session, Row, Row.episode_id, episode_ids, clauses=clauses, order_by=(Row.frame, Row.id), limit=limit
    )


async def count_boxes(
    session: AsyncSession, episode_ids: Sequence[int], *, filter: ObjectFilter
) -> dict[int, int]:
    query = (
        select(Row.episode_id, func.count())
        .where(Row.episode_id.in_(episode_ids), *filter.clauses())
        .group_by(Row.episode_id)
    )
    counts = {e: 0 for e in episode_ids}
    counts.update(dict((await session.execute(query)).all()))
    return counts


class TrackSummary(NamedTuple):
    """One track of an episode's camera: its label, frame span and box counts."""

    episode_id: int
    camera: str
    track_id: str
    label_id: int
    first_frame: int
    last_frame: int
    box_count: int
    keyframe_count: int


async def read_tracks(session: AsyncSession, episode_ids: Sequence[int]) -> list[TrackSummary]:
    """Every track of the episodes, by episode, camera and first frame."""
    query = (
        select(
            Row.episode_id,
            Row.camera,
            Row.track_id,
            func.min(Row.label_id).label("label_id"),
            func.min(Row.frame).label("first_frame"),
            func.max(Row.frame).label("last_frame"),
            func.count().label("box_count"),
            func.coalesce(func.sum(func.cast(Row.keyframe, type_=Row.frame.type)), 0).label("keyframe_count"),
        )
        .where(Row.episode_id.in_(episode_ids))
        .group_by(Row.episode_id, Row.camera, Row.track_id)
        .order_by(Row.episode_id, Row.camera, func.min(Row.frame), Row.track_id)
    )
    return [TrackSummary(**r._mapping) for r in (await session.execute(query)).all()]


async def read_track(session: AsyncSession, episode_id: int, camera: str, track_id: str) -> list[Row]:
    query = (
        select(Row)
        .where(Row.episode_id == episode_id, Row.camera == camera, Row.track_id == track_id)
        .order_by(Row.frame)
    )
    return list((await session.execute(query)).scalars())


async def read_tracks_boxes(session: AsyncSession, keys: Sequence[tuple[int, str, str]]) -> list[Row]:
    """The boxes of each (episode id, camera, track id), by frame."""
    rows = await entities_with_keys(session, Row, (Row.episode_id, Row.camera, Row.track_id), keys)
    return sorted(rows, key=lambda r: (r.episode_id, r.camera, r.track_id, r.frame))


async def track_labels(session: AsyncSession, keys: Sequence[tuple[int, str, str]]) -> dict[tuple, int]:
    """The label of each existing (episode id, camera, track id) among `keys`."""
    query = select(Row.episode_id, Row.camera, Row.track_id, func.min(Row.label_id)).group_by(
        Row.episode_id, Row.camera, Row.track_id
    )
    found = await rows_with_keys(session, query, (Row.episode_id, Row.camera, Row.track_id), keys)
    return {(e, c, t): label for e, c, t, label in found}


class VideoBox(NamedTuple):
    id: int
    episode_id: int
    camera: str
    frame: int
    label_id: int
    x: float
    y: float
    width: float
    height: float


async def read_video_boxes(session: AsyncSession, videos: Sequence[tuple[int, str]]) -> list[VideoBox]:
    """Every box of the (episode id, camera) `videos`: where, what and the geometry (imports' MERGE and
    REPLACE)."""
    query = select(
        Row.id, Row.episode_id, Row.camera, Row.frame, Row.label_id, Row.x, Row.y, Row.width, Row.height
    )
    return [VideoBox(*r) for r in await rows_with_keys(session, query, (Row.episode_id, Row.camera), videos)]


async def existing_track_frames(
    session: AsyncSession, keys: Sequence[tuple[int, str, str, int]]
) -> set[tuple]:
    """Which of the (episode id, track id, camera, frame) `keys` already hold a box."""
    columns = (Row.episode_id, Row.track_id, Row.camera, Row.frame)
    return {tuple(r) for r in await rows_with_keys(session, select(*columns), columns, keys)}


async def draw_track_numbers(session: AsyncSession, episode_id: int, count: int) -> int:
    """Reserve `count` track numbers of the episode; returns the first (the row lock serialises callers)."""
    result = await session.execute(
        update(EpisodeRow)
        .where(EpisodeRow.id == episode_id)
        .values(track_counter=EpisodeRow.track_counter + count)
        .returning(EpisodeRow.track_counter)
    )
    return result.scalar_one() - count + 1


async def insert_boxes(session: AsyncSession, values: Sequence[dict]) -> list[int]:
    """Insert boxes in batched multi-row INSERTs; ids in the order of `values`.

    The rows come back with their unique (episode, track, camera, frame) key, which maps them to
    `values`: asking SQLAlchemy for rows in parameter order instead makes it send one INSERT per
    row on SQLite."""
    if not values:
        return []
    # Core, not the ORM bulk path: the same INSERT .. RETURNING without per-row ORM bookkeeping.
    table = Row.__table__
    c = table.c
    result = await session.execute(
        insert(table).returning(c.id, c.episode_id, c.track_id, c.camera, c.frame), list(values)
    )
    ids = {(e, t, cam, f): i for i, e, t, cam, f in result.all()}
    return [ids[(v["episode_id"], v["track_id"], v["camera"], v["frame"])] for v in values]


async def update_box_if_version(
    session: AsyncSession, box_id: int, expected_version: int, values: dict
) -> Row | None:
    result = await session.execute(
        update(Row)
        .where(Row.id == box_id, Row.version == expected_version)
        .values(**values, version=Row.version + 1)
        .returning(Row)
    )
    return result.scalar_one_or_none()


async def set_review(session: AsyncSession, ids: Sequence[int], values: dict) -> list[Row]:
    result = await session.execute(
        update(Row).where(Row.id.in_(ids)).values(**values, version=Row.version + 1).returning(Row)
    )
    return sorted(result.scalars(), key=lambda r: r.id)


async def delete_boxes(session: AsyncSession, ids: Sequence[int]) -> list[tuple[int, int]]:
    """Delete boxes; (id, episode id) of those that existed."""
    result = await session.execute(delete(Row).where(Row.id.in_(ids)).returning(Row.id, Row.episode_id))
    return [(box, episode) for box, episode in result.all()]


async def delete_interpolated(
    session: AsyncSession, episode_id: int, camera: str, track_id: str
) -> list[int]:
    """Delete the track's unreviewed interpolated boxes (never keyframes); their ids."""
    result = await session.execute(
        delete(Row)
        .where(
            Row.episode_id == episode_id,
            Row.camera == camera,
            Row.track_id == track_id,
            Row.source == "INTERPOLATED",
            Row.keyframe.is_(False),
            Row.review != "VALIDATED",
        )
        .returning(Row.id)
    )
    return [r[0] for r in result.all()]


async def review_counts_by_episodes(
    session: AsyncSession, episode_ids: Sequence[int]
) -> dict[int, dict[str, int]]:
    query = (
        select(Row.episode_id, Row.review, func.count())
        .where(Row.episode_id.in_(episode_ids))
        .group_by(Row.episode_id, Row.review)
    )
    counts: dict[int, dict[str, int]] = {e: {} for e in episode_ids}
    for episode_id, review, n in (await session.execute(query)).all():
        counts[episode_id][review] = n
    return counts


async def review_counts_by_datasets(
    session: AsyncSession, dataset_ids: Sequence[int]
) -> dict[int, dict[str, int]]:
    query = (
        select(EpisodeRow.dataset_id, Row.review, func.count())
        .join(EpisodeRow, EpisodeRow.id == Row.episode_id)
        .where(EpisodeRow.dataset_id.in_(dataset_ids))
        .group_by(EpisodeRow.dataset_id, Row.review)
    )
    counts: dict[int, dict[str, int]] = {d: {} for d in dataset_ids}
    for dataset_id, review, n in (await session.execute(query)).all():
        counts[dataset_id][review] = n
    return counts


class ExportBox(NamedTuple):
    """A box as exports read it: plain values, not an ORM object (exports read 100,000s of boxes)."""

    episode_id: int
    camera: str
    frame: int
    x: float
    y: float
    width: float
    height: float
    label_id: int
    track_id: str
    occluded: bool
    truncated: bool
    difficult: bool
    outside: bool
    source: str
    score: float | None
    keyframe: bool
    notes: str | None
    review: str
    reviewed_by: int | None
    reviewed_at: datetime | None
    reject_reason: str | None
    crowd: bool
    attributes: BoxAttributes
    split: str | None


# The columns named as ExportBox's fields, so each row is built by name.
EXPORT_COLUMNS = tuple(getattr(Row, name) for name in ExportBox._fields)


async def read_export_rows(
    session: AsyncSession, episode_ids: Sequence[int], cameras: Sequence[str] | None, only_validated: bool
) -> list[ExportBox]:
    """The boxes of the episodes (of `cameras`, all when None), by episode, camera and frame."""
    query = select(*EXPORT_COLUMNS).where(Row.episode_id.in_(episode_ids))
    if cameras:
        query = query.where(Row.camera.in_(cameras))
    if only_validated:
        query = query.where(Row.review == "VALIDATED")
    query = query.order_by(Row.episode_id, Row.camera, Row.frame, Row.id)
    return [ExportBox._make(r) for r in (await session.execute(query)).all()]


class TruthBox(NamedTuple):
    """A ground-truth box as a test session's evaluation reads it (plain values, many at once)."""

    id: int
    episode_id: int
    camera: str
    frame: int
    label: str  # the label's name: a project's episodes come from datasets with their own label ids
    x: float
    y: float
    width: float
    height: float
    difficult: bool
    crowd: bool  # COCO's iscrowd: ignored ground truth, matched by intersection over the detection's area


async def read_validated_boxes(
    session: AsyncSession,
    episode_ids: Sequence[int],
    label_names: Sequence[str] | None,
    frames: Sequence[tuple[int, str, int]] | None = None,
) -> list[TruthBox]:
    """Validated, visible boxes of the episodes (on `frames`, (episode id, camera, frame) keys, when
    given): the ground truth a test session is judged against (difficult and crowd boxes are ignored
    there)."""
    from persistence.tables import LabelRow

    # The columns named as TruthBox's fields, so each row is built by name.
    columns = [LabelRow.name if name == "label" else getattr(Row, name) for name in TruthBox._fields]
    query = (
        select(*columns)
        .join(LabelRow, LabelRow.id == Row.label_id)
        .where(Row.episode_id.in_(episode_ids), Row.review == "VALIDATED", Row.outside.is_(False))
        .order_by(Row.id)
    )
    if label_names is not None:
        query = query.where(LabelRow.name.in_(label_names))
    if frames is None:
        return [TruthBox._make(r) for r in (await session.execute(query)).all()]
    rows = await rows_with_keys(session, query, (Row.episode_id, Row.camera, Row.frame), frames)
    return [TruthBox._make(r) for r in rows]
