"""What the JSON columns hold, as pydantic models: one per column, stored through
persistence.columns.TypedJSON, which validates a value on write and on read.

A leaf package (it imports pydantic alone), so the tables, the domain that writes these values and the
graph that shows them share one type. Keys are stored camelCase and read as snake_case attributes (a
NamedDocument's stay snake_case: the columns that held those before their model); what rows written
before hold stays readable (defaults for keys added since, validation aliases for keys renamed since),
so no row needs migrating.
"""

from persistence.documents.annotation_revision import RevisionAnomaly, RevisionContent
from persistence.documents.base import Document, NamedDocument
from persistence.documents.dataset import RegistrationOptions, SourceFeatures, SourceField
from persistence.documents.episode_analysis import (
    AnalysisValues,
    ClusterMember,
    EpisodeMetrics,
    EpisodeQualityValues,
    SuggestionCount,
    TrajectoryValues,
    UnmeasuredEpisode,
)
from persistence.documents.episode_edit import (
    FrameSpan,
    StoredCameraEdit,
    StoredCrop,
    StoredEdits,
    StoredResize,
)
from persistence.documents.job import (
    AnalysisParameters,
    AnnotationExportParameters,
    ClusteringResult,
    DetectionParameters,
    EpisodeExportParameters,
    EvaluationParameters,
    IndexingParameters,
    IndexingSummary,
    JobDocument,
    JobParameters,
    JobResult,
    JobSummary,
    QualityReportResult,
)
from persistence.documents.project import StoredCriteria
from persistence.documents.test_session import (
    DetectionCounts,
    LabelCounts,
    LatencySummary,
    SessionMetrics,
    SessionSettings,
)

__all__ = [
    "AnalysisParameters",
    "AnalysisValues",
    "AnnotationExportParameters",
    "ClusterMember",
    "ClusteringResult",
    "DetectionCounts",
    "DetectionParameters",
    "Document",
    "EpisodeExportParameters",
    "EpisodeMetrics",
    "EpisodeQualityValues",
    "EvaluationParameters",
    "FrameSpan",
    "IndexingParameters",
    "IndexingSummary",
    "JobDocument",
    "JobParameters",
    "JobResult",
    "JobSummary",
    "LabelCounts",
    "LatencySummary",
    "NamedDocument",
    "QualityReportResult",
    "RegistrationOptions",
    "RevisionAnomaly",
    "RevisionContent",
    "SessionMetrics",
    "SessionSettings",
    "SourceFeatures",
    "SourceField",
    "StoredCameraEdit",
    "StoredCriteria",
    "StoredCrop",
    "StoredEdits",
    "StoredResize",
    "SuggestionCount",
    "TrajectoryValues",
    "UnmeasuredEpisode",
]
