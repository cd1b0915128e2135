from __future__ import annotations

import strawberry
from strawberry import relay

from domain.objects import boxes
from domain.objects import service as object_annotations
from graph.conflicts import showing_current
from graph.context import Info
from graph.deprecated import renamed, use
from graph.ids import decode_id
from graph.objects.object_annotation import ObjectAnnotation, ObjectSource
from graph.permissions import IsAnnotator, IsReviewer


@strawberry.input(description="A box in pixels: x, y of the top-left corner, width and height.")
class BoxInput:
    x: float = strawberry.field(description="Left edge, >= 0.")
    y: float = strawberry.field(description="Top edge, >= 0.")
    width: float = strawberry.field(description="> 0; x + width <= the image width.")
    height: float = strawberry.field(description="> 0; y + height <= the image height.")


@strawberry.input(description="A new box on a frame.")
class CreateObjectAnnotationInput:
    episode_id: relay.GlobalID = strawberry.field(description="The episode.")
    camera: str = strawberry.field(description="The camera.")
    frame: int = strawberry.field(description="The frame index.")
    box: BoxInput = strawberry.field(description="Where the object is.")
    label: str = strawberry.field(description="A label name of the dataset's label set.")
    track_id: str | None = strawberry.field(
        default=None, description="The track; default a new DET_<LABEL>_<NNNN> track for this box."
    )
    occluded: bool = strawberry.field(default=False, description="Partly hidden.")
    truncated: bool = strawberry.field(default=False, description="Goes on beyond the border.")
    difficult: bool = strawberry.field(default=False, description="Hard to recognise.")
    outside: bool = strawberry.field(default=False, description="The track leaves the view here.")
    notes: str | None = strawberry.field(default=None, description="Free notes.")
    source: ObjectSource = strawberry.field(default=boxes.Source.MANUAL, description="Where it came from.")
    score: float | None = strawberry.field(default=None, description="A detector's score, 0-1.")
    confidence: float | None = strawberry.field(
        default=None, description="A detector's score, 0-1: `score`.", deprecation_reason=use("score")
    )
    keyframe: bool = strawberry.field(default=True, description="Set by a person.")

    def to_draft(self, path: str) -> boxes.BoxDraft:
        return boxes.BoxDraft(
            episode_id=decode_id(self.episode_id, "Episode", f"{path}.episodeId"),
            camera=self.camera,
            frame=self.frame,
            x=self.box.x,
            y=self.box.y,
            width=self.box.width,
            height=self.box.height,
            label=self.label,
            track_id=self.track_id,
            occluded=self.occluded,
            truncated=self.truncated,
            difficult=self.difficult,
            outside=self.outside,
            notes=self.notes,
            source=boxes.Source(self.source.value),
            score=renamed(self.score, self.confidence, field=f"{path}.score", old="confidence"),
            keyframe=self.keyframe,
        )


@strawberry.input(description="Changes to a box; what is left out stays. Needs the version it changes.")
class UpdateObjectAnnotationInput:
    id: relay.GlobalID = strawberry.field(description="The box.")
    expected_version: int = strawberry.field(description="The version this change applies to.")
    camera: str | None = strawberry.field(default=None, description="Another camera.")
    frame: int | None = strawberry.field(default=None, description="Another frame.")
    box: BoxInput | None = strawberry.field(default=None, description="A new box.")
    label: str | None = strawberry.field(default=None, description="Another label (name).")
    track_id: str | None = strawberry.field(default=None, description="Another track.")
    occluded: bool | None = strawberry.field(default=None, description="Partly hidden.")
    truncated: bool | None = strawberry.field(default=None, description="Goes on beyond the border.")
    difficult: bool | None = strawberry.field(default=None, description="Hard to recognise.")
    outside: bool | None = strawberry.field(default=None, description="The track leaves the view here.")
    notes: str | None = strawberry.field(default=None, description="Free notes.")
    score: float | None = strawberry.field(default=None, description="A detector's score, 0-1.")
    confidence: float | None = strawberry.field(
        default=None, description="A detector's score, 0-1: `score`.", deprecation_reason=use("score")
    )
    keyframe: bool | None = strawberry.field(default=None, description="Set by a person.")

    def changes(self) -> boxes.BoxChanges:
        box = self.box
        return boxes.BoxChanges(
            camera=self.camera,
            frame=self.frame,
            x=box.x if box is not None else None,
            y=box.y if box is not None else None,
            width=box.width if box is not None else None,
            height=box.height if box is not None else None,
            label=self.label,
            track_id=self.track_id,
            occluded=self.occluded,
            truncated=self.truncated,
            difficult=self.difficult,
            outside=self.outside,
            notes=self.notes,
            score=renamed(self.score, self.confidence, field="input.score", old="confidence"),
            keyframe=self.keyframe,
        )


def _ids(ids: list[relay.GlobalID], field: str = "ids") -> list[int]:
    return [decode_id(gid, "ObjectAnnotation", f"{field}[{i}]") for i, gid in enumerate(ids)]


@strawberry.type
class ObjectAnnotationMutations:
    @strawberry.mutation(
        description=(
            "Create boxes (up to 10,000 per call). All or nothing: one bad box fails the batch with "
            "BAD_USER_INPUT naming it (input[i].field) and nothing is written."
        ),
        permission_classes=[IsAnnotator],
    )
    async def create_object_annotations(
        self, info: Info, input: list[CreateObjectAnnotationInput]
    ) -> list[ObjectAnnotation]:
        drafts = [item.to_draft(f"input[{i}]") for i, item in enumerate(input)]
        rows = await object_annotations.create_boxes(
            info.context.runtime, info.context.require_viewer(), drafts
        )
        return [ObjectAnnotation.from_row(r) for r in rows]

    @strawberry.mutation(
        description=(
            "Change a box if it is still at expectedVersion, else CONFLICT with the current version "
            "and content. An interpolated box becomes a keyframe; a reviewed box goes back to review."
        ),
        permission_classes=[IsAnnotator],
    )
    async def update_object_annotation(
        self, info: Info, input: UpdateObjectAnnotationInput
    ) -> ObjectAnnotation:
        box_id = decode_id(input.id, "ObjectAnnotation", "input.id")
        async with showing_current(info, relay.GlobalID("ObjectAnnotation", str(box_id)), "ObjectAnnotation"):
            row = await object_annotations.update_box(
                info.context.runtime,
                info.context.require_viewer(),
                box_id,
                input.expected_version,
                input.changes(),
            )
        return ObjectAnnotation.from_row(row)

    @strawberry.mutation(
        description="Delete boxes (annotators their own unvalidated ones, reviewers any); how many went.",
        permission_classes=[IsAnnotator],
    )
    async def delete_object_annotations(self, info: Info, ids: list[relay.GlobalID]) -> int:
        return await object_annotations.delete_boxes(
            info.context.runtime, info.context.require_viewer(), _ids(ids)
        )

    @strawberry.mutation(
        description="Validate (true) or reject (false, with a reason) boxes as ground truth (reviewers).",
        permission_classes=[IsReviewer],
    )
    async def validate_object_annotations(
        self, info: Info, ids: list[relay.GlobalID], validated: bool, reason: str | None = None
    ) -> list[ObjectAnnotation]:
        rows = await object_annotations.review_boxes(
            info.context.runtime, info.context.require_viewer(), _ids(ids), validated, reason
        )
        return [ObjectAnnotation.from_row(r) for r in rows]

    @strawberry.mutation(
        description=(
            "Fill the frames between a track's keyframes by linear interpolation (INTERPOLATED boxes), "
            "replacing earlier interpolated boxes; keyframes are never touched, and no box is made "
            "after an `outside` keyframe. Returns the new boxes."
        ),
        permission_classes=[IsAnnotator],
    )
    async def interpolate_track(
        self, info: Info, episode_id: relay.GlobalID, camera: str, track_id: str
    ) -> list[ObjectAnnotation]:
        rows = await object_annotations.interpolate_track(
            info.context.runtime,
            info.context.require_viewer(),
            decode_id(episode_id, "Episode", "episodeId"),
            camera,
            track_id,
        )
        return [ObjectAnnotation.from_row(r) for r in rows]
