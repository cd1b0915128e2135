"""The schema, assembled in one place from the feature folders' root fields."""

from __future__ import annotations

from pathlib import Path

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from graph.accounts.user_mutations import UserMutations
from graph.accounts.user_queries import UserQueries
from graph.analysis.analysis_mutations import AnalysisMutations
from graph.analysis.analysis_queries import AnalysisQueries
from graph.analysis.dashboard_queries import DashboardQueries
from graph.analysis.dashboard_subscriptions import DashboardSubscriptions
from graph.annotations.annotation_session_mutations import AnnotationSessionMutations
from graph.annotations.episode_annotation_mutations import EpisodeAnnotationMutations
from graph.core.episode_subscriptions import EpisodeSubscriptions
from graph.core.node_queries import NodeQueries
from graph.datasets.dataset_mutations import DatasetMutations
from graph.datasets.dataset_queries import DatasetQueries
from graph.datasets.episode import Episode
from graph.datasets.task import Task
from graph.detection.detection_mutations import DetectionMutations
from graph.detection.model_file_mutations import ModelFileMutations
from graph.detection.model_file_queries import ModelFileQueries
from graph.edits.episode_edit_mutations import EpisodeEditMutations
from graph.edits.episode_export_mutations import EpisodeExportMutations
from graph.errors import ErrorCodes
from graph.jobs.job_mutations import JobMutations
from graph.jobs.job_queries import JobQueries
from graph.jobs.job_subscriptions import JobSubscriptions
from graph.limits import Limits
from graph.objects.label_mutations import LabelMutations
from graph.objects.object_annotation_mutations import ObjectAnnotationMutations
from graph.objects.transfer_mutations import AnnotationTransferMutations
from graph.scalars import SCALARS
from graph.segments.segment_mutations import SegmentMutations
from graph.validation.detection_ingest_mutations import DetectionIngestMutations
from graph.validation.project_mutations import ProjectMutations
from graph.validation.project_queries import ProjectQueries
from graph.validation.report_mutations import ReportMutations
from graph.validation.session_comparison import SessionComparisonQueries
from graph.validation.test_session_mutations import TestSessionMutations
from graph.validation.test_session_subscriptions import TestSessionSubscriptions
from graph.validation.video_mutations import VideoMutations

Query = merge_types(
    "Query",
    (
        NodeQueries,
        UserQueries,
        DatasetQueries,
        JobQueries,
        AnalysisQueries,
        ProjectQueries,
        SessionComparisonQueries,
        DashboardQueries,
        ModelFileQueries,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        UserMutations,
        DatasetMutations,
        JobMutations,
        EpisodeAnnotationMutations,
        AnnotationSessionMutations,
        LabelMutations,
        ObjectAnnotationMutations,
        AnnotationTransferMutations,
        AnalysisMutations,
        ProjectMutations,
        TestSessionMutations,
        DetectionIngestMutations,
        ReportMutations,
        DetectionMutations,
        ModelFileMutations,
        VideoMutations,
        EpisodeEditMutations,
        EpisodeExportMutations,
        SegmentMutations,
    ),
)
Subscription = merge_types(
    "Subscription", (JobSubscriptions, EpisodeSubscriptions, TestSessionSubscriptions, DashboardSubscriptions)
)


class Schema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        # Expected errors are answers, not incidents; ErrorCodes logs the unexpected ones with
        # their request id. Strawberry's default would log every error with a traceback.
        return None


schema = Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    types=[Episode, Task],
    extensions=[ErrorCodes, Limits],
    config=StrawberryConfig(scalar_map=SCALARS),
)

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def schema_sdl() -> str:
    return schema.as_str() + "\n"
