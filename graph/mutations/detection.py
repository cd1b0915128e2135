from __future__ import annotations

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from domain import object_detection
from domain.object_detection import DetectRequest
from graph.context import Info
from graph.ids import decode_id
from graph.mutations.test_session import class_map_of
from graph.permissions import IsAnnotator
from graph.types.job import Job


@strawberry.input(description="Run a detector over frames of one camera; its boxes become MODEL annotations.")
class DetectObjectsInput:
    episode_id: relay.GlobalID = strawberry.field(description="The episode.")
    camera: str = strawberry.field(description="The camera.")
    model: str = strawberry.field(
        description="A model file in the server's models folder, or an Ultralytics architecture "
        "(yolo11n.yaml)."
    )
    frames: list[int] | None = strawberry.field(default=None, description="These frames; or frameStride.")
    frame_stride: int | None = strawberry.field(default=None, description="Every n-th frame (default 1).")
    confidence: float = strawberry.field(default=0.25, description="Lowest detection score kept (0..1).")
    iou: float = strawberry.field(default=0.7, description="The detector's non-maximum-suppression IoU.")
    class_map: JSON | None = strawberry.field(
        default=None,
        description="Detector class name -> label name. Without it classes map to labels of the same name; "
        "classes without a label are dropped and counted in the job's summary.",
    )
    image_size: int | None = strawberry.field(default=None, description="Inference size in pixels.")


@strawberry.type
class DetectionMutations:
    @strawberry.mutation(
        description="Detect objects with a model as a job (annotators); its summary counts what it dropped.",
        permission_classes=[IsAnnotator],
    )
    async def detect_objects(self, info: Info, input: DetectObjectsInput) -> Job:
        row = await object_detection.detect_objects(
            info.context.runtime,
            info.context.require_viewer(),
            DetectRequest(
                episode_id=decode_id(input.episode_id, "Episode", "input.episodeId"),
                camera=input.camera,
                model=input.model,
                frames=input.frames,
                frame_stride=input.frame_stride,
                confidence=input.confidence,
                iou=input.iou,
                class_map=class_map_of(input.class_map),
                image_size=input.image_size,
            ),
        )
        return Job.from_row(row)
