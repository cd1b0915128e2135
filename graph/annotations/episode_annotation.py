from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay

from domain.annotations import drafts
from graph.context import Info
from graph.deprecated import use
from graph.loaders import existing
from persistence.tables import AnomalyRow, EpisodeAnnotationRow

if TYPE_CHECKING:
    from graph.accounts.user import User
    from graph.datasets.episode import Episode

# A GraphQL enum here is the domain's class itself, registered in place (strawberry.enum marks the class
# and returns it), so annotations name a class the type checker knows.
Rating = drafts.Rating
strawberry.enum(Rating, description="Whether the robot did its task.")
AnomalyType = drafts.AnomalyType
strawberry.enum(AnomalyType, description="What went wrong.")
Severity = drafts.Severity
strawberry.enum(Severity, description="How bad it was.")


@strawberry.type(description="Something that went wrong over a range of frames.")
class Anomaly(relay.Node):
    id: relay.NodeID[int]
    type: AnomalyType = strawberry.field(description="What went wrong.")
    severity: Severity = strawberry.field(description="How bad it was.")
    from_frame: int = strawberry.field(description="First frame (inclusive).")
    to_frame: int = strawberry.field(description="Last frame (inclusive).")
    from_time: float = strawberry.field(
        description="Seconds at fromFrame, from the episode's own timestamps."
    )
    to_time: float = strawberry.field(description="Seconds at toFrame, from the episode's own timestamps.")
    description: str | None = strawberry.field(description="What the annotator saw.")
    auto_detected: bool = strawberry.field(
        description="Suggested by an analysis job rather than marked by hand."
    )
    verified: bool = strawberry.field(description="Confirmed by a person.")
    analysis_kind: str | None = strawberry.field(
        description="For a suggestion: the kind of analysis that made it (e.g. ANOMALY_DETECTION)."
    )
    annotation_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: AnomalyRow) -> Anomaly:
        return cls(
            id=row.id,
            type=drafts.AnomalyType(row.type),
            severity=drafts.Severity(row.severity),
            from_frame=row.from_frame,
            to_frame=row.to_frame,
            from_time=row.from_time,
            to_time=row.to_time,
            description=row.description,
            auto_detected=row.auto_detected,
            verified=row.verified,
            analysis_kind=row.analysis_kind,
            annotation_id=row.annotation_id,
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False):
        # Anomalies are reached through their annotation or episode.
        return [None for _ in node_ids]


@strawberry.type(description="Did the robot do its task?")
class TaskCompleteness:
    rating: Rating = strawberry.field(description="SUCCESS, PARTIAL, FAILURE or UNKNOWN.")
    certainty: int | None = strawberry.field(description="How sure the annotator is of the rating, 1-5.")
    completion: float | None = strawberry.field(description="How much of the task was done, 0-100 %.")
    failure_reason: str | None = strawberry.field(description="Why it failed.")
    subtask_reached: str | None = strawberry.field(description="The last subtask reached.")

    @strawberry.field(
        description="How sure the annotator is of the rating, 1-5: `certainty`.",
        deprecation_reason=use("certainty"),
    )
    def confidence(self) -> int | None:
        return self.certainty


@strawberry.type(description="How good the motion was, each 1-5.")
class TrajectoryQuality:
    smoothness: int | None = strawberry.field(description="1-5.")
    efficiency: int | None = strawberry.field(description="1-5.")
    safety: int | None = strawberry.field(description="1-5.")
    precision: int | None = strawberry.field(description="1-5.")


@strawberry.type(description="How good the recording was.")
class DataQuality:
    video_quality: int | None = strawberry.field(description="1-5.")
    sync_issues: bool = strawberry.field(description="Streams out of step.")
    missing_frames: bool = strawberry.field(description="Frames missing.")
    notes: str | None = strawberry.field(description="Free notes on the data.")


@strawberry.type(description="One annotator's judgement of one episode.")
class EpisodeAnnotation(relay.Node):
    id: relay.NodeID[int]
    version: int = strawberry.field(
        description="Rises by one with every accepted save; send it as expectedVersion."
    )
    task_completeness: TaskCompleteness = strawberry.field(description="Did the robot do its task?")
    trajectory_quality: TrajectoryQuality = strawberry.field(description="How good the motion was.")
    data_quality: DataQuality = strawberry.field(description="How good the recording was.")
    notes: str | None = strawberry.field(description="Free notes.")
    created_at: datetime = strawberry.field(description="When it was first saved.")
    updated_at: datetime = strawberry.field(description="When it was last saved.")
    row: strawberry.Private[EpisodeAnnotationRow]

    @classmethod
    def from_row(cls, row: EpisodeAnnotationRow) -> EpisodeAnnotation:
        return cls(
            id=row.id,
            version=row.version,
            task_completeness=TaskCompleteness(
                rating=drafts.Rating(row.rating),
                certainty=row.certainty,
                completion=row.completion,
                failure_reason=row.failure_reason,
                subtask_reached=row.subtask_reached,
            ),
            trajectory_quality=TrajectoryQuality(
                smoothness=row.smoothness,
                efficiency=row.efficiency,
                safety=row.safety,
                precision=row.precision,
            ),
            data_quality=DataQuality(
                video_quality=row.video_quality,
                sync_issues=row.sync_issues,
                missing_frames=row.missing_frames,
                notes=row.data_notes,
            ),
            notes=row.notes,
            created_at=row.created_at,
            updated_at=row.updated_at,
            row=row,
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False):
        rows = await info.context.loaders.annotation.load_many([int(i) for i in node_ids])
        return [cls.from_row(r) if r else None for r in rows]

    @strawberry.field(description="Who made it.")
    async def annotator(self, info: Info) -> Annotated[User, strawberry.lazy("graph.accounts.user")]:
        from graph.accounts.user import User

        return User.from_row(existing(await info.context.loaders.user.load(self.row.annotator_id)))

    @strawberry.field(description="The episode it judges.")
    async def episode(self, info: Info) -> Annotated[Episode, strawberry.lazy("graph.datasets.episode")]:
        from graph.datasets.episode import Episode

        return Episode.from_row(existing(await info.context.loaders.episode.load(self.row.episode_id)))

    @strawberry.field(description="The anomalies it marks, in the annotator's order.")
    async def anomalies(self, info: Info) -> list[Anomaly]:
        return [Anomaly.from_row(r) for r in await info.context.loaders.anomalies.load(self.row.id)]
