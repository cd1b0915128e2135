"""The detector that `detectObjects` and a MODEL test session run: its settings, the check of the
model name, and the run over a camera's frames in the process pool. Shared by `object_detection`
and `test_session_runs`, which therefore need not import each other or `test_sessions`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from domain.core.errors import BadUserInput
from domain.core.runtime import Runtime
from persistence.documents import SessionSettings
from persistence.episode_sources import SourceRef

BATCH = 16


DEFAULT_SCORE_THRESHOLD = 0.25  # Ultralytics' own default `conf` for predict
DEFAULT_NMS_IOU = 0.7  # Ultralytics' own default `iou` for predict


@dataclass(frozen=True)
class DetectorSettings:
    """How a MODEL session runs its detector: `score_threshold` is the lowest score kept, `nms_iou` the
    IoU above which non-maximum suppression keeps only the better scored of two boxes."""

    score_threshold: float = DEFAULT_SCORE_THRESHOLD
    nms_iou: float = DEFAULT_NMS_IOU
    frame_stride: int = 1
    class_map: dict[str, str] | None = None
    image_size: int | None = None


def check_detector(settings: DetectorSettings, field: str) -> DetectorSettings:
    if not (0.0 <= settings.score_threshold <= 1.0):
        raise BadUserInput(
            f"{field}.scoreThreshold must be in [0, 1], got {settings.score_threshold}",
            field=f"{field}.scoreThreshold",
        )
    if not (0.0 < settings.nms_iou <= 1.0):
        raise BadUserInput(
            f"{field}.nmsIou must be in (0, 1], got {settings.nms_iou}", field=f"{field}.nmsIou"
        )
    if settings.frame_stride < 1:
        raise BadUserInput(
            f"{field}.frameStride must be at least 1, got {settings.frame_stride}",
            field=f"{field}.frameStride",
        )
    if settings.image_size is not None and not (32 <= settings.image_size <= 4096):
        raise BadUserInput(
            f"{field}.imageSize must be between 32 and 4096, got {settings.image_size}",
            field=f"{field}.imageSize",
        )
    return settings


async def check_model(rt: Runtime, name: str, field: str = "input.model"):
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
