from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlencode

import strawberry
from strawberry import relay

from domain.core.errors import BadUserInput
from domain.datasets import episodes as episodes_service
from domain.datasets.frames import check_encoding
from domain.objects.queries import BoxPageRequest
from graph.analysis.analysis import TrajectoryMetrics
from graph.context import Info
from graph.core.pagination import decode_pair_cursor, encode_pair_cursor, page_of, page_size
from graph.datasets.task import Task
from graph.datasets.trajectory import Trajectory
from graph.deprecated import use
from graph.loaders import existing
from graph.objects.object_annotation import (
    ObjectAnnotation,
    ObjectAnnotationConnection,
    ObjectSource,
    ReviewCounts,
    ReviewState,
    Track,
)
from persistence.repositories.object_annotation import ObjectFilter
from persistence.tables import EpisodeRow

if TYPE_CHECKING:
    from graph.annotations.annotation_session import AnnotationSession
    from graph.annotations.consensus import Consensus
    from graph.annotations.episode_annotation import Anomaly, EpisodeAnnotation
    from graph.datasets.dataset import Dataset
    from graph.edits.episode_edit import SavedEpisodeEdits
    from graph.segments.segment import EpisodeSegment, EpisodeTaskText, SegmentConsensus


@strawberry.type(description="One camera of an episode.")
class CameraStream:
    name: str = strawberry.field(description="The camera's name.")
    frame_count: int = strawberry.field(description="Frames recorded by this camera.")
    width: int = strawberry.field(description="Frame width in pixels.")
    height: int = strawberry.field(description="Frame height in pixels.")


@strawberry.type(description="One recording: trajectory and camera streams.")
class Episode(relay.Node):
    id: relay.NodeID[int]
    index: int = strawberry.field(description="The episode's index in its dataset.")
    length: int = strawberry.field(description="Number of frames.")
    duration: float = strawberry.field(description="Seconds from the first frame to the end of the last.")
    task_index: int | None = strawberry.field(description="Index of the episode's task in the dataset.")
    missing_data: list[str] = strawberry.field(
        description="Layout datasets this episode's file does not have."
    )
    row: strawberry.Private[EpisodeRow]

    @classmethod
    def from_row(cls, row: EpisodeRow) -> Episode:
        return cls(
            id=row.id,
            index=row.index,
            length=row.length,
            duration=row.duration,
            task_index=row.task_index,
            missing_data=list(row.missing),
            row=row,
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False):
        rows = await info.context.loaders.episode.load_many([int(i) for i in node_ids])
        return [cls.from_row(r) if r else None for r in rows]

    @strawberry.field(description="The dataset this episode belongs to.")
    async def dataset(self, info: Info) -> Annotated[Dataset, strawberry.lazy("graph.datasets.dataset")]:
        from graph.datasets.dataset import Dataset

        return Dataset.from_row(existing(await info.context.loaders.dataset.load(self.row.dataset_id)))

    @strawberry.field(
        description=(
            "Every task of the episode, in the dataset's order (a LeRobot episode may have several; "
            "`trajectory { taskIndexes }` says which frame belongs to which)."
        )
    )
    async def tasks(self, info: Info) -> list[Task]:
        indexes = self.row.task_indexes or ([] if self.row.task_index is None else [self.row.task_index])
        rows = await info.context.loaders.task.load_many([(self.row.dataset_id, i) for i in indexes])
        return [Task.from_row(r) for r in rows if r is not None]

    @strawberry.field(description="The task the robot was asked to do (its first, when it has several).")
    async def task(self, info: Info) -> Task | None:
        if self.row.task_index is None:
            return None
        row = await info.context.loaders.task.load((self.row.dataset_id, self.row.task_index))
        return Task.from_row(row) if row else None

    @strawberry.field(description="Camera names of this episode.")
    def cameras(self) -> list[str]:
        return sorted(self.row.cameras)

    @strawberry.field(description="Each camera with its frame count and size.")
    def camera_streams(self) -> list[CameraStream]:
        return [
            CameraStream(name=name, frame_count=shape[0], height=shape[1], width=shape[2])
            for name, shape in sorted(self.row.cameras.items())
        ]

    @strawberry.field(
        description=(
            "Address of one camera frame as JPEG, relative to the server. `width` scales it "
            "(keeping the aspect ratio), `quality` is the JPEG quality 1-95 (default 85). With "
            "`edited: true` the frame (a source frame index) is served with the episode's saved edits "
            "applied; a frame the edits remove is BAD_USER_INPUT."
        )
    )
    async def frame_url(
        self,
        info: Info,
        frame: int,
        camera: str,
        width: int | None = None,
        quality: int | None = None,
        edited: bool = False,
    ) -> str:
        episodes_service.check_frame(self.row, camera, frame)
        check_encoding(width, quality)
        query: dict = {"v": episodes_service.frame_version(self.row)}
        if width is not None:
            query["width"] = width
        if quality is not None:
            query["quality"] = quality
        if edited:
            from domain.edits import EpisodeEdits, kept_frames

            saved = await info.context.loaders.episode_edits.load(self.id)
            if saved is not None:
                if frame not in set(
                    kept_frames(EpisodeEdits.from_stored(saved.edits), self.row.length).tolist()
                ):
                    raise BadUserInput(f"frame {frame} is removed by the saved edits", field="frame")
                query["edits"] = saved.version  # a new save is a new URL: cached frames never go stale
        return (
            f"/media/datasets/{self.row.dataset_id}/episodes/{self.row.index}/cameras/{camera}"
            f"/frames/{frame}.jpg?{urlencode(query)}"
        )

    @strawberry.field(description="The training edits saved on this episode, if any.")
    async def edits(
        self, info: Info
    ) -> Annotated[SavedEpisodeEdits, strawberry.lazy("graph.edits.episode_edit")] | None:
        from graph.edits.episode_edit import SavedEpisodeEdits

        row = await info.context.loaders.episode_edits.load(self.id)
        return SavedEpisodeEdits.from_row(row) if row else None

    @strawberry.field(
        description=(
            "Trajectory arrays over frames fromFrame..toFrame (inclusive, default the whole episode), "
            "every `stride`-th frame."
        )
    )
    async def trajectory(
        self,
        info: Info,
        from_frame: int | None = None,
        to_frame: int | None = None,
        stride: int | None = None,
    ) -> Trajectory:
        dataset = existing(await info.context.loaders.dataset.load(self.row.dataset_id))
        data = await episodes_service.read_trajectory(
            info.context.runtime, dataset, self.row, from_frame, to_frame, stride
        )
        return Trajectory.from_data(data)

    @strawberry.field(description="Every annotator's annotation of this episode.")
    async def annotations(
        self, info: Info
    ) -> list[Annotated[EpisodeAnnotation, strawberry.lazy("graph.annotations.episode_annotation")]]:
        from graph.annotations.episode_annotation import EpisodeAnnotation

        return [
            EpisodeAnnotation.from_row(r)
            for r in await info.context.loaders.episode_annotations.load(self.id)
        ]

    @strawberry.field(description="The viewer's own annotation of this episode, or null.")
    async def my_annotation(
        self, info: Info
    ) -> Annotated[EpisodeAnnotation, strawberry.lazy("graph.annotations.episode_annotation")] | None:
        from graph.annotations.episode_annotation import EpisodeAnnotation

        viewer = info.context.viewer
        if viewer is None:
            return None
        row = await info.context.loaders.annotation_by_key.load((self.id, viewer.user_id))
        return EpisodeAnnotation.from_row(row) if row else None

    @strawberry.field(description="Every anomaly any annotator marked on this episode, by first frame.")
    async def anomalies(
        self, info: Info
    ) -> list[Annotated[Anomaly, strawberry.lazy("graph.annotations.episode_annotation")]]:
        from graph.annotations.episode_annotation import Anomaly

        annotations = await info.context.loaders.episode_annotations.load(self.id)
        groups = await info.context.loaders.anomalies.load_many([a.id for a in annotations])
        rows = sorted((r for group in groups for r in group), key=lambda r: (r.from_frame, r.to_frame, r.id))
        return [Anomaly.from_row(r) for r in rows]

    @strawberry.field(
        description=(
            "Anomalies suggested by analysis jobs (autoDetected), by first frame: verify or dismiss them "
            "with reviewSuggestion. Re-running a job replaces the unverified ones of its kind."
        )
    )
    async def suggestions(
        self, info: Info, include_verified: bool = True
    ) -> list[Annotated[Anomaly, strawberry.lazy("graph.annotations.episode_annotation")]]:
        from graph.annotations.episode_annotation import Anomaly

        rows = await info.context.loaders.suggestions.load(self.id)
        return [Anomaly.from_row(r) for r in rows if include_verified or not r.verified]

    @strawberry.field(
        description=(
            "Trajectory metrics from the latest run that covered it; null before one, and null when the "
            "episode is too short to measure (fewer than 4 finite samples)."
        )
    )
    async def metrics(self, info: Info) -> TrajectoryMetrics | None:
        metrics = await info.context.loaders.episode_metrics.load(self.id)
        return TrajectoryMetrics.from_metrics(metrics) if metrics is not None else None

    @strawberry.field(
        description=(
            "Overall grade, 1-5, from the latest trajectory metrics; null before one and for an episode "
            "too short to measure (sorted last by orderBy: OVERALL_GRADE)."
        )
    )
    def overall_grade(self) -> int | None:
        return self.row.overall_grade

    @strawberry.field(
        description="Overall grade, 1-5, from the latest trajectory metrics: `overallGrade`.",
        deprecation_reason=use("overallGrade"),
    )
    def overall_score(self) -> int | None:
        return self.row.overall_grade

    @strawberry.field(
        description=(
            "Holding suggestions of an analysis job that nobody has verified or dismissed: the one "
            "definition of flagged (filter `flagged`, the summaries of analysis jobs). The guide's "
            "metric flags are in metrics.flags and do not flag an episode."
        )
    )
    def flagged(self) -> bool:
        return self.row.flagged

    @strawberry.field(description="Suggestions nobody has verified or dismissed yet.")
    def unverified_suggestions(self) -> int:
        return self.row.open_suggestions

    @strawberry.field(description="The episode's cluster in the latest clustering run; null before one.")
    def cluster(self) -> int | None:
        return self.row.cluster

    @strawberry.field(description="What the annotators agree on; null before anyone annotated it.")
    async def consensus(
        self, info: Info
    ) -> Annotated[Consensus, strawberry.lazy("graph.annotations.consensus")] | None:
        from graph.annotations.consensus import Consensus

        data = await info.context.loaders.consensus.load(self.id)
        return Consensus.from_data(data) if data else None

    @strawberry.field(
        description=(
            "Time segments annotators marked on this episode, by first frame; only one annotator's with "
            "annotatorId."
        )
    )
    async def segments(
        self, info: Info, annotator_id: relay.GlobalID | None = None
    ) -> list[Annotated[EpisodeSegment, strawberry.lazy("graph.segments.segment")]]:
        from graph.ids import decode_id
        from graph.segments.segment import EpisodeSegment

        annotator = decode_id(annotator_id, "User", "annotatorId")
        rows = await info.context.loaders.episode_segments.load(self.id)
        return [EpisodeSegment.from_row(r) for r in rows if annotator is None or r.annotator_id == annotator]

    @strawberry.field(
        description=(
            "Which annotators' segments agree: same label and temporal IoU at least minIou (0 < minIou "
            "<= 1), with median boundaries and their spread."
        )
    )
    async def segment_consensus(
        self, info: Info, min_iou: float = 0.5
    ) -> Annotated[SegmentConsensus, strawberry.lazy("graph.segments.segment")]:
        from domain.segments.consensus import check_min_iou
        from graph.segments.segment import SegmentConsensus

        key = (self.id, check_min_iou(min_iou, "minIou"))
        return SegmentConsensus.from_data(await info.context.loaders.segment_consensus.load(key))

    @strawberry.field(
        description="The episode's task text (language instruction): a reviewer's correction, the original."
    )
    async def task_text(
        self, info: Info
    ) -> Annotated[EpisodeTaskText, strawberry.lazy("graph.segments.segment")]:
        from domain.segments.task_text import task_text
        from graph.segments.segment import EpisodeTaskText

        row = await info.context.loaders.segment_task_text.load(self.id)
        description = None
        if row is None and self.row.task_index is not None:
            task = await info.context.loaders.task.load((self.row.dataset_id, self.row.task_index))
            description = task.description if task else None
        return EpisodeTaskText.from_data(task_text(row, description))

    @strawberry.field(description="Live annotation sessions on this episode, oldest first.")
    async def sessions(
        self, info: Info
    ) -> list[Annotated[AnnotationSession, strawberry.lazy("graph.annotations.annotation_session")]]:
        from graph.annotations.annotation_session import AnnotationSession

        return [
            AnnotationSession.from_row(r) for r in await info.context.loaders.episode_sessions.load(self.id)
        ]

    @strawberry.field(
        description=(
            "Boxes on this episode by frame, a page at a time; all given conditions must hold. "
            "`label` is a label name; `validated` true means VALIDATED, false anything else."
        )
    )
    async def objects(
        self,
        info: Info,
        camera: str | None = None,
        frame: int | None = None,
        from_frame: int | None = None,
        to_frame: int | None = None,
        track_id: str | None = None,
        label: str | None = None,
        source: ObjectSource | None = None,
        review: ReviewState | None = None,
        validated: bool | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> ObjectAnnotationConnection:
        limit = page_size(first, info.context.runtime.settings)
        cursor = decode_pair_cursor(after, "box")
        label_id = None
        if label is not None:
            labels = await info.context.loaders.labels.load(self.row.dataset_id)
            label_id = next((r.id for r in labels if r.name == label), -1)  # unknown: an empty page
        data = ObjectFilter(
            camera=camera,
            frame=frame,
            from_frame=from_frame,
            to_frame=to_frame,
            track_id=track_id,
            label_id=label_id,
            source=source.value if source else None,
            review=review.value if review else None,
            validated=validated,
        )
        rows = await info.context.loaders.box_page.load(BoxPageRequest(self.id, data, cursor, limit + 1))
        edges, page_info = page_of(
            rows,
            limit,
            lambda r: encode_pair_cursor("box", r.frame, r.id),
            ObjectAnnotation.from_row,
            after_given=cursor is not None,
        )
        return ObjectAnnotationConnection(edges=edges, page_info=page_info, count_key=(self.id, data))

    @strawberry.field(description="The episode's tracks, by camera and first frame.")
    async def tracks(self, info: Info) -> list[Track]:
        return [Track.from_data(t) for t in await info.context.loaders.tracks.load(self.id)]

    @strawberry.field(description="One track of this episode, with all its boxes; null if it has none.")
    async def track(self, info: Info, camera: str, track_id: str) -> Track | None:
        tracks = await info.context.loaders.tracks.load(self.id)
        found = next((t for t in tracks if t.camera == camera and t.track_id == track_id), None)
        return Track.from_data(found) if found else None

    @strawberry.field(
        description="How many boxes the episode has, and how many are validated, rejected, pending."
    )
    async def object_review(self, info: Info) -> ReviewCounts:
        return ReviewCounts.from_data(await info.context.loaders.episode_review.load(self.id))


@strawberry.type(description="A page of episodes.")
class EpisodeConnection(relay.Connection[Episode]):
    count_key: strawberry.Private[tuple]

    @strawberry.field(description="Number of episodes matching the filter in the whole list.")
    async def total_count(self, info: Info) -> int:
        return await info.context.loaders.episode_count.load(self.count_key)
