"""What a job stores as JSON: the parameters it was started with (job.parameters), a short summary once
completed (job.summary) and its full result (job.result). Their keys depend on the job's kind: the keys
every kind shares are fields of the column's model; a kind's own keys are stored as given and read
through the kind's model (`as_kind`)."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import AliasChoices, ConfigDict, Field, ValidationError

from persistence.documents.base import Document
from persistence.documents.dataset import SourceField

D = TypeVar("D", bound="JobDocument")


class JobDocument(Document):
    """A job's JSON: shared keys as fields, the kind's own kept as they were stored."""

    model_config = ConfigDict(extra="allow")

    def as_kind(self, model: type[D]) -> D | None:
        """This document read as a kind's model; None when it is not one (another kind's job)."""
        try:
            return model.model_validate(self.model_dump(by_alias=True))
        except ValidationError:
            return None


class JobParameters(JobDocument):
    """What every job was started with: who asked (None: the server or the command line)."""

    requested_by: int | None = None


class IndexingParameters(JobParameters):
    """INDEXING: a folder or file to register (a server path: admins only see it)."""

    path: str
    name: str | None = None
    format: str | None = None  # None: detected
    options: dict[str, Any] = {}  # the format's options, as its pydantic model dumps them


class AnalysisParameters(JobParameters):
    """ANALYSIS: which analysis, its parameters (the kind's model, dumped) and the episodes (None: all)."""

    kind: str
    parameters: dict[str, Any] = {}
    episode_ids: list[int] | None = None


class DetectionParameters(JobParameters):
    """DETECTION: a detector over one camera of an episode (`confidence` / `iou` before the renames)."""

    episode_id: int
    camera: str
    model: str
    frames: int
    score_threshold: float = Field(validation_alias=AliasChoices("scoreThreshold", "confidence"))
    nms_iou: float = Field(validation_alias=AliasChoices("nmsIou", "iou"))
    class_map: dict[str, str] | None = None
    # The frames detected on and the inference size, for a worker to run the job from its row (jobs
    # stored before they were kept have none and cannot be run again).
    frame_list: list[int] | None = None
    image_size: int | None = None


class AnnotationExportParameters(JobParameters):
    """EXPORT of annotations to an exchange format."""

    format: str
    dataset_id: int
    episode_ids: list[int] | None = None  # None: the whole dataset
    cameras: list[str] | None = None
    only_validated: bool = False
    include_images: bool = False
    negatives: bool = False  # frames without boxes listed too (background images)
    voc_one_based: bool = False  # Pascal VOC written as the 1-based devkit reads it


class EpisodeExportParameters(JobParameters):
    """EXPORT of episodes with their edits, as a zip or as a dataset named `name` under exports/."""

    output: str  # ZIP | DATASET
    name: str
    dataset_id: int | None = None
    episodes: list[dict[str, Any]] = []  # {"index", "edits"} per episode


class EvaluationParameters(JobParameters):
    """EVALUATION: the detector run of a MODEL test session."""

    test_session_id: int
    model: str | None = None


class JobSummary(JobDocument):
    """A short result once completed; its keys are the kind's (counts a person reads)."""


class IndexingSummary(JobSummary):
    """INDEXING: what was registered."""

    dataset_id: int
    format: str | None = None
    episodes: int = 0
    frames: int = 0
    episodes_missing_data: int = 0
    changed_episodes: int = 0
    mapped: list[SourceField] = []
    unmapped: list[SourceField] = []
    clock: str | None = None


class JobResult(JobDocument):
    """The full result once completed: the file a download serves (`artifact`, a name in the job's
    folder) for exports; the kind's keys besides."""

    artifact: str | None = None


class ClusteringResult(JobResult):
    """ANALYSIS CLUSTERING: the clusters, by episode index."""

    k: int
    silhouette: float | None = None
    clusters: list[dict[str, Any]]  # {"index", "episodeIndices"}
    outliers: list[int] = []
    unmeasured: list[int] = []


class QualityReportResult(JobResult):
    """ANALYSIS QUALITY_REPORT: the report, as domain.analysis.quality_checks builds it."""

    report: dict[str, Any]
