from __future__ import annotations

from enum import Enum

import strawberry
from strawberry import relay

from domain import session_evaluation
from graph.context import Info
from graph.types.pagination import decode_cursor, encode_cursor, page_size
from persistence.tables import DetectionComparisonRow


@strawberry.enum(
    description="TP: a matched pair; FP: a detection matched to nothing; FN: a box no detection found."
)
class ComparisonKind(Enum):
    TP = "TP"
    FP = "FP"
    FN = "FN"


@strawberry.type(description="One matched pair or one miss of a test session's evaluation.")
class DetectionComparison:
    id: relay.GlobalID = strawberry.field(description="Opaque id.")
    kind: ComparisonKind = strawberry.field(description="TP, FP or FN.")
    camera: str = strawberry.field(description="The camera.")
    frame: int = strawberry.field(description="The frame.")
    label: str = strawberry.field(description="The label.")
    iou: float = strawberry.field(description="IoU of the pair (0 for a miss).")
    temporal_offset_ms: float | None = strawberry.field(
        description="Device time minus the frame's time, ms, when the device sent a timestamp."
    )
    annotation_id: relay.GlobalID | None = strawberry.field(description="The ground-truth box, if any.")
    episode_id: relay.GlobalID = strawberry.field(description="The episode.")

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
            annotation_id=relay.GlobalID("ObjectAnnotation", str(row.annotation_id))
            if row.annotation_id
            else None,
            episode_id=relay.GlobalID("Episode", str(row.episode_id)),
        )


@strawberry.type(description="A page of comparisons.")
class DetectionComparisonConnection:
    nodes: list[DetectionComparison] = strawberry.field(description="This page.")
    end_cursor: str | None = strawberry.field(description="Pass as `after` for the next page.")
    has_next_page: bool = strawberry.field(description="More follow.")
    total_count: int = strawberry.field(description="All comparisons of this kind.")


async def comparison_page(info: Info, session_id: int, kind, first, after) -> DetectionComparisonConnection:
    rt = info.context.runtime
    limit = page_size(first, rt.settings)
    after_id = decode_cursor(after, "comparison")
    wanted = kind.value if kind is not None else None
    rows, total = await session_evaluation.comparison_page(rt, session_id, wanted, after_id, limit + 1)
    page = rows[:limit]
    return DetectionComparisonConnection(
        nodes=[DetectionComparison.from_row(r) for r in page],
        end_cursor=encode_cursor("comparison", page[-1].id) if page else None,
        has_next_page=len(rows) > limit,
        total_count=total,
    )
