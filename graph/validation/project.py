from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay

from domain.validation import projects as projects_domain
from domain.validation.projects import Criteria
from graph.accounts.user import User
from graph.context import Info
from graph.deprecated import use
from persistence.documents import StoredCriteria
from persistence.tables import EpisodeRow, ProjectRow

if TYPE_CHECKING:
    from graph.datasets.episode import Episode
    from graph.datasets.statistics import DatasetStatistics
    from graph.validation.session_comparison import SessionMetricPoint, SessionMetricTrend
    from graph.validation.test_session import TestSession

# A GraphQL enum here is the domain's class itself, registered in place (strawberry.enum marks the class
# and returns it), so annotations name a class the type checker knows.
ProjectStatus = projects_domain.ProjectStatus
strawberry.enum(ProjectStatus, description="ACTIVE, or ARCHIVED (read only).")


@strawberry.type(description="What a test session must reach to pass; a criterion left null is not checked.")
class PassFailCriteria:
    min_precision: float | None = strawberry.field(description="Lowest precision that passes (0..1).")
    min_recall: float | None = strawberry.field(description="Lowest recall that passes (0..1).")
    min_f1: float | None = strawberry.field(description="Lowest F1 that passes (0..1).")
    min_ap50: float | None = strawberry.field(description="Lowest AP at IoU 0.5 that passes (0..1).")
    max_p95_latency_ms: float | None = strawberry.field(description="Highest 95th-percentile latency, ms.")
    match_iou: float = strawberry.field(description="IoU a detection needs to match a box, in (0, 1].")

    @strawberry.field(
        description="IoU a detection needs to match a box: `matchIou`.", deprecation_reason=use("matchIou")
    )
    def iou_threshold(self) -> float:
        return self.match_iou

    @classmethod
    def of(cls, stored: StoredCriteria) -> PassFailCriteria:
        c = Criteria.of(stored)
        return cls(
            min_precision=c.min_precision,
            min_recall=c.min_recall,
            min_f1=c.min_f1,
            min_ap50=c.min_ap50,
            max_p95_latency_ms=c.max_p95_latency_ms,
            match_iou=c.match_iou,
        )


@strawberry.type(description="A validation project: linked episodes, its labels and pass/fail criteria.")
class Project(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="Unique name.")
    description: str | None = strawberry.field(description="What the project validates.")
    status: ProjectStatus = strawberry.field(description="ACTIVE or ARCHIVED.")
    labels: list[str] = strawberry.field(description="The label names it validates (all when empty).")
    criteria: PassFailCriteria = strawberry.field(description="What a test session must reach to pass.")
    version: int = strawberry.field(description="Rises by one with every change.")
    created_at: datetime = strawberry.field(description="When the project was created.")
    updated_at: datetime = strawberry.field(description="When the project last changed.")
    row: strawberry.Private[ProjectRow]

    @classmethod
    def from_row(cls, row: ProjectRow) -> Project:
        return cls(
            id=row.id,
            name=row.name,
            description=row.description,
            status=projects_domain.ProjectStatus(row.status),
            labels=list(row.labels),
            criteria=PassFailCriteria.of(row.criteria),
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
            row=row,
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False):
        rows = await info.context.loaders.project.load_many([int(i) for i in node_ids])
        return [cls.from_row(r) if r else None for r in rows]

    @strawberry.field(description="Who created the project.")
    async def owner(self, info: Info) -> User | None:
        if self.row.owner_id is None:
            return None
        row = await info.context.loaders.user.load(self.row.owner_id)
        return User.from_row(row) if row else None

    @strawberry.field(description="The linked episodes, by id.")
    async def episodes(  # noqa: E501
        self, info: Info
    ) -> list[Annotated[Episode, strawberry.lazy("graph.datasets.episode")]]:
        from graph.datasets.episode import Episode

        ids = await info.context.loaders.project_episode_ids.load(self.id)
        rows = await info.context.loaders.episode.load_many(ids)
        return [Episode.from_row(r) for r in rows if r is not None]

    @strawberry.field(description="How many episodes are linked.")
    async def episode_count(self, info: Info) -> int:
        return len(await info.context.loaders.project_episode_ids.load(self.id))

    @strawberry.field(
        description=(
            "Dataset statistics over the linked episodes and, when the project names labels, only boxes "
            "of those labels (see Dataset.statistics)."
        )
    )
    async def statistics(
        self, info: Info
    ) -> Annotated[DatasetStatistics, strawberry.lazy("graph.datasets.statistics")]:
        from graph.datasets.statistics import project_statistics

        return await project_statistics(info, self.id)

    @strawberry.field(description="The project's test sessions, newest first.")
    async def test_sessions(
        self, info: Info
    ) -> list[Annotated[TestSession, strawberry.lazy("graph.validation.test_session")]]:
        from graph.validation.test_session import TestSession

        rows = await info.context.loaders.project_test_sessions.load(self.id)
        return [TestSession.from_row(r) for r in rows]

    @strawberry.field(
        description=(
            "The dashboard of its evaluated sessions: per metric (AP50, AP50_95, F1, PRECISION, RECALL, "
            "LATENCY_P95) the value of each session by time, oldest first, and the best session."
        )
    )
    async def session_trends(
        self, info: Info
    ) -> list[Annotated[SessionMetricTrend, strawberry.lazy("graph.validation.session_comparison")]]:
        from graph.validation.session_comparison import session_trends

        return session_trends(await info.context.loaders.project_test_sessions.load(self.id))

    @strawberry.field(
        description="The best evaluated session per metric (highest; lowest latency p95), from sessionTrends."
    )
    async def best_sessions(
        self, info: Info
    ) -> list[Annotated[SessionMetricPoint, strawberry.lazy("graph.validation.session_comparison")]]:
        from graph.validation.session_comparison import session_trends

        trends = session_trends(await info.context.loaders.project_test_sessions.load(self.id))
        return [t.best for t in trends if t.best is not None]


@strawberry.type(
    description="An unlinked episode and how much validated ground truth it holds for the project."
)
class EpisodeSuggestion:
    validated_boxes: int = strawberry.field(description="Validated boxes of the project's labels.")
    episode_id: strawberry.Private[int]
    episode_row: strawberry.Private[EpisodeRow]

    @strawberry.field(description="The episode.")
    def episode(self) -> Annotated[Episode, strawberry.lazy("graph.datasets.episode")]:
        from graph.datasets.episode import Episode

        return Episode.from_row(self.episode_row)


@strawberry.type(description="A page of projects.")
class ProjectConnection(relay.Connection[Project]):
    status: strawberry.Private[str | None] = None

    @strawberry.field(description="Number of projects in the whole list.")
    async def total_count(self, info: Info) -> int:
        return await projects_domain.count_projects(info.context.runtime, self.status)
