from __future__ import annotations

import json
from datetime import datetime

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from domain.core.errors import BadUserInput
from domain.detection.detector import DEFAULT_NMS_IOU, DEFAULT_SCORE_THRESHOLD
from domain.validation import ingest as detection_ingest
from domain.validation import test_sessions
from domain.validation.ingest import DetectionEventInput as Event
from domain.validation.test_sessions import DetectorSettings, NewTestSession, TestSource
from graph.context import Info
from graph.deprecated import renamed, use
from graph.ids import decode_id, decode_ids
from graph.inputs import checked
from graph.permissions import IsAnnotator, IsReviewer
from graph.validation.signal_path import SignalPath, SignalPathInput
from graph.validation.test_session import TestSession
from graph.validation.test_session import TestSource as TestSourceEnum


@strawberry.input(description="A new test session of a project.")
class CreateTestSessionInput:
    project_id: relay.GlobalID = strawberry.field(description="The project.")
    name: str = strawberry.field(description="A name.")
    source: TestSourceEnum = strawberry.field(
        description="MODEL (run a detector here) or EXTERNAL (a device)."
    )
    model: str | None = strawberry.field(default=None, description="MODEL: a model in the models folder.")
    episode_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None, description="Linked episodes to cover; default all linked ones."
    )
    cameras: list[str] | None = strawberry.field(default=None, description="Cameras to cover; default all.")
    match_iou: float | None = strawberry.field(
        default=None, description="IoU a detection needs to match a box, (0, 1]; default the project's."
    )
    iou_threshold: float | None = strawberry.field(
        default=None,
        description="IoU a detection needs to match a box: `matchIou`.",
        deprecation_reason=use("matchIou"),
    )
    tolerance_ms: float = strawberry.field(default=100.0, description="Latency counted as on time, ms.")
    score_threshold: float | None = strawberry.field(
        default=None, description="MODEL: lowest detection score kept, 0-1; default 0.25."
    )
    confidence: float | None = strawberry.field(
        default=None,
        description="Lowest detection score kept: `scoreThreshold`.",
        deprecation_reason=use("scoreThreshold"),
    )
    nms_iou: float | None = strawberry.field(
        default=None,
        description="MODEL: the detector's non-maximum-suppression IoU, (0, 1]: of two boxes that overlap "
        "more, the lower scored is dropped; default 0.7.",
    )
    iou: float | None = strawberry.field(
        default=None, description="The detector's NMS IoU: `nmsIou`.", deprecation_reason=use("nmsIou")
    )
    frame_stride: int = strawberry.field(default=1, description="MODEL: every n-th frame.")
    class_map: JSON | None = strawberry.field(
        default=None, description="MODEL: detector class name -> label name; unmapped classes are dropped."
    )
    image_size: int | None = strawberry.field(default=None, description="MODEL: inference size in pixels.")
    max_detections: int = strawberry.field(
        default=100,
        description=(
            "AP keeps this many best-scored detections per frame and label, 1-10000 (COCO's maxDets, "
            "default 100 as COCO); raise it for frames with more objects. Precision, recall and F1 "
            "count every detection."
        ),
    )
    signal_paths: list[SignalPathInput] | None = strawberry.field(
        default=None,
        description=(
            "EXTERNAL: the signal paths its device reports over, each once, with its tolerance; the first "
            "is the default for events that name none. Default: NETWORK at toleranceMs."
        ),
    )


@strawberry.input(description="One detection from a device, or (without label) a frame it found nothing on.")
class DetectionEventInput:
    episode_id: relay.GlobalID = strawberry.field(description="The episode.")
    camera: str = strawberry.field(description="The camera.")
    frame: int | None = strawberry.field(default=None, description="The frame; or give timestamp.")
    timestamp: float | None = strawberry.field(
        default=None, description="Episode time in seconds the device saw; mapped to the nearest frame."
    )
    label: str | None = strawberry.field(default=None, description="The label; null: nothing on this frame.")
    x: float | None = strawberry.field(default=None, description="Left edge, pixels.")
    y: float | None = strawberry.field(default=None, description="Top edge, pixels.")
    width: float | None = strawberry.field(default=None, description="Width, pixels.")
    height: float | None = strawberry.field(default=None, description="Height, pixels.")
    score: float | None = strawberry.field(
        default=None,
        description=(
            "The detector's score, 0-1 (higher is surer); without one the detection counts as certain "
            "(1.0), as Datumaro reads an annotation without a score."
        ),
    )
    sent_at: datetime | None = strawberry.field(
        default=None, description="When the device sent it (for latency)."
    )
    signal_path: SignalPath | None = strawberry.field(
        default=None,
        description=(
            "How the device reported it, one of the session's signalPaths; null: the session's default."
        ),
    )


def class_map_of(value) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise BadUserInput(
            f"input.classMap must map class names to label names, got {json.dumps(value)[:80]}",
            field="input.classMap",
        )
    return value


@strawberry.type
class TestSessionMutations:
    @strawberry.mutation(
        description="Create a test session of a project (reviewers).", permission_classes=[IsReviewer]
    )
    async def create_test_session(self, info: Info, input: CreateTestSessionInput) -> TestSession:
        new = checked(
            NewTestSession,
            project_id=decode_id(input.project_id, "Project", "input.projectId"),
            name=input.name,
            source=TestSource(input.source.value),
            model=input.model,
            episode_ids=decode_ids(input.episode_ids, "Episode", "input.episodeIds")
            if input.episode_ids is not None
            else None,
            cameras=input.cameras,
            match_iou=renamed(
                input.match_iou, input.iou_threshold, field="input.matchIou", old="iouThreshold"
            ),
            tolerance_ms=input.tolerance_ms,
            detector=checked(
                DetectorSettings,
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
                frame_stride=input.frame_stride,
                class_map=class_map_of(input.class_map),
                image_size=input.image_size,
            ),
            max_detections=input.max_detections,
            signal_paths=None
            if input.signal_paths is None
            else [(p.path.value, p.tolerance_ms) for p in input.signal_paths],
        )
        row = await test_sessions.create_test_session(
            info.context.runtime, info.context.require_viewer(), new
        )
        return TestSession.from_row(row)

    @strawberry.mutation(
        description="Start a session: a MODEL one runs its detector as a job, an EXTERNAL one takes events.",
        permission_classes=[IsReviewer],
    )
    async def start_test_session(self, info: Info, id: relay.GlobalID) -> TestSession:
        row = await test_sessions.start_test_session(
            info.context.runtime, info.context.require_viewer(), decode_id(id, "TestSession", "id")
        )
        return TestSession.from_row(row)

    @strawberry.mutation(
        description="Stop a running session and evaluate what it processed (marked partial if not all).",
        permission_classes=[IsReviewer],
    )
    async def stop_test_session(self, info: Info, id: relay.GlobalID) -> TestSession:
        row = await test_sessions.stop_test_session(
            info.context.runtime, info.context.require_viewer(), decode_id(id, "TestSession", "id")
        )
        return TestSession.from_row(row)

    @strawberry.mutation(
        description=(
            "Detections from a device under test for a RUNNING EXTERNAL session, all or nothing; "
            "returns how many detections were stored."
        ),
        permission_classes=[IsAnnotator],
    )
    async def ingest_detection_events(
        self, info: Info, session_id: relay.GlobalID, events: list[DetectionEventInput]
    ) -> int:
        items = [
            Event(
                episode_id=decode_id(e.episode_id, "Episode", f"events[{i}].episodeId"),
                camera=e.camera,
                frame=e.frame,
                timestamp=e.timestamp,
                label=e.label,
                x=e.x,
                y=e.y,
                width=e.width,
                height=e.height,
                score=e.score,
                sent_at=e.sent_at,
                signal_path=e.signal_path.value if e.signal_path is not None else None,
            )
            for i, e in enumerate(events)
        ]
        return await detection_ingest.ingest_detection_events(
            info.context.runtime,
            info.context.require_viewer(),
            decode_id(session_id, "TestSession", "sessionId"),
            items,
        )
