"""Counts and per-day series for the dashboard, each in one statement."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Date, cast, func, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.tables import (
    DatasetRow,
    EpisodeAnnotationRow,
    EpisodeRow,
    ObjectAnnotationRow,
    ProjectRow,
    TestSessionRow,
)


def _day(session: AsyncSession, column):
    # SQLite stores ISO text: date() cuts it to the day; PostgreSQL casts (the server runs in UTC).
    if session.get_bind().dialect.name == "sqlite":
        return func.date(column)
    return cast(func.timezone("UTC", column), Date)


async def read_counts(session: AsyncSession) -> dict:
    annotated = union(
        select(EpisodeAnnotationRow.episode_id), select(ObjectAnnotationRow.episode_id)
    ).subquery()
    query = select(
        select(func.count()).select_from(DatasetRow).scalar_subquery(),
        select(func.count()).select_from(EpisodeRow).scalar_subquery(),
        select(func.count()).select_from(annotated).scalar_subquery(),
        select(func.count()).select_from(ObjectAnnotationRow).scalar_subquery(),
        select(func.count())
        .select_from(ObjectAnnotationRow)
        .where(ObjectAnnotationRow.review == "VALIDATED")
        .scalar_subquery(),
        select(func.count()).select_from(ProjectRow).scalar_subquery(),
        select(func.count()).select_from(TestSessionRow).scalar_subquery(),
        select(func.count(TestSessionRow.passed)).scalar_subquery(),
        select(func.count()).where(TestSessionRow.passed.is_(True)).scalar_subquery(),
    )
    row = (await session.execute(query)).one()
    keys = (
        "datasets",
        "episodes",
        "annotatedEpisodes",
        "boxes",
        "validatedBoxes",
        "projects",
        "testSessions",
        "evaluatedSessions",
        "passedSessions",
    )
    return dict(zip(keys, (int(v) for v in row), strict=True))


async def per_day(session: AsyncSession, since: datetime) -> dict[str, dict[str, int]]:
    """Episode annotations and boxes created per UTC day since `since`: {day: {"episode": n, "boxes": n}}."""
    out: dict[str, dict[str, int]] = {}
    for key, table in (("episode", EpisodeAnnotationRow), ("boxes", ObjectAnnotationRow)):
        day = _day(session, table.created_at)
        query = select(day, func.count()).where(table.created_at >= since).group_by(day)
        for d, n in (await session.execute(query)).all():
            out.setdefault(str(d), {"episode": 0, "boxes": 0})[key] = int(n)
    return out


async def rating_counts(session: AsyncSession) -> dict[str, int]:
    query = select(EpisodeAnnotationRow.rating, func.count()).group_by(EpisodeAnnotationRow.rating)
    return {r: int(n) for r, n in (await session.execute(query)).all()}
