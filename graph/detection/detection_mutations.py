from __future__ import annotations

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from domain.detection import service as object_detection
from domain.detection.detector import DEFAULT_NMS_IOU, DEFAULT_SCORE_THRESHOLD
from domain.detection.service import DetectRequest
from graph.context import Info
from graph.deprecated import renamed, use
from graph.ids import decode_id
from graph.inputs import checked
from graph.jobs.job import Job
from graph.permissions import IsAnnotator
from graph.validation.test_session_mutations import class_map_of


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
    score_threshold: float | None = strawberry.field(
        default=None, description="Lowest detection score kept, 0-1; default 0.25."
    )
    confidence: float | None = strawberry.field(
        default=None,
        description="Lowest detection score kept: `scoreThreshold`.",
        deprecation_reason=use("scoreThreshold"),
    )
    nms_iou: float | None = strawberry.field(
        default=None,
        description="The detector's non-maximum-suppression IoU, (0, 1]: of two boxes that overlap more, "
        "the lower scored is dropped; default 0.7.",
    )
    iou: float | None = strawberry.field(
        default=None, description="The detector's NMS IoU: `nmsIou`.", deprecation_reason=use("nmsIou")
    )
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
            checked(
                DetectRequest,
                episode_id=decode_id(input.episode_id, "Episode", "input.episodeId"),
                camera=input.camera,
                model=input.model,
                frames=input.frames,
                frame_stride=input.frame_stride,
                score_threshold=renamed(
                    input.score_threshold,
                    input.confidence,
                    field="input.scoreThreshold",
                    old="confidence",
                    default=DEFAULT_SCORE_THRESHOLD,
                ),
                nms_iou=renamed(
                    input.nms_iou, input.iou, field="input.nmsIou", old="iou", default=DEFAULT_NMS_IOU
                ),
                class_map=class_map_of(input.class_map),
                image_size=input.image_size,
            ),
        )
        return Job.from_row(row)
