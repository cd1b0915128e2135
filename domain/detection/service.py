"""`detectObjects`: run a detector over frames of one camera as a job; its boxes become MODEL object
annotations (with their scores, not validated, one new track each).

Frames are read and inferred in the process pool, a batch at a time (the model is loaded once per
worker process); the boxes are stored in one transaction at the end, so a cancelled or failed run
leaves none. Detected classes map to the dataset's labels through `classMap` (or by name); classes
without a label are dropped and counted in the job's summary.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from domain.accounts.users import Viewer
from domain.core.episode_events import ObjectChange
from domain.core.errors import BadUserInput, NotFound
from domain.core.job_runner import JobContext, JobKind
from domain.core.runtime import Runtime
from domain.detection.detector import (
    DEFAULT_NMS_IOU,
    DEFAULT_SCORE_THRESHOLD,
    DetectorSettings,
    check_detector,
    check_model,
    detect_frames,
)
from domain.objects import boxes
from domain.objects.boxes import Review, Source
from domain.objects.service import announce
from persistence.columns import utcnow
from persistence.documents import DetectionParameters
from persistence.episode_sources import episode_ref
from persistence.repositories import dataset as datasets_repo
from persistence.repositories import episode as episodes_repo
from persistence.repositories import label as labels_repo
from persistence.repositories import object_annotation as boxes_repo
from persistence.tables import JobRow

if TYPE_CHECKING:
    from domain.detection.conversion import Detection


@dataclass(frozen=True)
class DetectRequest:
    episode_id: int
    camera: str
    model: str
    frames: list[int] | None = None
    frame_stride: int | None = None
    score_threshold: float = DEFAULT_SCORE_THRESHOLD
    nms_iou: float = DEFAULT_NMS_IOU
    class_map: dict[str, str] | None = None
    image_size: int | None = None


def frame_list(frames: list[int] | None, stride: int | None, length: int) -> list[int]:
    if frames is not None and stride is not None:
        raise BadUserInput("input.frames: give frames or frameStride, not both", field="input.frames")
    if frames is not None:
        if not frames:
            raise BadUserInput("input.frames: give at least one frame", field="input.frames")
        bad = [f for f in frames if not (0 <= f < length)]
        if bad:
            raise BadUserInput(
                f"input.frames: {bad[:5]} outside the episode (0..{length - 1})", field="input.frames"
            )
        return sorted(set(frames))
    stride = stride or 1
    if stride < 1:
        raise BadUserInput(f"input.frameStride must be at least 1, got {stride}", field="input.frameStride")
    return list(range(0, length, stride))


async def detect_objects(rt: Runtime, viewer: Viewer, req: DetectRequest) -> JobRow:
    check_detector(
        DetectorSettings(
            score_threshold=req.score_threshold, nms_iou=req.nms_iou, image_size=req.image_size
        ),
        "input",
    )
    async with rt.sessions() as session:
        found = await episodes_repo.read_episodes_by_ids(session, [req.episode_id])
        episode = found[0] if found else None
        if episode is None:
            raise NotFound(
                f"input.episodeId: episode {req.episode_id} does not exist", field="input.episodeId"
            )
        dataset = await datasets_repo.read_dataset(session, episode.dataset_id)
        assert dataset is not None  # the episode's dataset (a foreign key)
        labels = {r.name: r.id for r in await labels_repo.read_labels_by_datasets(session, [dataset.id])}
    if req.camera not in episode.cameras:
        raise BadUserInput(
            f"input.camera: episode {episode.id} has no camera {req.camera!r} "
            f"(it has {list(episode.cameras)})",
            field="input.camera",
        )
    frames = frame_list(req.frames, req.frame_stride, episode.length)
    spec = await check_model(rt, req.model)
    path = episode_ref(dataset, episode)

    async def body(ctx: JobContext) -> None:
        await _run(rt, ctx, viewer, req, spec, path, episode.id, frames, labels)

    return await rt.jobs.submit(
        kind=JobKind.DETECTION,
        target=f"episode:{episode.id}:detect:{req.camera}",
        body=body,
        parameters=DetectionParameters(
            episode_id=episode.id,
            camera=req.camera,
            model=req.model,
            frames=len(frames),
            score_threshold=req.score_threshold,
            nms_iou=req.nms_iou,
            class_map=req.class_map,
            requested_by=viewer.user_id,
        ),
        dataset_id=dataset.id,
    )


async def _run(
    rt, ctx: JobContext, viewer: Viewer, req: DetectRequest, spec, path, episode_id, frames, labels
):
    await ctx.progress(0.0, f"0/{len(frames)} frames")
    found: list[tuple[int, Detection]] = []
    dropped: Counter = Counter()
    done = 0
    settings = DetectorSettings(
        score_threshold=req.score_threshold,
        nms_iou=req.nms_iou,
        class_map=req.class_map,
        image_size=req.image_size,
    )
    async for batch, result in detect_frames(rt, spec, path, req.camera, frames, settings):
        for frame, detections in zip(batch, result.detections, strict=True):
            for d in detections:
                if d.label in labels:
                    found.append((frame, d))
                else:
                    dropped[f"no label {d.label!r}"] += 1
        dropped.update(result.dropped)
        done += len(batch)
        await ctx.progress(0.95 * done / len(frames), f"{done}/{len(frames)} frames")
    now = utcnow()
    async with rt.sessions() as session, session.begin():
        first = await boxes_repo.draw_track_numbers(session, episode_id, len(found)) if found else 0
        values = [
            {
                "episode_id": episode_id,
                "camera": req.camera,
                "frame": frame,
                "x": d.x,
                "y": d.y,
                "width": d.width,
                "height": d.height,
                "label_id": labels[d.label],
                "track_id": boxes.generated_track_id(d.label, first + n),
                "occluded": False,
                "truncated": False,
                "difficult": False,
                "outside": False,
                "notes": None,
                "source": Source.MODEL.value,
                "score": d.score,
                "keyframe": True,
                "version": 1,
                "review": Review.PENDING.value,
                "created_by": viewer.user_id,
                "created_at": now,
                "updated_by": viewer.user_id,
                "updated_at": now,
            }
            for n, (frame, d) in enumerate(found)
        ]
        ids = await boxes_repo.insert_boxes(session, values)
        await ctx.finish(
            session,
            summary={
                "frames": len(frames),
                "boxes": len(ids),
                "dropped": dict(dropped),
                "droppedTotal": sum(dropped.values()),
                "model": req.model,
            },
            message=f"{len(frames)}/{len(frames)} frames",
        )
    await announce(rt, viewer.user_id, ObjectChange.CREATED, {episode_id: ids} if ids else {})
