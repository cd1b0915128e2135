from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay

from domain.validation.comparisons import PageRequest
from graph.context import Info
from graph.core.pagination import decode_cursor, encode_cursor, page_of, page_size
from graph.loaders import existing
from persistence.tables import DetectionComparisonRow

if TYPE_CHECKING:
    from graph.datasets.episode import Episode
    from graph.objects.object_annotation import ObjectAnnotation


@strawberry.enum(
    description=(
        "TP: a matched pair; FP: a detection matched to nothing; FN: a box no detection found; IGNORED: "
        "a detection on a difficult box, or a difficult box, counted in none of the others (as VOC "
        "ignores difficult objects and COCO crowd regions)."
    )
)
class ComparisonKind(Enum):
    TP = "TP"
    FP = "FP"
    FN = "FN"
    IGNORED = "IG"  # stored in two characters (domain.validation.evaluation.STORED_KINDS)


@strawberry.type(description="One matched pair or one miss of a test session's evaluation.")
class DetectionComparison:
    id: relay.GlobalID = strawberry.field(description="Opaque id.")
    kind: ComparisonKind = strawberry.field(description="TP, FP, FN or IGNORED.")
    camera: str = strawberry.field(description="The camera.")
    frame: int = strawberry.field(description="The frame.")
    label: str = strawberry.field(description="The label.")
    iou: float = strawberry.field(description="IoU of the pair (0 for a miss or a difficult box alone).")
    temporal_offset_ms: float | None = strawberry.field(
        description="Device time minus the frame's time, ms, when the device sent a timestamp."
    )
    row: strawberry.Private[DetectionComparisonRow]

    @classmethod
    def from_row(cls, row: DetectionComparisonRow) -> DetectionComparison:
        return cls(
            id=relay.GlobalID("DetectionComparison", str(row.id)),
            kind=ComparisonKind(row.kind),
            camera=row.camera,
            frame=row.frame,
            label=row.label,
            iou=row.iou,
            temporal_offset_ms=row.temporal_offset_ms,
            row=row,
        )

    @strawberry.field(description="The ground-truth box (TP, FN, IGNORED), if it still exists.")
    async def annotation(
        self, info: Info
    ) -> Annotated[ObjectAnnotation, strawberry.lazy("graph.objects.object_annotation")] | None:
        from graph.objects.object_annotation import ObjectAnnotation

        if self.row.annotation_id is None:
            return None
        row = await info.context.loaders.box.load(self.row.annotation_id)
        return ObjectAnnotation.from_row(row) if row else None

    @strawberry.field(description="The episode.")
    async def episode(self, info: Info) -> Annotated[Episode, strawberry.lazy("graph.datasets.episode")]:
        from graph.datasets.episode import Episode

        return Episode.from_row(existing(await info.context.loaders.episode.load(self.row.episode_id)))


# A comparison pages like a Node but is not one (`node` does not fetch it); strawberry types
# Connection for Nodes only, and runs it for any type.
@strawberry.type(description="A page of a test session's comparisons.")
class DetectionComparisonConnection(relay.Connection[DetectionComparison]):  # type: ignore[type-var]
    session_id: strawberry.Private[int]
    kind: strawberry.Private[str | None]

    @strawberry.field(description="All comparisons of this kind.")
    async def total_count(self, info: Info) -> int:
        return await info.context.loaders.comparison_count.load((self.session_id, self.kind))


async def comparison_page(info: Info, session_id: int, kind, first, after) -> DetectionComparisonConnection:
    limit = page_size(first, info.context.runtime.settings)
    after_id = decode_cursor(after, "comparison")
    wanted = kind.value if kind is not None else None
    rows = await info.context.loaders.comparison_page.load(
        PageRequest(session_id, wanted, after_id, limit + 1)
    )
    edges, page_info = page_of(
        rows,
        limit,
        lambda r: encode_cursor("comparison", r.id),
        DetectionComparison.from_row,
        after_given=after_id is not None,
    )
    return DetectionComparisonConnection(edges=edges, page_info=page_info, session_id=session_id, kind=wanted)
