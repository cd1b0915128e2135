"""The detector that `detectObjects` and a MODEL test session run: its settings, the check of the
model name, and the run over a camera's frames in the process pool. Shared by `object_detection`
and `test_session_runs`, which therefore need not import each other or `test_sessions`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from domain.errors import BadUserInput
from domain.runtime import Runtime

BATCH = 16


@dataclass(frozen=True)
class DetectorSettings:
    """How a MODEL session runs its detector."""

    confidence: float = 0.25
    iou: float = 0.7
    frame_stride: int = 1
    class_map: dict[str, str] | None = None
    image_size: int | None = None


def check_detector(settings: DetectorSettings, field: str) -> DetectorSettings:
    if not (0.0 <= settings.confidence <= 1.0):
        raise BadUserInput(
            f"{field}.confidence must be in [0, 1], got {settings.confidence}", field=f"{field}.confidence"
        )
    if not (0.0 < settings.iou <= 1.0):
        raise BadUserInput(f"{field}.iou must be in (0, 1], got {settings.iou}", field=f"{field}.iou")
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

    def check():
        require_ultralytics()
        return resolve_model(name, rt.settings.models_dir, field=field)

    return await asyncio.to_thread(check)


async def detect_frames(rt: Runtime, spec, path: str, camera: str, frames: list[int], settings: dict):
    """Yield (frames, BatchResult) for every batch, two batches in flight per worker, in frame order."""
    from domain.detection.inference import detect_batch

    pool = rt.workers()
    loop = asyncio.get_running_loop()
    batches = [frames[i : i + BATCH] for i in range(0, len(frames), BATCH)]
    limit = 2 * (pool._max_workers or 1)
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
                        settings["confidence"],
                        settings["iou"],
                        settings.get("classMap"),
                        settings.get("imageSize"),
                    )
                )
            result = await running.pop(0)
            yield batches[i], result
    finally:
        for future in running:
            future.cancel()
