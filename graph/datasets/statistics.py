"""`Dataset.statistics` and `Project.statistics`: aggregates from domain/datasets/statistics.py."""

from __future__ import annotations

import math

import strawberry

from domain.datasets import statistics as data
from graph.accounts.user import User
from graph.context import Info


@strawberry.type(
    description="A count under one name (a label, camera, source, review state, task or rating)."
)
class NamedCount:
    name: str | None = strawberry.field(
        description="The name counted by; null for episodes without a task (episodesByTask)."
    )
    count: int = strawberry.field(description="How many.")


@strawberry.type(description="A histogram bin: `count` values v with low <= v < high.")
class HistogramBin:
    low: float = strawberry.field(description="Lower edge, included.")
    high: float | None = strawberry.field(description="Upper edge, excluded; null for the open last bin.")
    count: int = strawberry.field(description="Values in the bin.")


@strawberry.type(description="COCO's object sizes by box area (width x height, px²).")
class SizeClasses:
    small: int = strawberry.field(description="Area < 32² px².")
    medium: int = strawberry.field(description="32² <= area < 96² px².")
    large: int = strawberry.field(description="Area >= 96² px².")


@strawberry.type(description="Boxes one user created.")
class AnnotatorCount:
    user_id: strawberry.Private[int | None]
    count: int = strawberry.field(description="Boxes the user created.")

    @strawberry.field(
        description="Who created them; null when unknown (imported without a user, or deleted)."
    )
    async def user(self, info: Info) -> User | None:
        if self.user_id is None:
            return None
        row = await info.context.loaders.user.load(self.user_id)
        return User.from_row(row) if row else None


@strawberry.type(description="Lengths of tracks, a track being one track id on one camera of one episode.")
class TrackLengthStatistics:
    tracks: int = strawberry.field(description="Number of tracks.")
    shortest: int | None = strawberry.field(
        description="Fewest boxes (frames) of a track; null without tracks."
    )
    longest: int | None = strawberry.field(description="Most boxes (frames) of a track; null without tracks.")
    mean: float | None = strawberry.field(description="Mean boxes (frames) per track.")
    median: float | None = strawberry.field(description="Median boxes (frames) per track.")
    histogram: list[HistogramBin] = strawberry.field(
        description="Tracks by length in frames: bins 1, 2-4, 5-9, 10-24, 25-49, 50-99, 100-249, 250-499, "
        "500-999, 1000 and more."
    )


@strawberry.type(description="One camera's frames over the episodes, with and without boxes.")
class CameraFrameStatistics:
    camera: str = strawberry.field(description="The camera.")
    frames: int = strawberry.field(
        description="Its frames: each episode's frame count for this camera, summed."
    )
    with_boxes: int = strawberry.field(description="Frames holding at least one box.")
    without_boxes: int = strawberry.field(description="Frames holding no box.")


def _named(counts: dict) -> list[NamedCount]:
    return [NamedCount(name=k, count=n) for k, n in counts.items()]


def _bins(bins: list[data.Bin]) -> list[HistogramBin]:
    return [HistogramBin(low=b.low, high=None if math.isinf(b.high) else b.high, count=b.count) for b in bins]


@strawberry.type(
    description=(
        "Counts over a dataset's episodes (or a project's linked episodes and its labels), aggregated by the "
        "database when asked. Boxes exclude `outside` markers. Sizes in pixels, lengths in frames."
    )
)
class DatasetStatistics:
    episodes: int = strawberry.field(description="Episodes covered.")
    frames: int = strawberry.field(description="Sum of the episodes' lengths, frames.")
    boxes: int = strawberry.field(description="Boxes covered.")
    boxes_by_label: list[NamedCount] = strawberry.field(description="Boxes per label name.")
    boxes_by_camera: list[NamedCount] = strawberry.field(description="Boxes per camera.")
    boxes_by_source: list[NamedCount] = strawberry.field(
        description="Boxes per source: MANUAL, MODEL, IMPORTED, INTERPOLATED."
    )
    boxes_by_review: list[NamedCount] = strawberry.field(
        description="Boxes per review state: PENDING, VALIDATED, REJECTED."
    )
    boxes_by_annotator: list[AnnotatorCount] = strawberry.field(
        description="Boxes per user who created them."
    )
    box_sizes: SizeClasses = strawberry.field(
        description="Boxes in COCO's size classes (https://cocodataset.org/#detection-eval, area ranges)."
    )
    width_histogram: list[HistogramBin] = strawberry.field(
        description="Boxes by width, px: bins 0, 8, 16, 32, 64, 96, 128, 256, 512, 1024 and more."
    )
    height_histogram: list[HistogramBin] = strawberry.field(
        description="Boxes by height, px: the same bins as widthHistogram."
    )
    track_lengths: TrackLengthStatistics = strawberry.field(description="The tracks' lengths.")
    frames_without_boxes: list[CameraFrameStatistics] = strawberry.field(
        description="Per camera, frames with and without boxes."
    )
    episodes_by_task: list[NamedCount] = strawberry.field(
        description="Episodes per task description, by each episode's first task; name null for none."
    )
    episodes_by_rating: list[NamedCount] = strawberry.field(
        description=(
            "Episodes per rating (SUCCESS, PARTIAL, FAILURE, UNKNOWN) some annotator gave (an episode two "
            "annotators rated differently counts under both), and UNRATED: episodes nobody rated."
        )
    )

    @classmethod
    def from_data(cls, s: data.Statistics) -> DatasetStatistics:
        return cls(
            episodes=s.episodes,
            frames=s.frames,
            boxes=s.boxes,
            boxes_by_label=_named(s.by_label),
            boxes_by_camera=_named(s.by_camera),
            boxes_by_source=_named(s.by_source),
            boxes_by_review=_named(s.by_review),
            boxes_by_annotator=[AnnotatorCount(user_id=u, count=n) for u, n in s.by_annotator.items()],
            box_sizes=SizeClasses(**s.by_size),
            width_histogram=_bins(s.widths),
            height_histogram=_bins(s.heights),
            track_lengths=TrackLengthStatistics(
                tracks=s.track_lengths.tracks,
                shortest=s.track_lengths.shortest,
                longest=s.track_lengths.longest,
                mean=s.track_lengths.mean,
                median=s.track_lengths.median,
                histogram=_bins(s.track_lengths.histogram),
            ),
            frames_without_boxes=[
                CameraFrameStatistics(
                    camera=c.camera, frames=c.frames, with_boxes=c.with_boxes, without_boxes=c.without_boxes
                )
                for c in s.frames_without_boxes
            ],
            episodes_by_task=_named(s.episodes_by_task),
            episodes_by_rating=_named(s.episodes_by_rating),
        )


async def dataset_statistics(info: Info, dataset_id: int) -> DatasetStatistics:
    return DatasetStatistics.from_data(await data.dataset_statistics(info.context.runtime, dataset_id))


async def project_statistics(info: Info, project_id: int) -> DatasetStatistics:
    return DatasetStatistics.from_data(await data.project_statistics(info.context.runtime, project_id))
