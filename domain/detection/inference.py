"""What a detection worker does for one batch: read frames from an episode file, run the model once, convert.

Runs in a spawned process of the job pool (or a worker thread), never on the event loop. It opens the
HDF5 file itself (h5py handles do not cross processes) and returns plain, picklable dataclasses. Loaded
models stay in a small per-process cache, so consecutive batches of a job do not reload them.
"""

from __future__ import annotations

import operator
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from domain.core.errors import BadUserInput
from domain.detection.conversion import Detection, results_to_detections
from domain.detection.errors import DetectionInputError
from domain.detection.models import ModelSpec, load_model
from persistence.episode_sources import FrameRequestError, SourceRef
from persistence.episode_sources.readers import process_readers

# Models kept per process: enough for a job and the next one, bounded because each holds its weights.
MODEL_CACHE_SIZE = 2
_models: OrderedDict[ModelSpec, Any] = OrderedDict()
# One batch at a time per process: a YOLO object (its predictor) is not safe to share between threads.
_lock = threading.Lock()


@dataclass(frozen=True)
class FrameDetections:
    frame: int
    detections: tuple[Detection, ...]


@dataclass(frozen=True)
class BatchResult:
    camera: str
    width: int  # pixels of the camera's frames
    height: int
    frames: tuple[FrameDetections, ...]  # one per requested frame, in the requested order
    dropped: dict[str, int] = field(default_factory=dict)  # per Ultralytics class name, and EMPTY_BOX
    inference_seconds: float = 0.0  # the predict call alone (preprocess, forward, NMS) for the whole batch
    load_seconds: float = 0.0  # loading the model; 0.0 when it came from this process's cache

    @property
    def detections(self) -> tuple[tuple[Detection, ...], ...]:
        """The detections of each requested frame, in the requested order."""
        return tuple(f.detections for f in self.frames)


def clear_model_cache() -> None:
    with _lock:
        _models.clear()


def _cached_model(spec: ModelSpec) -> tuple[Any, float]:
    if spec in _models:
        _models.move_to_end(spec)
        return _models[spec], 0.0
    started = time.perf_counter()
    model = load_model(spec)
    _models[spec] = model
    while len(_models) > MODEL_CACHE_SIZE:
        _models.popitem(last=False)
    return model, time.perf_counter() - started


def read_frames(source: SourceRef, camera: str, frames: Sequence[int]) -> list[np.ndarray]:
    """The RGB frames (H × W × 3 uint8) of `camera`, in the order asked; a clear error for what is missing."""
    try:
        return process_readers().read_frames(source, camera, frames)
    except FrameRequestError as exc:
        raise DetectionInputError(str(exc), field=exc.what) from None


def detect_batch(
    model: ModelSpec,
    path: SourceRef,
    camera: str,
    frames: list[int],
    score_threshold: float,
    nms_iou: float,
    class_map: Mapping[str, str] | None,
    image_size: int | None = None,
) -> BatchResult:
    """Detections on `frames` of `camera` in the episode file at `path`, from one batched predict call.

    Detections scored under `score_threshold` are left out; `nms_iou` is the IoU above which the
    detector's non-maximum suppression keeps only the better of two boxes (Ultralytics' `conf`, `iou`).

    `class_map` maps Ultralytics class names to label names (None: keep Ultralytics' names); `image_size`
    is the inference size Ultralytics letterboxes to (None: the model's own, 640 for the shipped ones).
    """
    frames = [operator.index(f) for f in frames]
    if len(set(frames)) != len(frames):
        raise DetectionInputError("frames must not repeat", field="frames")
    for value, name in ((score_threshold, "score_threshold"), (nms_iou, "nms_iou")):
        if not 0.0 <= value <= 1.0:
            raise BadUserInput(f"{name} must be between 0 and 1, not {value}", field=name)
    if image_size is not None and not 32 <= image_size <= 4096:
        raise BadUserInput(f"image_size must be between 32 and 4096, not {image_size}", field="image_size")

    images = read_frames(path, camera, frames)
    height, width = (images[0].shape[:2]) if images else (0, 0)
    if not images:
        return BatchResult(camera=camera, width=width, height=height, frames=())
    # Ultralytics takes numpy images as OpenCV does, BGR; the episode stores RGB.
    bgr = [np.ascontiguousarray(image[..., ::-1]) for image in images]
    options: dict[str, Any] = {"conf": score_threshold, "iou": nms_iou, "verbose": False}
    if image_size is not None:
        options["imgsz"] = image_size

    with _lock:
        yolo, load_seconds = _cached_model(model)
        started = time.perf_counter()
        results = yolo.predict(bgr, **options)
        inference_seconds = time.perf_counter() - started

    if len(results) != len(frames):
        raise RuntimeError(f"the model returned {len(results)} results for {len(frames)} frames")
    dropped: dict[str, int] = {}
    per_frame = []
    for frame, result in zip(frames, results, strict=True):
        detections, dropped_here = results_to_detections(result, class_map, min_score=score_threshold)
        for key, count in dropped_here.items():
            dropped[key] = dropped.get(key, 0) + count
        per_frame.append(FrameDetections(frame=frame, detections=tuple(detections)))
    return BatchResult(
        camera=camera,
        width=width,
        height=height,
        frames=tuple(per_frame),
        dropped=dropped,
        inference_seconds=inference_seconds,
        load_seconds=load_seconds,
    )
