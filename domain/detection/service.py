"""`detectObjects`: run a detector over frames of one camera as a job; its boxes become MODEL object
annotations (with their scores, not validated, one new track each).

Frames are read and inferred in the process pool, a batch at a time (the model is loaded once per
pool process), in parts of one batch that several participants take at once (domain/core/job_parts.py);
the boxes are stored in one transaction at the end, so a cancelled or failed run leaves none.
Detected classes map to the dataset's labels through `classMap` (or by name); classes without a label
are dropped and counted in the job's summary.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict
from typing import cast

from pydantic import Field, JsonValue, field_validator, model_validator
from pydantic.dataclasses import dataclass

from domain.accounts.users import Viewer
from domain.core.episode_events import ObjectChange
from domain.core.errors import BadUserInput, Conflict, Invalid, NotFound
from domain.core.job_parts import run_in_parts
from domain.core.job_registry import register, registered_body
from domain.core.job_runner import JobContext, JobKind
from domain.core.runtime import Runtime
from domain.detection.conversion import Detection
from domain.detection.detector import (
    BATCH,
    DEFAULT_NMS_IOU,
    DEFAULT_SCORE_THRESHOLD,
    DetectorSettings,
    check_model,
)
from domain.objects import boxes
from domain.objects.boxes import Review, Source
from domain.objects.service import announce, open_sessions_of
from persistence.columns import utcnow
from persistence.documents import DetectionParameters
from persistence.engine import refresh_after_load
from persistence.episode_sources import episode_ref
from persistence.repositories import dataset as datasets_repo
from persistence.repositories import episode as episodes_repo
from persistence.repositories import label as labels_repo
from persistence.repositories import object_annotation as boxes_repo
from persistence.tables import JobRow


@dataclass(frozen=True)
class DetectRequest:
    """What to detect on: some frames (or every `frame_stride`-th, default every one) of one camera of
    an episode, with a model; detections scored under `score_threshold` (0-1) are dropped, `nms_iou`
    (0-1] is the overlap above which the detector keeps only the better of two boxes, `image_size` the
    inference size in pixels (32-4096; None: the model's own), `class_map` the model's class names to
    label names. A pydantic dataclass: the graph checks it as it builds it (graph/inputs.py)."""

    episode_id: int
    camera: str
    model: str
    frames: list[int] | None = None
    frame_stride: int | None = Field(default=None, ge=1)
    score_threshold: float = Field(default=DEFAULT_SCORE_THRESHOLD, ge=0, le=1)
    nms_iou: float = Field(default=DEFAULT_NMS_IOU, gt=0, le=1)
    class_map: dict[str, str] | None = None
    image_size: int | None = Field(default=None, ge=32, le=4096)

    @field_validator("frames")
    @classmethod
    def _some_frames(cls, frames: list[int] | None) -> list[int] | None:
        if frames is not None and not frames:
            raise ValueError("give at least one frame")
        return frames

    @model_validator(mode="after")
    def _frames_or_stride(self) -> DetectRequest:
        if self.frames is not None and self.frame_stride is not None:
            raise Invalid("give frames or a frame stride, not both", field="frames")
        return self


def frame_list(frames: list[int] | None, stride: int | None, length: int) -> list[int]:
    """The frames to detect on, in order: those given (each once), or every `stride`-th (default 1);
    BAD_USER_INPUT (frames) for a frame outside the episode's `length`."""
    if frames is not None:
        bad = [f for f in frames if not (0 <= f < length)]
        if bad:
            raise BadUserInput(f"frames: {bad[:5]} outside the episode (0..{length - 1})", field="frames")
        return sorted(set(frames))
    return list(range(0, length, stride or 1))


async def detect_objects(rt: Runtime, viewer: Viewer, req: DetectRequest) -> JobRow:
    async with rt.sessions() as session:
        found = await episodes_repo.read_episodes_by_ids(session, [req.episode_id])
        episode = found[0] if found else None
        if episode is None:
            raise NotFound(f"episode_id: episode {req.episode_id} does not exist", field="episode_id")
        dataset = await datasets_repo.read_dataset(session, episode.dataset_id)
        assert dataset is not None  # the episode's dataset (a foreign key)
    if req.camera not in episode.cameras:
        raise BadUserInput(
            f"camera: episode {episode.id} has no camera {req.camera!r} (it has {list(episode.cameras)})",
            field="camera",
        )
    frames = frame_list(req.frames, req.frame_stride, episode.length)
    await check_model(rt, req.model)

    # The runner commits the job in its own transaction (a version another process took is retried);
    # `run_detection_job` rebuilds the work from the stored parameters, here or in a worker.
    return await rt.jobs.submit(
        kind=JobKind.DETECTION,
        target=f"episode:{episode.id}:detect:{req.camera}",
        body=registered_body(rt),
        parameters=DetectionParameters(
            episode_id=episode.id,
            camera=req.camera,
            model=req.model,
            frames=len(frames),
            score_threshold=req.score_threshold,
            nms_iou=req.nms_iou,
            class_map=req.class_map,
            frame_list=frames,
            image_size=req.image_size,
            requested_by=viewer.user_id,
        ),
        dataset_id=dataset.id,
    )


@register(JobKind.DETECTION, DetectionParameters)
async def run_detection_job(rt: Runtime, ctx: JobContext) -> None:
    """A detection rebuilt from its job's parameters (episode, labels and model read again)."""
    stored = ctx.job.parameters.as_kind(DetectionParameters)
    # The registry chose this function for these parameters; detect_objects names who asked.
    assert stored is not None and stored.requested_by is not None
    if stored.frame_list is None:
        raise Conflict(f"job {ctx.job.id}: stored before its frames were kept; run the detection again")
    req = DetectRequest(
        episode_id=stored.episode_id,
        camera=stored.camera,
        model=stored.model,
        frames=stored.frame_list,
        score_threshold=stored.score_threshold,
        nms_iou=stored.nms_iou,
        class_map=stored.class_map,
        image_size=stored.image_size,
    )
    async with rt.sessions() as session:
        found = await episodes_repo.read_episodes_by_ids(session, [req.episode_id])
        if not found:
            raise NotFound(f"episode_id: episode {req.episode_id} does not exist", field="episode_id")
        episode = found[0]
        dataset = await datasets_repo.read_dataset(session, episode.dataset_id)
        assert dataset is not None  # the episode's dataset (a foreign key)
        labels = {r.name: r.id for r in await labels_repo.read_labels_by_datasets(session, [dataset.id])}
    spec = await check_model(rt, req.model)
    path = episode_ref(dataset, episode)
    await _run(rt, ctx, stored.requested_by, req, spec, path, episode.id, stored.frame_list, labels)


async def _run(rt, ctx: JobContext, user_id: int, req: DetectRequest, spec, path, episode_id, frames, labels):
    """Detect in parts of one batch of frames each, which any participant takes
    (domain/core/job_parts.py: in this process's pool, or over `annograph worker --queues detect`
    processes); the final step stores every box in one transaction."""
    from domain.detection.inference import detect_batch

    settings = DetectorSettings(
        score_threshold=req.score_threshold,
        nms_iou=req.nms_iou,
        class_map=req.class_map,
        image_size=req.image_size,
    )
    pool = rt.workers()
    loop = asyncio.get_running_loop()

    async def run_part(batch: list[int], advance: Callable[[int], None]) -> dict[int, JsonValue]:
        result = await loop.run_in_executor(
            pool,
            detect_batch,
            spec,
            path,
            req.camera,
            batch,
            settings.score_threshold,
            settings.nms_iou,
            settings.class_map,
            settings.image_size,
        )
        advance(len(batch))
        # Per frame: its detections; the batch's dropped counts ride on its first frame.
        return {
            frame: {
                "detections": [asdict(d) for d in detections],
                "dropped": dict(result.dropped) if i == 0 else {},
            }
            for i, (frame, detections) in enumerate(zip(batch, result.detections, strict=True))
        }

    async def finish(results: dict[int, JsonValue]) -> None:
        found: list[tuple[int, Detection]] = []
        dropped: Counter = Counter()
        for frame in frames:
            stored = cast(dict, results[frame])
            for d in stored["detections"]:
                if d["label"] in labels:
                    found.append((frame, Detection(**d)))
                else:
                    dropped[f"no label {d['label']!r}"] += 1
            dropped.update(stored["dropped"])
        await _store(rt, ctx, user_id, req, episode_id, frames, labels, found, dropped)

    if not ctx.joining:
        await ctx.progress(0.0, f"0/{len(frames)} frames")
    await run_in_parts(
        rt,
        ctx,
        frames,
        None,
        finish,
        run_part=run_part,
        part_size=BATCH,
        noun="frames",
        lanes=2 * rt.worker_count(),
    )


async def _store(
    rt: Runtime,
    ctx: JobContext,
    user_id: int,
    req: DetectRequest,
    episode_id: int,
    frames: list[int],
    labels: dict[str, int],
    found: list[tuple[int, Detection]],
    dropped: Counter,
) -> None:
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
                "created_by": user_id,
                "created_at": now,
                "updated_by": user_id,
                "updated_at": now,
            }
            for n, (frame, d) in enumerate(found)
        ]
        ids = await boxes_repo.insert_boxes(session, values)
        await refresh_after_load(session, "object_annotation", len(ids))
        open_sessions = await open_sessions_of(session, [episode_id] if ids else [])
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
    await announce(rt, user_id, ObjectChange.CREATED, {episode_id: ids} if ids else {}, open_sessions)
