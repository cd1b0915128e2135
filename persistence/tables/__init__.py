"""SQLModel tables, one module per entity. Importing this package registers them all."""

from persistence.tables.annotation_revision import AnnotationRevisionRow
from persistence.tables.annotation_session import AnnotationSessionRow
from persistence.tables.anomaly import AnomalyRow
from persistence.tables.api_token import ApiTokenRow
from persistence.tables.base import SQLModel
from persistence.tables.dataset import DatasetRow
from persistence.tables.detection_comparison import DetectionComparisonRow
from persistence.tables.detection_event import DetectionEventRow
from persistence.tables.episode import EpisodeRow
from persistence.tables.episode_analysis import EpisodeAnalysisRow
from persistence.tables.episode_annotation import EpisodeAnnotationRow
from persistence.tables.episode_edit import EpisodeEditRow
from persistence.tables.episode_segment import EpisodeSegmentRow, EpisodeSegmentTaskRow
from persistence.tables.job import JobRow
from persistence.tables.job_part import JobPartRow
from persistence.tables.label import LabelRow
from persistence.tables.object_annotation import ObjectAnnotationRow
from persistence.tables.project import ProjectRow
from persistence.tables.project_episode import ProjectEpisodeRow
from persistence.tables.segment_label import SegmentLabelRow
from persistence.tables.session_participant import SessionParticipantRow
from persistence.tables.task import TaskRow
from persistence.tables.test_frame import TestFrameRow
from persistence.tables.test_session import TestSessionRow
from persistence.tables.user import UserRow

metadata = SQLModel.metadata

__all__ = [
    "AnnotationRevisionRow",
    "AnnotationSessionRow",
    "AnomalyRow",
    "ApiTokenRow",
    "DatasetRow",
    "EpisodeAnalysisRow",
    "EpisodeAnnotationRow",
    "EpisodeEditRow",
    "EpisodeSegmentRow",
    "EpisodeSegmentTaskRow",
    "EpisodeRow",
    "JobRow",
    "JobPartRow",
    "LabelRow",
    "ObjectAnnotationRow",
    "SessionParticipantRow",
    "TaskRow",
    "UserRow",
    "ProjectRow",
    "ProjectEpisodeRow",
    "SegmentLabelRow",
    "TestSessionRow",
    "TestFrameRow",
    "DetectionEventRow",
    "DetectionComparisonRow",
    "metadata",
]
