"""Time segments on episodes, their vocabulary, their consensus, and corrected task texts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay

from domain.segments import service as segments_service
from domain.segments.consensus import AgreedSegment as AgreedSegmentData
from domain.segments.consensus import SegmentAgreement as SegmentAgreementData
from domain.segments.consensus import SegmentConsensus as SegmentConsensusData
from domain.segments.task_text import TaskText
from graph.context import Info
from graph.loaders import existing
from persistence.tables import EpisodeSegmentRow, SegmentLabelRow

if TYPE_CHECKING:
    from graph.accounts.user import User
    from graph.datasets.episode import Episode

# A GraphQL enum here is the domain's class itself, registered in place.
SegmentChange = segments_service.SegmentChange
strawberry.enum(SegmentChange, description="What happened to a segment.")


@strawberry.type(
    description="A name time segments may carry (a subtask: reach, grasp, place), with a colour."
)
class SegmentLabel(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="The name, unique in the dataset's segment vocabulary.")
    color: str = strawberry.field(description="Display colour, #rrggbb.")
    may_overlap: bool = strawberry.field(
        description=(
            "Whether its segments may overlap the same annotator's other segments on an episode "
            "(false: saving an overlap is BAD_USER_INPUT)."
        )
    )

    @classmethod
    def from_row(cls, row: SegmentLabelRow) -> SegmentLabel:
        return cls(id=row.id, name=row.name, color=row.color, may_overlap=row.may_overlap)

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False):
        rows = await info.context.loaders.segment_label.load_many([int(i) for i in node_ids])
        return [cls.from_row(r) if r else None for r in rows]


@strawberry.type(description="One annotator's time segment of an episode: a labelled frame range.")
class EpisodeSegment(relay.Node):
    id: relay.NodeID[int]
    version: int = strawberry.field(
        description="Rises by one with every accepted change; send it as expectedVersion."
    )
    from_frame: int = strawberry.field(description="First frame (inclusive).")
    to_frame: int = strawberry.field(description="Last frame (inclusive).")
    from_time: float = strawberry.field(
        description="Seconds at fromFrame, from the episode's own timestamps."
    )
    to_time: float = strawberry.field(description="Seconds at toFrame, from the episode's own timestamps.")
    instruction: str | None = strawberry.field(description="The language instruction of this part, if any.")
    notes: str | None = strawberry.field(description="Free notes.")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it was last changed.")
    row: strawberry.Private[EpisodeSegmentRow]

    @classmethod
    def from_row(cls, row: EpisodeSegmentRow) -> EpisodeSegment:
        return cls(
            id=row.id,
            version=row.version,
            from_frame=row.from_frame,
            to_frame=row.to_frame,
            from_time=row.from_time,
            to_time=row.to_time,
            instruction=row.instruction,
            notes=row.notes,
            created_at=row.created_at,
            updated_at=row.updated_at,
            row=row,
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False):
        rows = await info.context.loaders.segment.load_many([int(i) for i in node_ids])
        return [cls.from_row(r) if r else None for r in rows]

    @strawberry.field(description="Its label, from the dataset's segment vocabulary.")
    async def label(self, info: Info) -> SegmentLabel:
        return SegmentLabel.from_row(
            existing(await info.context.loaders.segment_label.load(self.row.label_id))
        )

    @strawberry.field(description="Who marked it.")
    async def annotator(self, info: Info) -> Annotated[User, strawberry.lazy("graph.accounts.user")]:
        from graph.accounts.user import User

        return User.from_row(existing(await info.context.loaders.user.load(self.row.annotator_id)))

    @strawberry.field(description="The episode it belongs to.")
    async def episode(self, info: Info) -> Annotated[Episode, strawberry.lazy("graph.datasets.episode")]:
        from graph.datasets.episode import Episode

        return Episode.from_row(existing(await info.context.loaders.episode.load(self.row.episode_id)))


@strawberry.type(
    description=(
        "A segment two or more annotators agree on (same label, temporal IoU at least minIou): the "
        "median of their boundaries, and the spread (max - min) of each boundary."
    )
)
class AgreedSegment:
    from_frame: float = strawberry.field(description="Median first frame (x.5 between two frames).")
    to_frame: float = strawberry.field(description="Median last frame.")
    from_time: float = strawberry.field(description="Median start, seconds.")
    to_time: float = strawberry.field(description="Median end, seconds.")
    from_spread_frames: int = strawberry.field(description="Spread of the first frames (max - min).")
    to_spread_frames: int = strawberry.field(description="Spread of the last frames (max - min).")
    from_spread_seconds: float = strawberry.field(description="Spread of the starts, seconds.")
    to_spread_seconds: float = strawberry.field(description="Spread of the ends, seconds.")
    mean_iou: float = strawberry.field(description="Mean temporal IoU over the pairs of its segments.")
    segment_ids: list[relay.GlobalID] = strawberry.field(description="The segments that agree.")
    label_id: strawberry.Private[int]
    annotator_ids: strawberry.Private[tuple[int, ...]]

    @classmethod
    def from_data(cls, data: AgreedSegmentData) -> AgreedSegment:
        return cls(
            from_frame=data.from_frame,
            to_frame=data.to_frame,
            from_time=data.from_time,
            to_time=data.to_time,
            from_spread_frames=data.from_spread_frames,
            to_spread_frames=data.to_spread_frames,
            from_spread_seconds=data.from_spread_seconds,
            to_spread_seconds=data.to_spread_seconds,
            mean_iou=data.mean_iou,
            segment_ids=[relay.GlobalID("EpisodeSegment", str(i)) for i in data.segment_ids],
            label_id=data.label_id,
            annotator_ids=data.annotator_ids,
        )

    @strawberry.field(description="The label they share.")
    async def label(self, info: Info) -> SegmentLabel:
        return SegmentLabel.from_row(existing(await info.context.loaders.segment_label.load(self.label_id)))

    @strawberry.field(description="Who marked them, in the order of segmentIds.")
    async def annotators(self, info: Info) -> list[Annotated[User, strawberry.lazy("graph.accounts.user")]]:
        from graph.accounts.user import User

        rows = await info.context.loaders.user.load_many(list(self.annotator_ids))
        return [User.from_row(r) for r in rows if r is not None]


@strawberry.type(description="Which annotators' segments of an episode agree (derived, never stored).")
class SegmentConsensus:
    min_iou: float = strawberry.field(description="The temporal IoU two segments needed to agree.")
    annotator_count: int = strawberry.field(description="Annotators with segments on the episode.")
    marked_count: int = strawberry.field(description="Segments marked, by all annotators.")
    agreed_count: int = strawberry.field(description="Of them, those in an agreed segment.")
    segments: list[AgreedSegment] = strawberry.field(description="Agreed segments, by median first frame.")

    @classmethod
    def from_data(cls, data: SegmentConsensusData) -> SegmentConsensus:
        return cls(
            min_iou=data.min_iou,
            annotator_count=data.annotator_count,
            marked_count=data.marked,
            agreed_count=data.agreed_marks,
            segments=[AgreedSegment.from_data(s) for s in data.segments],
        )


@strawberry.type(
    description=(
        "How far annotators' time segments agree over a dataset (IoU at least minIou), over the episodes "
        "two or more annotators marked segments on."
    )
)
class SegmentAgreement:
    min_iou: float = strawberry.field(description="The temporal IoU two segments needed to agree.")
    episode_count: int = strawberry.field(description="Episodes with segments of two or more annotators.")
    marked_count: int = strawberry.field(description="Segments marked on them.")
    agreed_count: int = strawberry.field(description="Of them, those in an agreed segment.")
    agreed_share: float | None = strawberry.field(description="agreedCount / markedCount; null without any.")
    mean_iou: float | None = strawberry.field(
        description="Mean IoU of the agreed segments; null without any."
    )

    @classmethod
    def from_data(cls, data: SegmentAgreementData) -> SegmentAgreement:
        return cls(
            min_iou=data.min_iou,
            episode_count=data.episodes,
            marked_count=data.marked,
            agreed_count=data.agreed_marks,
            agreed_share=data.agreed_share,
            mean_iou=data.mean_iou,
        )


@strawberry.type(description="An episode's task text (language instruction), as corrected by a reviewer.")
class EpisodeTaskText:
    text: str | None = strawberry.field(description="The task text now (the correction, if any).")
    original: str | None = strawberry.field(description="The text before any correction.")
    corrected: bool = strawberry.field(description="Whether a reviewer corrected it.")
    version: int = strawberry.field(
        description="0 before a correction; send it as expectedVersion to correct again."
    )
    corrected_at: datetime | None = strawberry.field(description="When it was last corrected.")
    corrected_by_id: strawberry.Private[int | None]

    @classmethod
    def from_data(cls, data: TaskText) -> EpisodeTaskText:
        return cls(
            text=data.text,
            original=data.original,
            corrected=data.corrected,
            version=data.version,
            corrected_at=data.corrected_at,
            corrected_by_id=data.corrected_by,
        )

    @strawberry.field(description="Who last corrected it; null before a correction.")
    async def corrected_by(
        self, info: Info
    ) -> Annotated[User, strawberry.lazy("graph.accounts.user")] | None:
        from graph.accounts.user import User

        if self.corrected_by_id is None:
            return None
        row = await info.context.loaders.user.load(self.corrected_by_id)
        return User.from_row(row) if row else None


@strawberry.type(description="A time segment was created, changed or deleted.")
class EpisodeSegmentsChanged:
    action: SegmentChange = strawberry.field(description="What happened.")
    segment_id: relay.GlobalID = strawberry.field(description="The segment's id (also of a deleted one).")
    version: int = strawberry.field(description="The version the change created (the last, for DELETED).")
    segment: EpisodeSegment | None = strawberry.field(
        description="The segment as it is now (its version may be newer); null when deleted."
    )
    annotator_id: strawberry.Private[int]
    episode_id: strawberry.Private[int]
    by_id: strawberry.Private[int]

    @strawberry.field(description="Whose segment it is.")
    async def annotator(self, info: Info) -> Annotated[User, strawberry.lazy("graph.accounts.user")]:
        from graph.accounts.user import User

        return User.from_row(existing(await info.context.loaders.user.load(self.annotator_id)))

    @strawberry.field(description="Who changed it.")
    async def by(self, info: Info) -> Annotated[User, strawberry.lazy("graph.accounts.user")]:
        from graph.accounts.user import User

        return User.from_row(existing(await info.context.loaders.user.load(self.by_id)))

    @strawberry.field(description="The episode.")
    async def episode(self, info: Info) -> Annotated[Episode, strawberry.lazy("graph.datasets.episode")]:
        from graph.datasets.episode import Episode

        return Episode.from_row(existing(await info.context.loaders.episode.load(self.episode_id)))

    @classmethod
    async def from_message(cls, info: Info, message: dict) -> EpisodeSegmentsChanged | None:
        """The event a SEGMENTS_CHANGED message stands for, read fresh; None when its people are gone."""
        loaders = info.context.loaders
        action = SegmentChange(message["action"])
        row = None if action == SegmentChange.DELETED else await loaders.segment.load(message["segmentId"])
        if await loaders.user.load(message["byUserId"]) is None:
            return None
        return cls(
            action=action,
            segment_id=relay.GlobalID("EpisodeSegment", str(message["segmentId"])),
            version=message["version"],
            segment=EpisodeSegment.from_row(row) if row else None,
            annotator_id=message["annotatorId"],
            episode_id=message["episodeId"],
            by_id=message["byUserId"],
        )
