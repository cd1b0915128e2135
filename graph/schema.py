"""The schema, assembled in one place from one module per entity."""

from __future__ import annotations

from pathlib import Path

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from graph.errors import ErrorCodes
from graph.limits import Limits
from graph.mutations.analysis import AnalysisMutations
from graph.mutations.annotation_session import AnnotationSessionMutations
from graph.mutations.annotation_transfer import AnnotationTransferMutations
from graph.mutations.dataset import DatasetMutations
from graph.mutations.detection import DetectionMutations
from graph.mutations.episode_annotation import EpisodeAnnotationMutations
from graph.mutations.episode_edit import EpisodeEditMutations
from graph.mutations.episode_export import EpisodeExportMutations
from graph.mutations.job import JobMutations
from graph.mutations.label import LabelMutations
from graph.mutations.object_annotation import ObjectAnnotationMutations
from graph.mutations.project import ProjectMutations
from graph.mutations.test_session import TestSessionMutations
from graph.mutations.user import UserMutations
from graph.mutations.video import VideoMutations
from graph.queries.analysis import AnalysisQueries
from graph.queries.dashboard import DashboardQueries
from graph.queries.dataset import DatasetQueries
from graph.queries.job import JobQueries
from graph.queries.node import NodeQueries
from graph.queries.project import ProjectQueries
from graph.queries.user import UserQueries
from graph.scalars import SCALARS
from graph.subscriptions.dashboard import DashboardSubscriptions
from graph.subscriptions.episode import EpisodeSubscriptions
from graph.subscriptions.job import JobSubscriptions
from graph.subscriptions.test_session import TestSessionSubscriptions
from graph.types.episode import Episode
from graph.types.task import Task

Query = merge_types(
    "Query",
    (NodeQueries, UserQueries, DatasetQueries, JobQueries, AnalysisQueries, ProjectQueries, DashboardQueries),
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
        DetectionMutations,
        VideoMutations,
        EpisodeEditMutations,
        EpisodeExportMutations,
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
