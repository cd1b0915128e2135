from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from domain.analysis.kinds import AnalysisKind as AnalysisKindData
from graph.deprecated import use
from persistence.documents import EpisodeMetrics

# A GraphQL enum here is the domain's class itself, registered in place (strawberry.enum marks the class
# and returns it), so annotations name a class the type checker knows.
AnalysisKind = AnalysisKindData
strawberry.enum(
    AnalysisKind,
    name="AnalysisKind",
    description=(
        "TRAJECTORY_METRICS (metrics, grade and flags per episode), ANOMALY_DETECTION (suggested anomalies), "
        "QUALITY_REPORT (dataset health), CLUSTERING (groups of similar episodes and outliers)."
    ),
)


@strawberry.type(
    description=(
        "How an episode's motion measures, from the latest trajectory-metrics run, as the implementation "
        "guide (section 7) defines it. An episode with fewer than 4 finite samples has none (null)."
    )
)
class TrajectoryMetrics:
    smoothness: float = strawberry.field(description="1 / (1 + RMS of jerk), 0-1.")
    efficiency: float = strawberry.field(description="Straight-line distance / path length, 0-1.")
    jitter: float = strawberry.field(
        description="Summed power spectral density of speed above the threshold."
    )
    hesitation_count: int = strawberry.field(
        description=(
            "Runs of at least hesitation_min_frames speeds below velocity_threshold that end before the "
            "episode does (the guide's definition; parameter hesitation_at_end also counts a final one)."
        )
    )
    correction_count: int = strawberry.field(description="Reversals of the velocity direction.")
    path_length: float = strawberry.field(description="Length of the joint-space path.")
    overall_grade: int = strawberry.field(description="Overall grade, 1-5, from the weighted metrics.")
    flags: list[str] = strawberry.field(description="jittery, hesitation, correction-heavy.")
    values: JSON = strawberry.field(description="Every value the run computed, by name.")

    @classmethod
    def from_metrics(cls, m: EpisodeMetrics) -> TrajectoryMetrics:
        return cls(
            smoothness=m.smoothness,
            efficiency=m.efficiency,
            jitter=m.jitter,
            hesitation_count=m.hesitation_count,
            correction_count=m.correction_count,
            path_length=m.path_length,
            overall_grade=m.overall_grade,
            flags=list(m.flags),
            values=JSON(m.stored()),
        )

    @strawberry.field(
        description="Overall grade, 1-5, from the weighted metrics: `overallGrade`.",
        deprecation_reason=use("overallGrade"),
    )
    def overall_score(self) -> int:
        return self.overall_grade


@strawberry.type(description="The form of one analysis kind's parameters.")
class JobParameterSchema:
    kind: AnalysisKind = strawberry.field(description="The analysis kind.")
    schema: JSON = strawberry.field(description="JSON Schema of `runAnalysis(input: {parameters})` for it.")


@strawberry.type(description="A group of similar episodes from the latest clustering run.")
class EpisodeCluster:
    index: int = strawberry.field(description="The cluster's number, from 0.")
    size: int = strawberry.field(description="How many episodes it holds.")
    episode_indexes: list[int] = strawberry.field(description="Their indexes in the dataset.")


@strawberry.type(description="The latest clustering of a dataset's episodes.")
class Clustering:
    version: int = strawberry.field(description="The run (job version) it comes from.")
    k: int = strawberry.field(description="Number of clusters (chosen by silhouette unless given).")
    silhouette: float | None = strawberry.field(description="Mean silhouette; null with one cluster.")
    clusters: list[EpisodeCluster] = strawberry.field(description="The clusters.")
    outlier_indexes: list[int] = strawberry.field(description="Episodes far from their cluster's centre.")


@strawberry.type(description="One data-quality check and the episodes it found.")
class QualityCheck:
    name: str = strawberry.field(
        description=(
            "nan, gaps (dropped frame times), non_increasing_timestamps, frame_count_mismatch, "
            "frozen_joints, dark_frames, frozen_camera, blurred_frames or length_outlier."
        )
    )
    count: int = strawberry.field(description="Episodes it found.")
    episode_indexes: list[int] = strawberry.field(description="Their indexes in the dataset.")
    frames: list[QualityFrames] = strawberry.field(
        description=(
            "Where, for dark_frames, frozen_camera, blurred_frames and gaps: per episode and camera, the "
            "frames found (empty for the other checks, and for reports made before frames were kept)."
        )
    )


@strawberry.type(description="The frames one quality check found in one episode's camera (or its clock).")
class QualityFrames:
    episode_index: int = strawberry.field(description="The episode's index in the dataset.")
    camera: str | None = strawberry.field(
        description="The camera; null for gaps (the episode's frame times)."
    )
    ranges: list[list[int]] = strawberry.field(
        description=(
            "[first, last] frame indexes, inclusive, 0-based. frozen_camera: the frames that repeat the one "
            "before them; gaps: each frame that came late after dropped frame times, as [frame, frame]."
        )
    )


@strawberry.type(description="The latest data-quality report of a dataset.")
class QualityReport:
    version: int = strawberry.field(description="The run (job version) it comes from.")
    episodes: int = strawberry.field(description="Episodes checked.")
    median_length: float = strawberry.field(description="Median episode length in frames.")
    checks: list[QualityCheck] = strawberry.field(description="Every check, with what it found.")

    @classmethod
    def from_result(cls, version: int, report: dict) -> QualityReport:
        affected = report.get("affected", {})
        where = report.get("frames", {})
        return cls(
            version=version,
            episodes=report["episodes"],
            median_length=report["median_length"],
            checks=[
                QualityCheck(
                    name=name,
                    count=count,
                    episode_indexes=affected.get(name, []),
                    frames=[
                        QualityFrames(episode_index=w["episode"], camera=w["camera"], ranges=w["frames"])
                        for w in where.get(name, [])
                    ],
                )
                for name, count in report["counts"].items()
            ],
        )
