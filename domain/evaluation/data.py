"""What an evaluation takes: ground-truth boxes and detections as columns of numpy arrays.

One row per box. `image` is an index of a frame (episode, camera, frame) that the caller numbers;
`label` is a label id; `boxes` are x, y, width, height in pixels (COCO's xywh). Arrays are copied into
contiguous int64 / float64 so the computation never sees a view the caller might change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _column(values: object, dtype: type) -> np.ndarray:
    array = np.array(values, dtype=dtype, copy=True).reshape(-1)
    array.flags.writeable = False
    return array


def _boxes(values: object, rows: int) -> np.ndarray:
    boxes = np.array(values, dtype=np.float64, copy=True).reshape(-1, 4)
    if len(boxes) != rows:
        raise ValueError(f"boxes has {len(boxes)} rows, image has {rows}")
    if not np.isfinite(boxes).all():
        raise ValueError("boxes must be finite")
    boxes.flags.writeable = False
    return boxes


@dataclass(frozen=True, eq=False)
class GroundTruth:
    """Ground-truth boxes: row i is box `boxes[i]` of label `label[i]` on frame `image[i]`."""

    image: np.ndarray  # (n,) int64
    label: np.ndarray  # (n,) int64
    boxes: np.ndarray  # (n, 4) float64, x, y, width, height in pixels

    def __post_init__(self) -> None:
        image = _column(self.image, np.int64)
        object.__setattr__(self, "image", image)
        object.__setattr__(self, "label", _column(self.label, np.int64))
        object.__setattr__(self, "boxes", _boxes(self.boxes, len(image)))
        if len(self.label) != len(image):
            raise ValueError(f"label has {len(self.label)} rows, image has {len(image)}")

    def __len__(self) -> int:
        return len(self.image)

    @classmethod
    def empty(cls) -> GroundTruth:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 4)))


@dataclass(frozen=True, eq=False)
class Detections:
    """A detector's boxes with their confidence `scores` (higher is surer); rows as in GroundTruth."""

    image: np.ndarray  # (n,) int64
    label: np.ndarray  # (n,) int64
    boxes: np.ndarray  # (n, 4) float64, x, y, width, height in pixels
    scores: np.ndarray  # (n,) float64

    def __post_init__(self) -> None:
        image = _column(self.image, np.int64)
        object.__setattr__(self, "image", image)
        object.__setattr__(self, "label", _column(self.label, np.int64))
        object.__setattr__(self, "boxes", _boxes(self.boxes, len(image)))
        object.__setattr__(self, "scores", _column(self.scores, np.float64))
        for name in ("label", "scores"):
            if len(getattr(self, name)) != len(image):
                raise ValueError(f"{name} has {len(getattr(self, name))} rows, image has {len(image)}")
        if not np.isfinite(self.scores).all():
            raise ValueError("scores must be finite")

    def __len__(self) -> int:
        return len(self.image)

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0))
