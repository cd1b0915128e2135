"""The dashboard: what the whole installation holds, and how annotation and validation go."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import timedelta

from domain.core.runtime import Runtime
from domain.core.watch import Watch
from persistence.columns import utcnow
from persistence.repositories import dashboard as repo
from persistence.repositories import test_session as sessions_repo
from persistence.tables import TestSessionRow

SERIES_DAYS = 30
LAST_SESSIONS = 20
# The counts are read once a second per process, however many dashboards are open.
COUNTS_INTERVAL = 1.0


@dataclass(frozen=True)
class DashboardCounts:
    datasets: int
    episodes: int
    annotated_episodes: int
    boxes: int
    validated_share: float | None
    projects: int
    test_sessions: int
    pass_rate: float | None  # passed / evaluated sessions


async def counts(rt: Runtime) -> DashboardCounts:
    async with rt.sessions() as session:
        c = await repo.read_counts(session)
    return DashboardCounts(
        datasets=c["datasets"],
        episodes=c["episodes"],
        annotated_episodes=c["annotatedEpisodes"],
        boxes=c["boxes"],
        validated_share=c["validatedBoxes"] / c["boxes"] if c["boxes"] else None,
        projects=c["projects"],
        test_sessions=c["testSessions"],
        pass_rate=c["passedSessions"] / c["evaluatedSessions"] if c["evaluatedSessions"] else None,
    )


def count_updates(rt: Runtime) -> AsyncGenerator[DashboardCounts, None]:
    """The counts at once, then whenever they change (checked once a second, shared by every
    subscriber of this process)."""
    watch = rt.watches.get("dashboard.counts")
    if watch is None:
        watch = rt.watches["dashboard.counts"] = Watch(lambda: counts(rt), COUNTS_INTERVAL)
    return watch.updates()


async def annotations_per_day(rt: Runtime, days: int = SERIES_DAYS) -> list[tuple[str, int, int]]:
    """(UTC day, episode annotations, boxes) for each of the last `days` days, zeros included."""
    today = utcnow().date()
    start = today - timedelta(days=days - 1)
    async with rt.sessions() as session:
        found = await repo.per_day(
            session, utcnow().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days - 1)
        )
    out = []
    for i in range(days):
        day = (start + timedelta(days=i)).isoformat()
        got = found.get(day, {})
        out.append((day, got.get("episode", 0), got.get("boxes", 0)))
    return out


async def rating_distribution(rt: Runtime) -> dict[str, int]:
    async with rt.sessions() as session:
        return await repo.rating_counts(session)


async def last_sessions(rt: Runtime, limit: int = LAST_SESSIONS) -> list[TestSessionRow]:
    """The last evaluated test sessions, oldest first (a time series)."""
    async with rt.sessions() as session:
        return await sessions_repo.latest_evaluated(session, limit)
