from __future__ import annotations

from datetime import datetime

import strawberry

from domain.analysis import dashboard
from domain.annotations.consensus import RATINGS
from domain.annotations.drafts import Rating as RatingData
from domain.core.errors import BadUserInput
from graph.annotations.consensus import RatingCount
from graph.context import Info
from graph.validation.test_session import TestSession


@strawberry.type(description="What the installation holds; streamed by dashboardUpdates when it changes.")
class DashboardStats:
    datasets: int = strawberry.field(description="Registered datasets.")
    episodes: int = strawberry.field(description="Episodes in them.")
    annotated_episodes: int = strawberry.field(description="Episodes with an episode annotation or a box.")
    boxes: int = strawberry.field(description="Object annotations (boxes).")
    validated_share: float | None = strawberry.field(
        description="Share of boxes validated; null without boxes."
    )
    projects: int = strawberry.field(description="Validation projects.")
    test_sessions: int = strawberry.field(description="Test sessions.")
    pass_rate: float | None = strawberry.field(description="Passed / evaluated sessions; null before any.")

    @classmethod
    def of(cls, c: dashboard.DashboardCounts) -> DashboardStats:
        return cls(
            datasets=c.datasets,
            episodes=c.episodes,
            annotated_episodes=c.annotated_episodes,
            boxes=c.boxes,
            validated_share=c.validated_share,
            projects=c.projects,
            test_sessions=c.test_sessions,
            pass_rate=c.pass_rate,
        )


@strawberry.type(description="Annotations made on one UTC day.")
class DailyAnnotations:
    day: str = strawberry.field(description="The day, YYYY-MM-DD (UTC).")
    episode_annotations: int = strawberry.field(description="Episode annotations created.")
    boxes: int = strawberry.field(description="Boxes created.")


@strawberry.type(description="One evaluated test session as a point of a time series.")
class SessionPoint:
    evaluated_at: datetime = strawberry.field(description="When it was evaluated.")
    precision: float | None = strawberry.field(description="Its precision.")
    recall: float | None = strawberry.field(description="Its recall.")
    passed: bool | None = strawberry.field(description="Its verdict.")
    session: TestSession = strawberry.field(description="The session.")


@strawberry.type(description="Counts and chart series for the start page.")
class Dashboard:
    @strawberry.field(description="Counts.")
    async def stats(self, info: Info) -> DashboardStats:
        return DashboardStats.of(await dashboard.counts(info.context.runtime))

    @strawberry.field(description="Episode annotations and boxes created per day over the last `days` days.")
    async def annotations_per_day(self, info: Info, days: int = 30) -> list[DailyAnnotations]:
        if not (1 <= days <= 366):
            raise BadUserInput(f"days must be between 1 and 366, got {days}", field="days")
        series = await dashboard.annotations_per_day(info.context.runtime, days)
        return [DailyAnnotations(day=d, episode_annotations=e, boxes=b) for d, e, b in series]

    @strawberry.field(description="Episode annotations per rating.")
    async def rating_distribution(self, info: Info) -> list[RatingCount]:
        found = await dashboard.rating_distribution(info.context.runtime)
        return [RatingCount(rating=RatingData(r), count=found.get(r, 0)) for r in RATINGS]

    @strawberry.field(description="Precision and recall of the last evaluated test sessions, oldest first.")
    async def test_session_series(self, info: Info, last: int = 20) -> list[SessionPoint]:
        if not (1 <= last <= 200):
            raise BadUserInput(f"last must be between 1 and 200, got {last}", field="last")
        rows = await dashboard.last_sessions(info.context.runtime, last)
        return [
            SessionPoint(
                evaluated_at=r.evaluated_at,
                precision=r.metrics.overall.precision if r.metrics else None,
                recall=r.metrics.overall.recall if r.metrics else None,
                passed=r.passed,
                session=TestSession.from_row(r),
            )
            for r in rows
            if r.evaluated_at is not None  # every one: last_sessions reads evaluated sessions only
        ]
