"""Ultralytics `Results` to plain detections: label names, boxes in pixels (top-left + size), scores
(Ultralytics' `conf`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

# Key of `dropped` for boxes that have no area once clipped to the image. The parentheses keep it apart
# from Ultralytics class names, which are the other keys.
EMPTY_BOX = "(empty box)"


@dataclass(frozen=True)
class Detection:
    label: str  # the annograph label name (the mapped class, or the Ultralytics name when there is no map)
    x: float  # pixels, top-left corner, clipped to the image
    y: float
    width: float
    height: float
    score: float  # 0-1, Ultralytics' `conf`
    class_name: str  # Ultralytics' class name, from `result.names`


def _numpy(values: Any) -> np.ndarray:
    # Boxes come as torch tensors (possibly on a GPU) or numpy arrays; this keeps torch out of the imports.
    if hasattr(values, "cpu"):
        values = values.cpu().numpy()
    return np.asarray(values, dtype=np.float64)


def results_to_detections(
    result: Any, class_map: Mapping[str, str] | None = None, *, min_score: float = 0.0
) -> tuple[list[Detection], dict[str, int]]:
    """The detections of one image, and how many boxes were dropped, per Ultralytics class name.

    With `class_map` (Ultralytics class name -> label name), classes missing from it are dropped and
    counted under their class name; without one (None), the Ultralytics name is the label. Boxes with no
    area after clipping are counted under EMPTY_BOX, those scored under `min_score` are left out silently.
    """
    dropped: dict[str, int] = {}
    boxes = result.boxes
    if boxes is None or len(boxes) == 0:
        return [], dropped
    height, width = result.orig_shape[:2]
    xyxy = _numpy(boxes.xyxy).reshape(-1, 4)
    scores = _numpy(boxes.conf).reshape(-1)
    classes = _numpy(boxes.cls).reshape(-1).astype(np.int64)
    x1 = np.clip(xyxy[:, 0], 0, width)
    y1 = np.clip(xyxy[:, 1], 0, height)
    x2 = np.clip(xyxy[:, 2], 0, width)
    y2 = np.clip(xyxy[:, 3], 0, height)
    names = result.names
    detections = []
    for i in range(len(xyxy)):
        score = float(scores[i])
        if not score >= min_score:
            continue
        class_name = str(names.get(int(classes[i]), int(classes[i])))
        if class_map is None:
            label = class_name
        elif class_name in class_map:
            label = class_map[class_name]
        else:
            dropped[class_name] = dropped.get(class_name, 0) + 1
            continue
        box_width, box_height = float(x2[i] - x1[i]), float(y2[i] - y1[i])
        # `not >` also catches NaN coordinates.
        if not (box_width > 0 and box_height > 0):
            dropped[EMPTY_BOX] = dropped.get(EMPTY_BOX, 0) + 1
            continue
        detections.append(
            Detection(
                label=label,
                x=float(x1[i]),
                y=float(y1[i]),
                width=box_width,
                height=box_height,
                score=score,
                class_name=class_name,
            )
        )
    return detections, dropped
