from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from domain.annotations.consensus import AgreedAnomaly as AgreedAnomalyData
from domain.annotations.consensus import Consensus as ConsensusData
from domain.annotations.drafts import AnomalyType as AnomalyTypeData
from domain.annotations.drafts import Rating as RatingData
from domain.annotations.drafts import Severity as SeverityData
from domain.annotations.progress import AnnotationProgress as ProgressData
from graph.annotations.episode_annotation import AnomalyType, Rating, Severity
from graph.context import Info
from graph.deprecated import use
from graph.segments.segment import SegmentAgreement

if TYPE_CHECKING:
    from graph.accounts.user import User


@strawberry.type(description="How many annotators chose a rating.")
class RatingCount:
    rating: Rating = strawberry.field(description="The rating.")
    count: int = strawberry.field(description="Annotators who chose it.")


@strawberry.type(description="Mean and spread of one quality grade, 1-5, over the annotators who gave it.")
class GradeSummary:
    name: str = strawberry.field(description="smoothness, efficiency, safety, precision or video_quality.")
    mean: float | None = strawberry.field(description="Mean; null when nobody gave it.")
    spread: float | None = strawberry.field(
        description="Population standard deviation; null when nobody gave it."
    )
    count: int = strawberry.field(description="How many annotators gave it.")


@strawberry.type(description="An anomaly range at least two annotators marked (temporal IoU >= 0.5).")
class AgreedAnomaly:
    type: AnomalyType = strawberry.field(description="The type most of them chose.")
    severity: Severity = strawberry.field(description="The most severe they chose.")
    from_frame: int = strawberry.field(description="First frame of the union of their ranges.")
    to_frame: int = strawberry.field(description="Last frame of the union of their ranges.")
    from_time: float = strawberry.field(description="Seconds at fromFrame.")
    to_time: float = strawberry.field(description="Seconds at toFrame.")
    mean_iou: float = strawberry.field(description="Mean temporal IoU of the agreeing marks.")
    annotator_ids: strawberry.Private[tuple[int, ...]]

    @classmethod
    def from_data(cls, data: AgreedAnomalyData) -> AgreedAnomaly:
        return cls(
            type=AnomalyTypeData(data.type),
            severity=SeverityData(data.severity),
            from_frame=data.from_frame,
            to_frame=data.to_frame,
            from_time=data.from_time,
            to_time=data.to_time,
            mean_iou=data.mean_iou,
            annotator_ids=data.annotator_ids,
        )

    @strawberry.field(description="Who marked it.")
    async def annotators(self, info: Info) -> list[Annotated[User, strawberry.lazy("graph.accounts.user")]]:
        from graph.accounts.user import User

        rows = await info.context.loaders.user.load_many(list(self.annotator_ids))
        return [User.from_row(r) for r in rows if r is not None]


@strawberry.type(description="What the annotators of an episode agree on (derived, never stored).")
class Consensus:
    annotator_count: int = strawberry.field(description="How many annotators annotated the episode.")
    rating: Rating | None = strawberry.field(
        description="The majority rating; ties go to the more cautious (FAILURE, PARTIAL, UNKNOWN, SUCCESS)."
    )
    agreement: float | None = strawberry.field(
        description="Share of annotators who chose the majority rating."
    )
    rating_counts: list[RatingCount] = strawberry.field(description="How many chose each rating.")
    grades: list[GradeSummary] = strawberry.field(description="Mean and spread of each quality grade, 1-5.")
    anomalies: list[AgreedAnomaly] = strawberry.field(
        description="Anomaly ranges at least two annotators marked."
    )

    @classmethod
    def from_data(cls, data: ConsensusData) -> Consensus:
        return cls(
            annotator_count=data.annotator_count,
            rating=RatingData(data.rating) if data.rating else None,
            agreement=data.agreement,
            rating_counts=[RatingCount(rating=RatingData(r), count=n) for r, n in data.rating_counts.items()],
            grades=[
                GradeSummary(name=g.name, mean=g.mean, spread=g.spread, count=g.count) for g in data.grades
            ],
            anomalies=[AgreedAnomaly.from_data(a) for a in data.anomalies],
        )

    @strawberry.field(
        description="Mean and spread of each quality grade, 1-5: `grades`.", deprecation_reason=use("grades")
    )
    def scores(self) -> list[GradeSummary]:
        return self.grades


@strawberry.type(description="Krippendorff's alpha of one quality grade, 1-5 (ordinal).")
class GradeAgreement:
    name: str = strawberry.field(
        description="The grade: smoothness, efficiency, safety, precision or video_quality."
    )
    alpha: float | None = strawberry.field(
        description="Alpha; null when undefined (no pairs, or no variation)."
    )


@strawberry.type(description="How far a dataset's annotation has come, and how much its annotators agree.")
class AnnotationProgress:
    episode_count: int = strawberry.field(description="Episodes in the dataset.")
    unannotated: int = strawberry.field(description="Episodes nobody annotated.")
    single_annotator: int = strawberry.field(description="Episodes one annotator annotated.")
    multiple_annotators: int = strawberry.field(description="Episodes two or more annotators annotated.")
    rating_alpha: float | None = strawberry.field(description="Krippendorff's alpha (nominal) of the rating.")
    grade_alphas: list[GradeAgreement] = strawberry.field(
        description="Krippendorff's alpha (ordinal) per quality grade, 1-5."
    )
    pairable_episodes: int = strawberry.field(
        description="Episodes with two or more annotations (alpha's units)."
    )
    segment_agreement: SegmentAgreement = strawberry.field(
        description="How far annotators' time segments agree (temporal IoU at least 0.5)."
    )

    @classmethod
    def from_data(cls, data: ProgressData) -> AnnotationProgress:
        return cls(
            episode_count=data.episodes,
            unannotated=data.unannotated,
            single_annotator=data.single,
            multiple_annotators=data.multiple,
            rating_alpha=data.agreement.rating_alpha,
            grade_alphas=[GradeAgreement(name=n, alpha=a) for n, a in data.agreement.grade_alphas.items()],
            pairable_episodes=data.agreement.units,
            segment_agreement=SegmentAgreement.from_data(data.segments),
        )

    @strawberry.field(
        description="Krippendorff's alpha (ordinal) per quality grade, 1-5: `gradeAlphas`.",
        deprecation_reason=use("gradeAlphas"),
    )
    def score_alphas(self) -> list[GradeAgreement]:
        return self.grade_alphas
