"""Dataset and project statistics as SQL aggregates: every function is one GROUP BY statement whose rows
number the groups (labels, cameras, bins, track lengths, episodes x cameras), never the boxes.

A scope is the set of episodes the statistics cover (a dataset's, or a project's linked episodes) and,
for a project that names labels, the label names its boxes must carry. Boxes that are `outside` markers
(the keyframe where a track left the view) are not boxes of an object and are left out everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import String, case, cast, distinct, func, literal_column, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from persistence.tables import (
    EpisodeAnnotationRow,
    EpisodeRow,
    LabelRow,
    ObjectAnnotationRow,
    ProjectEpisodeRow,
    TaskRow,
)

Box = ObjectAnnotationRow


@dataclass(frozen=True)
class Scope:
    """Either a dataset's episodes or a project's linked episodes; `labels` (names) narrows the boxes
    when not empty (a project's label list)."""

    dataset_id: int | None = None
    project_id: int | None = None
    labels: tuple[str, ...] = ()

    def episode_ids(self) -> Select:
        if self.project_id is not None:
            return select(ProjectEpisodeRow.episode_id).where(ProjectEpisodeRow.project_id == self.project_id)
        return select(EpisodeRow.id).where(EpisodeRow.dataset_id == self.dataset_id)

    def boxes(self, query: Select) -> Select:
        """`query` over object_annotation narrowed to the scope's boxes."""
        query = query.where(Box.episode_id.in_(self.episode_ids()), Box.outside.is_(False))
        if self.labels:
            named = select(LabelRow.id).where(LabelRow.name.in_(self.labels))
            query = query.where(Box.label_id.in_(named))
        return query


def _bin(value, edges: Sequence[float]):
    """The index of the half-open bin [edges[i], edges[i+1]) holding `value`; len(edges) - 1 past the last."""
    return case(*[(value < edge, i) for i, edge in enumerate(edges[1:])], else_=len(edges) - 1)


async def categorical_counts(
    session: AsyncSession,
    scope: Scope,
    size_edges: Sequence[float],
    width_edges: Sequence[float],
    height_edges: Sequence[float],
) -> dict[str, dict[str | None, int]]:
    """Box counts by dimension, in one statement (UNION ALL of GROUP BYs):
    {"label": {label id: n}, "camera": {...}, "source": {...}, "review": {...}, "annotator": {user id or
    None: n}, "size": {bin index: n}, "width": {bin index: n}, "height": {bin index: n}}; keys as text.
    Sizes bin the area width x height in px² by `size_edges` (area < edges[1] -> 0, ...)."""
    dims = {
        "label": cast(Box.label_id, String),
        "camera": Box.camera,
        "source": Box.source,
        "review": Box.review,
        "annotator": cast(Box.created_by, String),
        "size": cast(_bin(Box.width * Box.height, size_edges), String),
        "width": cast(_bin(Box.width, width_edges), String),
        "height": cast(_bin(Box.height, height_edges), String),
    }
    parts = [
        scope.boxes(
            select(literal_column(f"'{name}'").label("dim"), key.label("key"), func.count().label("n"))
        ).group_by(key)
        for name, key in dims.items()
    ]
    out: dict[str, dict[str | None, int]] = {name: {} for name in dims}
    for dim, key, n in (await session.execute(union_all(*parts))).all():
        out[dim][key] = int(n)
    return out


async def label_names(session: AsyncSession, label_ids: Sequence[int]) -> dict[int, str]:
    rows = await session.execute(select(LabelRow.id, LabelRow.name).where(LabelRow.id.in_(label_ids)))
    return {i: name for i, name in rows.all()}


async def track_lengths(session: AsyncSession, scope: Scope) -> dict[int, int]:
    """{length: tracks}: a track is (episode, camera, track id); its length the boxes (frames) it has."""
    per_track = scope.boxes(select(func.count().label("length"))).group_by(
        Box.episode_id, Box.camera, Box.track_id
    )
    inner = per_track.subquery()
    query = select(inner.c.length, func.count()).group_by(inner.c.length)
    return {int(length): int(n) for length, n in (await session.execute(query)).all()}


async def frames_with_boxes(session: AsyncSession, scope: Scope) -> dict[tuple[int, str], int]:
    """{(episode id, camera): distinct frames holding at least one of the scope's boxes}."""
    query = scope.boxes(select(Box.episode_id, Box.camera, func.count(distinct(Box.frame)))).group_by(
        Box.episode_id, Box.camera
    )
    return {(e, c): int(n) for e, c, n in (await session.execute(query)).all()}


async def episode_cameras(session: AsyncSession, scope: Scope) -> list[tuple[int, int, dict[str, list[int]]]]:
    """(episode id, length, {camera: [frames, height, width]}) of every episode of the scope: one row per
    episode (their frame counts per camera live in a JSON column)."""
    query = select(EpisodeRow.id, EpisodeRow.length, EpisodeRow.cameras).where(
        EpisodeRow.id.in_(scope.episode_ids())
    )
    return [(e, int(length), dict(cameras)) for e, length, cameras in (await session.execute(query)).all()]


async def episodes_by_task(session: AsyncSession, scope: Scope) -> dict[str | None, int]:
    """{task description (None: no task): episodes}, by each episode's first task (`task_index`)."""
    query = (
        select(TaskRow.description, func.count())
        .select_from(EpisodeRow)
        .outerjoin(
            TaskRow, (TaskRow.dataset_id == EpisodeRow.dataset_id) & (TaskRow.index == EpisodeRow.task_index)
        )
        .where(EpisodeRow.id.in_(scope.episode_ids()))
        .group_by(TaskRow.description)
    )
    out: dict[str | None, int] = {}
    for description, n in (await session.execute(query)).all():
        out[description] = out.get(description, 0) + int(n)
    return out


async def episodes_by_rating(session: AsyncSession, scope: Scope) -> dict[str, int]:
    """{rating: episodes at least one annotator rated so} (an episode rated twice counts once per rating)."""
    query = (
        select(EpisodeAnnotationRow.rating, func.count(distinct(EpisodeAnnotationRow.episode_id)))
        .where(EpisodeAnnotationRow.episode_id.in_(scope.episode_ids()))
        .group_by(EpisodeAnnotationRow.rating)
    )
    return {r: int(n) for r, n in (await session.execute(query)).all()}


async def rated_episodes(session: AsyncSession, scope: Scope) -> int:
    """Episodes of the scope with at least one annotator's rating."""
    query = select(func.count(distinct(EpisodeAnnotationRow.episode_id))).where(
        EpisodeAnnotationRow.episode_id.in_(scope.episode_ids())
    )
    return int((await session.execute(query)).scalar_one())
