from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from domain.objects import boxes
from domain.objects.queries import ReviewCounts as ReviewCountsData
from domain.objects.queries import TrackData
from graph.context import Info
from graph.deprecated import use
from graph.loaders import existing
from graph.objects.label import Label
from persistence.tables import ObjectAnnotationRow

if TYPE_CHECKING:
    from graph.accounts.user import User
    from graph.datasets.episode import Episode

# A GraphQL enum here is the domain's class itself, registered in place (strawberry.enum marks the class
# and returns it), so annotations name a class the type checker knows.
ObjectSource = boxes.Source
strawberry.enum(ObjectSource, name="ObjectSource", description="Where a box came from.")
ReviewState = boxes.Review
strawberry.enum(ReviewState, name="ReviewState", description="Where a box is in review.")


@strawberry.type(description="A box in pixels: x, y of the top-left corner, width and height.")
class Box:
    x: float = strawberry.field(description="Left edge, pixels from the image's left.")
    y: float = strawberry.field(description="Top edge, pixels from the image's top.")
    width: float = strawberry.field(description="Width in pixels.")
    height: float = strawberry.field(description="Height in pixels.")


@strawberry.type(description="A box around an object on one frame of one camera, in a track.")
class ObjectAnnotation(relay.Node):
    id: relay.NodeID[int]
    camera: str = strawberry.field(description="The camera the frame is from.")
    frame: int = strawberry.field(description="The frame index.")
    box: Box = strawberry.field(description="Where the object is, in pixels.")
    track_id: str = strawberry.field(description="The track the box belongs to, e.g. DET_PEDESTRIAN_0001.")
    occluded: bool = strawberry.field(description="Partly hidden by something in front of it.")
    truncated: bool = strawberry.field(description="Goes on beyond the image border.")
    difficult: bool = strawberry.field(description="Hard to recognise; evaluations may ignore it.")
    outside: bool = strawberry.field(description="The track left the view at this keyframe.")
    notes: str | None = strawberry.field(description="Free notes.")
    source: ObjectSource = strawberry.field(description="MANUAL, MODEL, IMPORTED or INTERPOLATED.")
    score: float | None = strawberry.field(
        description="The detector's score, 0-1, for MODEL boxes (higher is surer); null for the others."
    )
    keyframe: bool = strawberry.field(description="Set by a person (interpolation keeps it).")
    crowd: bool = strawberry.field(
        description=(
            "A region of many objects in one box (COCO's iscrowd): test sessions ignore it as COCOeval "
            "does, a detection on it is neither a true nor a false positive, and nobody must find it."
        )
    )
    attributes: JSON = strawberry.field(
        description=(
            "Custom attributes with plain values (string, number, true/false) by name, as another tool "
            "carried them (CVAT's per-shape attributes); {} when none."
        )
    )
    split: str | None = strawberry.field(
        description=(
            "The subset the imported file placed the box in (train, valid, test, default...); null when "
            "none. COCO exports write each subset to annotations/instances_<split>.json."
        )
    )
    version: int = strawberry.field(description="Rises by one with every change; send it as expectedVersion.")
    review: ReviewState = strawberry.field(description="PENDING, VALIDATED or REJECTED.")
    validated: bool = strawberry.field(description="A reviewer accepted it as ground truth.")
    reviewed_at: datetime | None = strawberry.field(description="When it was last validated or rejected.")
    reject_reason: str | None = strawberry.field(description="Why a reviewer rejected it.")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    row: strawberry.Private[ObjectAnnotationRow]

    @classmethod
    def from_row(cls, row: ObjectAnnotationRow) -> ObjectAnnotation:
        return cls(
            id=row.id,
            camera=row.camera,
            frame=row.frame,
            box=Box(x=row.x, y=row.y, width=row.width, height=row.height),
            track_id=row.track_id,
            occluded=row.occluded,
            truncated=row.truncated,
            difficult=row.difficult,
            outside=row.outside,
            notes=row.notes,
            source=boxes.Source(row.source),
            score=row.score,
            keyframe=row.keyframe,
            crowd=row.crowd,
            attributes=JSON(dict(row.attributes)),
            split=row.split,
            version=row.version,
            review=boxes.Review(row.review),
            validated=row.review == boxes.Review.VALIDATED,
            reviewed_at=row.reviewed_at,
            reject_reason=row.reject_reason,
            created_at=row.created_at,
            updated_at=row.updated_at,
            row=row,
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False):
        rows = await info.context.loaders.box.load_many([int(i) for i in node_ids])
        return [cls.from_row(r) if r else None for r in rows]

    @strawberry.field(description="The detector's score, 0-1: `score`.", deprecation_reason=use("score"))
    def confidence(self) -> float | None:
        return self.score

    @strawberry.field(description="The object's class.")
    async def label(self, info: Info) -> Label:
        return Label.from_row(existing(await info.context.loaders.label.load(self.row.label_id)))

    @strawberry.field(description="The episode the box is on.")
    async def episode(self, info: Info) -> Annotated[Episode, strawberry.lazy("graph.datasets.episode")]:
        from graph.datasets.episode import Episode

        return Episode.from_row(existing(await info.context.loaders.episode.load(self.row.episode_id)))

    @strawberry.field(description="Who validated or rejected it, if anyone.")
    async def reviewed_by(self, info: Info) -> Annotated[User, strawberry.lazy("graph.accounts.user")] | None:
        from graph.accounts.user import User

        if self.row.reviewed_by is None:
            return None
        row = await info.context.loaders.user.load(self.row.reviewed_by)
        return User.from_row(row) if row else None

    @strawberry.field(description="Who created it (for MODEL boxes: who ran the model).")
    async def created_by(self, info: Info) -> Annotated[User, strawberry.lazy("graph.accounts.user")] | None:
        from graph.accounts.user import User

        if self.row.created_by is None:
            return None
        row = await info.context.loaders.user.load(self.row.created_by)
        return User.from_row(row) if row else None


@strawberry.type(description="A page of boxes, by frame.")
class ObjectAnnotationConnection(relay.Connection[ObjectAnnotation]):
    count_key: strawberry.Private[tuple]

    @strawberry.field(description="Number of boxes matching the filter in the whole list.")
    async def total_count(self, info: Info) -> int:
        return await info.context.loaders.box_count.load(self.count_key)


@strawberry.type(description="One object followed over frames of one camera.")
class Track:
    track_id: str = strawberry.field(description="The track's id.")
    camera: str = strawberry.field(description="The camera.")
    first_frame: int = strawberry.field(description="The first frame with a box.")
    last_frame: int = strawberry.field(description="The last frame with a box.")
    box_count: int = strawberry.field(description="Boxes in the track.")
    keyframe_count: int = strawberry.field(description="Boxes set by a person (not interpolated).")
    label_id: strawberry.Private[int]
    episode_id: strawberry.Private[int]

    @classmethod
    def from_data(cls, data: TrackData) -> Track:
        return cls(
            track_id=data.track_id,
            camera=data.camera,
            first_frame=data.first_frame,
            last_frame=data.last_frame,
            box_count=data.box_count,
            keyframe_count=data.keyframe_count,
            label_id=data.label_id,
            episode_id=data.episode_id,
        )

    @strawberry.field(description="Every box of the track, by frame.")
    async def boxes(self, info: Info) -> list[ObjectAnnotation]:
        rows = await info.context.loaders.track_boxes.load((self.episode_id, self.camera, self.track_id))
        return [ObjectAnnotation.from_row(r) for r in rows]

    @strawberry.field(description="The track's class.")
    async def label(self, info: Info) -> Label:
        return Label.from_row(existing(await info.context.loaders.label.load(self.label_id)))


@strawberry.type(description="How many boxes exist and where they are in review.")
class ReviewCounts:
    total: int = strawberry.field(description="All boxes.")
    validated: int = strawberry.field(description="Accepted by a reviewer.")
    rejected: int = strawberry.field(description="Rejected by a reviewer.")
    pending: int = strawberry.field(description="Still to review.")

    @classmethod
    def from_data(cls, data: ReviewCountsData) -> ReviewCounts:
        return cls(total=data.total, validated=data.validated, rejected=data.rejected, pending=data.pending)
