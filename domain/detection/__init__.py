"""Object detection for `detectObjects`: which models may load, running them on episode frames in a worker,
and turning Ultralytics results into plain detections.

Importing this package is cheap and works without Ultralytics: torch and ultralytics are imported inside
the functions that need them.
"""

from domain.detection.conversion import EMPTY_BOX, Detection, results_to_detections
from domain.detection.errors import DetectionInputError, DetectorUnavailable, ModelLoadError
from domain.detection.inference import BatchResult, FrameDetections, clear_model_cache, detect_batch
from domain.detection.models import (
    INSTALL_HINT,
    ModelSpec,
    load_model,
    require_ultralytics,
    resolve_model,
    ultralytics_available,
)

__all__ = [
    "EMPTY_BOX",
    "INSTALL_HINT",
    "BatchResult",
    "Detection",
    "DetectionInputError",
    "DetectorUnavailable",
    "FrameDetections",
    "ModelLoadError",
    "ModelSpec",
    "clear_model_cache",
    "detect_batch",
    "load_model",
    "require_ultralytics",
    "resolve_model",
    "results_to_detections",
    "ultralytics_available",
]
