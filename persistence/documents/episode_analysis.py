"""What an analysis run stores for each episode (episode_analysis.values). Its keys depend on the run's
kind (episode_analysis.kind), so the column's model keeps them as stored, snake_case as the analysis
computes them, and each kind's model reads them (`as_kind`). Only TRAJECTORY_METRICS values are read
back (Episode.metrics); the other kinds' are the runs' history."""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar

from pydantic import ConfigDict, Field, ValidationError

from persistence.documents.base import NamedDocument

V = TypeVar("V", bound="AnalysisValues")


class AnalysisValues(NamedDocument):
    """One episode's result of one run: the kind's keys, kept as they were stored."""

    model_config = ConfigDict(extra="allow")

    def as_kind(self, model: type[V]) -> V | None:
        """These values read as a kind's model; None when they are not one (another kind's values, or an
        unmeasured episode's read as EpisodeMetrics)."""
        try:
            return model.model_validate(self.model_dump())
        except ValidationError:
            return None


class EpisodeMetrics(AnalysisValues):
    """TRAJECTORY_METRICS of a measured episode, as domain.analysis.trajectory_metrics.TrajectoryMetrics
    computes them (speeds in joint units per second, duration in seconds). Values stored before
    unmeasured episodes existed have no `measured`; the last four are not needed to read a row."""

    measured: Literal[True] = True
    smoothness: float
    efficiency: float
    jitter: float
    hesitation_count: int
    correction_count: int
    path_length: float
    # The overall grade, 1-5. Stored under its first name, "overall_score" (kept: no migration); read
    # under either name, written under the stored one.
    overall_grade: int = Field(alias="overall_score")
    flags: list[str]
    mean_speed: float | None = None
    max_speed: float | None = None
    duration: float | None = None
    samples: int | None = None


class UnmeasuredEpisode(AnalysisValues):
    """TRAJECTORY_METRICS of an episode too short to measure: no metric, no grade; `reason` says why."""

    measured: Literal[False]
    samples: int  # finite samples of joint positions
    reason: str


# What a TRAJECTORY_METRICS run stores for one episode (`measured` tells which).
TrajectoryValues = Annotated[EpisodeMetrics | UnmeasuredEpisode, Field(discriminator="measured")]


class SuggestionCount(AnalysisValues):
    """ANOMALY_DETECTION: how many suggestions the run made for the episode (they are rows of their own)."""

    suggestions: int


class EpisodeQualityValues(AnalysisValues):
    """QUALITY_REPORT: domain.analysis.quality_checks.EpisodeQuality, field by field (cameras by name)."""

    nan_frames: int = 0
    nan_values: int = 0
    gaps: int = 0
    non_increasing: int = 0
    frame_counts: dict[str, int] = {}
    count_mismatch: bool = False
    frozen_joints: list[int] = []
    dark_frames: dict[str, int] = {}
    frozen_frames: dict[str, int] = {}
    # Since issue 22 (absent from values stored before): where, as [first, last] frame ranges per camera,
    # blurred frames, and the frames after dropped frame times.
    dark_ranges: dict[str, list[list[int]]] = {}
    frozen_ranges: dict[str, list[list[int]]] = {}
    blurred_frames: dict[str, int] = {}
    blurred_ranges: dict[str, list[list[int]]] = {}
    gap_frames: list[int] = []
    dropped_frames: int = 0


class ClusterMember(AnalysisValues):
    """CLUSTERING: the episode's cluster, whether it lies far from its centre, and the features it was
    clustered by (domain.analysis.clustering.FEATURES, in that order)."""

    cluster: int
    outlier: bool
    features: list[float]
