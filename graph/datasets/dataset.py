from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from domain.analysis.kinds import AnalysisKind as AnalysisKindData
from domain.core.errors import BadUserInput
from domain.datasets.episodes import PageRequest
from graph.analysis.analysis import AnalysisKind, Clustering, EpisodeCluster, QualityReport
from graph.annotations.episode_annotation import Rating
from graph.context import Info
from graph.core.pagination import (
    decode_cursor,
    decode_pair_cursor,
    encode_cursor,
    encode_pair_cursor,
    page_of,
    page_size,
)
from graph.datasets.task import Task
from graph.deprecated import use
from graph.ids import decode_id
from graph.objects.label import Label
from graph.objects.object_annotation import ReviewCounts
from graph.permissions import IsAdmin
from persistence.documents import ClusteringResult, QualityReportResult
from persistence.repositories.episode import EpisodeFilter as EpisodeFilterData
from persistence.repositories.episode import order_key
from persistence.tables import DatasetRow

if TYPE_CHECKING:
    from graph.analysis.analysis_history import AnalysisHistory
    from graph.annotations.consensus import AnnotationProgress
    from graph.datasets.episode import Episode, EpisodeConnection
    from graph.datasets.statistics import DatasetStatistics
    from graph.segments.segment import SegmentLabel


@strawberry.enum(description="The recording format a dataset was registered from (detected, or given).")
class DatasetFormat(Enum):
    HDF5 = strawberry.enum_value("HDF5", description="annograph's HDF5 layout: info.json + episodes/.")
    VIDEO = strawberry.enum_value(
        "VIDEO", description="An uploaded video: one episode, one camera `video`, no trajectory."
    )
    LEROBOT = strawberry.enum_value(
        "LEROBOT", description="LeRobot v3.0 or v2.1 (meta/info.json, parquet, MP4 or parquet images)."
    )
    ALOHA = strawberry.enum_value(
        "ALOHA", description="ACT / Mobile ALOHA HDF5 (/observations/qpos, images)."
    )
    ROBOMIMIC = strawberry.enum_value(
        "ROBOMIMIC", description="One robomimic HDF5 file of demos (data/demo_N)."
    )
    ROSBAG = strawberry.enum_value(
        "ROSBAG", description="ROS 1 bags and rosbag2 (sqlite3 or mcap storage): one bag per episode."
    )
    MCAP = strawberry.enum_value(
        "MCAP", description="Plain MCAP files (ROS 2, protobuf or JSON): one per episode."
    )


@strawberry.type(
    description=(
        "One array, column, dataset, attribute or topic found in the source files, and the standard "
        "name registration mapped it to, or null when it was left unmapped."
    )
)
class SourceField:
    source: str = strawberry.field(
        description="Where it is in the source: an HDF5 path, a parquet column or feature, a topic."
    )
    target: str | None = strawberry.field(
        description=(
            "The standard name (timestamp, action, observation.state, observation.velocity, "
            "observation.ee_pose, observation.gripper, task_index), `camera:<name>`, `task`, or null."
        )
    )
    shape: list[int] | None = strawberry.field(description="Its shape per frame (or per message), if known.")
    dtype: str | None = strawberry.field(description="Its element type as the source names it.")
    note: str = strawberry.field(description="How it was mapped, or why it was left unmapped.")


@strawberry.input(description="Narrows a dataset's episodes; all given conditions must hold.")
class EpisodeFilter:
    task_index: int | None = strawberry.field(default=None, description="Only episodes of this task.")
    min_length: int | None = strawberry.field(
        default=None, description="Only episodes of at least this many frames."
    )
    max_length: int | None = strawberry.field(
        default=None, description="Only episodes of at most this many frames."
    )
    has_annotations: bool | None = strawberry.field(
        default=None, description="Only episodes somebody annotated (true) or nobody did (false)."
    )
    rating: Rating | None = strawberry.field(
        default=None, description="Only episodes some annotator rated so."
    )
    annotated_by: relay.GlobalID | None = strawberry.field(
        default=None, description="Only episodes this user annotated."
    )
    min_agreement: float | None = strawberry.field(
        default=None,
        description="Only episodes whose majority rating has at least this share of annotators (0-1).",
    )
    flagged: bool | None = strawberry.field(
        default=None,
        description="Only episodes holding unverified suggestions of analysis jobs (true), or none (false).",
    )

    def to_data(self) -> EpisodeFilterData:
        if self.min_agreement is not None and not 0 <= self.min_agreement <= 1:
            raise BadUserInput("filter.minAgreement must be between 0 and 1", field="filter.minAgreement")
        return EpisodeFilterData(
            self.task_index,
            self.min_length,
            self.max_length,
            has_annotations=self.has_annotations,
            rating=self.rating.value if self.rating else None,
            annotated_by=decode_id(self.annotated_by, "User", "filter.annotatedBy"),
            min_agreement=self.min_agreement,
            flagged=self.flagged,
        )


@strawberry.enum(description="The order of a dataset's episodes.")
class EpisodeOrder(Enum):
    INDEX = "INDEX"
    # Worst first, so annotators start where the machine sees trouble.
    OVERALL_GRADE = strawberry.enum_value(
        "GRADE", description="Overall grade, 1-5, worst first; ungraded last."
    )
    UNVERIFIED_SUGGESTIONS = "SUGGESTIONS"
    # The first name of OVERALL_GRADE, for one release: the same order and cursors (see `order_name`).
    OVERALL_SCORE = strawberry.enum_value(
        "SCORE", description="Overall grade, 1-5: `OVERALL_GRADE`.", deprecation_reason=use("OVERALL_GRADE")
    )

    def order_name(self) -> str:
        """The repository's name of this order (persistence.repositories.episode.ORDER_KEYS, or INDEX)."""
        return "GRADE" if self is EpisodeOrder.OVERALL_SCORE else str(self.value)


@strawberry.type(description="A folder of episodes registered from under a data root.")
class Dataset(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="Display name (from info.json unless given at registration).")
    path: str | None = strawberry.field(
        description=(
            "The folder on the server the dataset was registered from (admins only; null with a "
            "FORBIDDEN error for others)."
        ),
        permission_classes=[IsAdmin],
    )
    format: DatasetFormat = strawberry.field(description="The recording format of its files.")
    format_version: str | None = strawberry.field(
        description="The format's own version where it has one (LeRobot's codebase_version: v3.0, v2.1)."
    )
    clock: str | None = strawberry.field(
        description="Bags: which stream's clock (or which rate) the streams were resampled onto."
    )
    options: JSON = strawberry.field(description="The registration options, defaults filled in.")
    fps: float = strawberry.field(description="Frames per second of the recordings.")
    robot_type: str | None = strawberry.field(description="The robot that recorded the episodes.")
    cameras: list[str] = strawberry.field(description="Camera names; use them in `frameUrl`.")
    joint_names: list[str] = strawberry.field(description="Names of the joints of the state vector.")
    episode_count: int = strawberry.field(description="Number of episodes.")
    frame_count: int = strawberry.field(description="Number of frames over all episodes.")
    created_at: datetime = strawberry.field(description="When the dataset was first registered.")
    updated_at: datetime = strawberry.field(description="When the dataset was last indexed.")
    row: strawberry.Private[DatasetRow]

    @classmethod
    def from_row(cls, row: DatasetRow) -> Dataset:
        return cls(
            id=row.id,
            name=row.name,
            path=row.path,
            format=DatasetFormat(row.format),
            format_version=row.format_version,
            clock=row.clock,
            options=JSON(dict(row.options or {})),
            fps=row.fps,
            robot_type=row.robot_type,
            cameras=list(row.cameras),
            joint_names=list(row.joint_names),
            episode_count=row.episode_count,
            frame_count=row.frame_count,
            created_at=row.created_at,
            updated_at=row.updated_at,
            row=row,
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False):
        rows = await info.context.loaders.dataset.load_many([int(i) for i in node_ids])
        return [cls.from_row(r) if r else None for r in rows]

    @strawberry.field(
        description=(
            "What registration found in the source and where each went (`unmapped: true`: only what it "
            "left out, with shape and type)."
        )
    )
    def mapping(self, unmapped: bool = False) -> list[SourceField]:
        return [
            SourceField(source=m.source, target=m.target, shape=m.shape, dtype=m.dtype, note=m.note)
            for m in self.row.mapping
            if not unmapped or m.target is None
        ]

    @strawberry.field(description="The dataset's tasks, by index.")
    async def tasks(self, info: Info) -> list[Task]:
        return [Task.from_row(r) for r in await info.context.loaders.dataset_tasks.load(self.id)]

    @strawberry.field(description="The dataset's episodes by index, a page at a time.")
    async def episodes(
        self,
        info: Info,
        filter: EpisodeFilter | None = None,
        first: int | None = None,
        after: str | None = None,
        order_by: Annotated[
            EpisodeOrder,
            strawberry.argument(
                description="INDEX, OVERALL_GRADE (worst first, ungraded last), UNVERIFIED_SUGGESTIONS"
            ),
        ] = EpisodeOrder.INDEX,
    ) -> Annotated[EpisodeConnection, strawberry.lazy("graph.datasets.episode")]:
        from graph.datasets.episode import Episode, EpisodeConnection

        limit = page_size(first, info.context.runtime.settings)
        order = order_by.order_name()
        after_key = None
        if order == "INDEX":
            after_index = decode_cursor(after, "episode")
        else:
            try:
                pair = decode_pair_cursor(after, f"episode-{order}")
            except BadUserInput:
                if order != "GRADE":
                    raise
                # A cursor handed out before the rename (orderBy: OVERALL_SCORE): same order, old name.
                pair = decode_pair_cursor(after, "episode-SCORE")
            after_key, after_index = pair if pair else (None, None)
        data = filter.to_data() if filter else EpisodeFilterData()
        rows = await info.context.loaders.episode_page.load(
            PageRequest(self.id, data, after_index, limit + 1, order, after_key)
        )

        def cursor(r) -> str:
            if order == "INDEX":
                return encode_cursor("episode", r.index)
            return encode_pair_cursor(f"episode-{order}", order_key(order, r), r.index)

        edges, page_info = page_of(rows, limit, cursor, Episode.from_row, after_given=after_index is not None)
        return EpisodeConnection(edges=edges, page_info=page_info, count_key=(self.id, data))

    @strawberry.field(description="Episodes by number of annotators, and the annotators' agreement.")
    async def annotation_progress(
        self, info: Info
    ) -> Annotated[AnnotationProgress, strawberry.lazy("graph.annotations.consensus")]:
        from graph.annotations.consensus import AnnotationProgress

        return AnnotationProgress.from_data(await info.context.loaders.annotation_progress.load(self.id))

    @strawberry.field(description="The dataset's label set, in the order the labels were created.")
    async def labels(self, info: Info) -> list[Label]:
        return [Label.from_row(r) for r in await info.context.loaders.labels.load(self.id)]

    @strawberry.field(
        description="How many boxes the dataset has, and how many are validated, rejected, pending."
    )
    async def object_review(self, info: Info) -> ReviewCounts:
        return ReviewCounts.from_data(await info.context.loaders.dataset_review.load(self.id))

    @strawberry.field(
        description=(
            "Counts of its boxes (by label, camera, source, annotator, review state, COCO size class, "
            "width and height), track lengths, frames without boxes per camera, episodes by task and "
            "rating: aggregated by the database when asked (a fixed number of statements)."
        )
    )
    async def statistics(
        self, info: Info
    ) -> Annotated[DatasetStatistics, strawberry.lazy("graph.datasets.statistics")]:
        from graph.datasets.statistics import dataset_statistics

        return await dataset_statistics(info, self.id)

    @strawberry.field(description="The dataset's segment vocabulary, in the order the labels were created.")
    async def segment_labels(
        self, info: Info
    ) -> list[Annotated[SegmentLabel, strawberry.lazy("graph.segments.segment")]]:
        from graph.segments.segment import SegmentLabel

        return [SegmentLabel.from_row(r) for r in await info.context.loaders.segment_labels.load(self.id)]

    @strawberry.field(description="The runs of one kind of analysis on this dataset, newest first.")
    async def analyses(
        self, info: Info, kind: AnalysisKind
    ) -> Annotated[AnalysisHistory, strawberry.lazy("graph.analysis.analysis_history")]:
        from graph.analysis.analysis_history import AnalysisHistory

        rows = await info.context.loaders.analysis_runs.load((self.id, AnalysisKindData(kind.value)))
        return AnalysisHistory.from_rows(rows)

    @strawberry.field(
        description="Groups of similar episodes from the latest clustering run; null before one."
    )
    async def clusters(self, info: Info) -> Clustering | None:
        rows = await info.context.loaders.analysis_runs.load((self.id, AnalysisKindData.CLUSTERING))
        done = next((r for r in rows if r.status == "COMPLETED"), None)
        result = done.result.as_kind(ClusteringResult) if done is not None and done.result else None
        if done is None or result is None:
            return None
        return Clustering(
            version=done.version,
            k=result.k,
            silhouette=result.silhouette,
            clusters=[
                EpisodeCluster(
                    index=c["index"], size=len(c["episodeIndices"]), episode_indexes=c["episodeIndices"]
                )
                for c in result.clusters
            ],
            outlier_indexes=result.outliers,
        )

    @strawberry.field(description="The latest data-quality report; null before one.")
    async def quality_report(self, info: Info) -> QualityReport | None:
        rows = await info.context.loaders.analysis_runs.load((self.id, AnalysisKindData.QUALITY_REPORT))
        done = next((r for r in rows if r.status == "COMPLETED"), None)
        result = done.result.as_kind(QualityReportResult) if done is not None and done.result else None
        if done is None or result is None:
            return None
        return QualityReport.from_result(done.version, result.report)

    @strawberry.field(description="The episode with this index, or null.")
    async def episode(
        self, info: Info, index: int
    ) -> Annotated[Episode, strawberry.lazy("graph.datasets.episode")] | None:
        from graph.datasets.episode import Episode

        row = await info.context.loaders.episode_by_index.load((self.id, index))
        return Episode.from_row(row) if row else None


@strawberry.type(description="A page of datasets.")
class DatasetConnection(relay.Connection[Dataset]):
    @strawberry.field(description="Number of datasets in the whole list.")
    async def total_count(self, info: Info) -> int:
        from domain.datasets.service import count_datasets

        return await count_datasets(info.context.runtime)
