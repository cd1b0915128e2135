"""The detector that `detectObjects` and a MODEL test session run: its settings, the check of the
model name, and the run over a camera's frames in the process pool. Shared by `object_detection`
and `test_session_runs`, which therefore need not import each other or `test_sessions`.
"""

from __future__ import annotations

import asyncio

from pydantic import Field
from pydantic.dataclasses import dataclass

from domain.core.runtime import Runtime
from persistence.documents import SessionSettings
from persistence.episode_sources import SourceRef

BATCH = 16


DEFAULT_SCORE_THRESHOLD = 0.25  # Ultralytics' own default `conf` for predict
DEFAULT_NMS_IOU = 0.7  # Ultralytics' own default `iou` for predict


@dataclass(frozen=True)
class DetectorSettings:
    """How a MODEL session runs its detector: `score_threshold` (0-1) is the lowest score kept,
    `nms_iou` (0-1] the IoU above which non-maximum suppression keeps only the better scored of two
    boxes, every `frame_stride`-th frame, `image_size` the inference size in pixels (32-4096; None: the
    model's own). A pydantic dataclass: the graph checks it as it builds it (graph/inputs.py)."""

    score_threshold: float = Field(default=DEFAULT_SCORE_THRESHOLD, ge=0, le=1)
    nms_iou: float = Field(default=DEFAULT_NMS_IOU, gt=0, le=1)
    frame_stride: int = Field(default=1, ge=1)
    class_map: dict[str, str] | None = None
    image_size: int | None = Field(default=None, ge=32, le=4096)


async def check_model(rt: Runtime, name: str, field: str = "model"):
    """The model spec the server may load for `name` (clear errors for anything else). In a thread: the
    first call imports torch and Ultralytics, seconds of work."""
    from domain.detection.models import require_ultralytics, resolve_model

    models_dir = rt.settings.models_dir
    assert models_dir is not None  # the settings' validator sets it

    def check():
        require_ultralytics()
        return resolve_model(name, models_dir, field=field)

    return await asyncio.to_thread(check)


def stored_detector(settings: SessionSettings) -> DetectorSettings:
    """The detector settings a test session stored (the model reads the names saved before the
    renames); a setting never stored is the default."""
    return DetectorSettings(
        score_threshold=(
            settings.score_threshold if settings.score_threshold is not None else DEFAULT_SCORE_THRESHOLD
        ),
        nms_iou=settings.nms_iou if settings.nms_iou is not None else DEFAULT_NMS_IOU,
        frame_stride=settings.frame_stride,
        class_map=settings.class_map,
        image_size=settings.image_size,
    )


async def detect_frames(
    rt: Runtime, spec, path: SourceRef, camera: str, frames: list[int], settings: DetectorSettings
):
    """Yield (frames, BatchResult) for every batch, two batches in flight per worker, in frame order."""
    from domain.detection.inference import detect_batch

    pool = rt.workers()
    loop = asyncio.get_running_loop()
    batches = [frames[i : i + BATCH] for i in range(0, len(frames), BATCH)]
    limit = 2 * rt.worker_count()
    running: list[asyncio.Future] = []
    try:
        for i in range(len(batches)):
            while len(running) < limit and i + len(running) < len(batches):
                batch = batches[i + len(running)]
                running.append(
                    loop.run_in_executor(
                        pool,
                        detect_batch,
                        spec,
                        path,
                        camera,
                        batch,
                        settings.score_threshold,
                        settings.nms_iou,
                        settings.class_map,
                        settings.image_size,
                    )
                )
            result = await running.pop(0)
            yield batches[i], result
    finally:
        for future in running:
            future.cancel()
