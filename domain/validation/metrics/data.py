"""What an evaluation takes: ground-truth boxes and detections as columns of numpy arrays.

One row per box. `image` is an index of a frame (episode, camera, frame) that the caller numbers;
`label` is a label id; `boxes` are x, y, width, height in pixels (COCO's xywh). Arrays are copied into
contiguous int64 / float64 so the computation never sees a view the caller might change.

Ground truth may be ignored, as VOC ignores `difficult` objects and COCO `iscrowd` regions: a detection
matched to an ignored box is neither a true nor a false positive, and an ignored box nobody found is
not a miss. `crowd` boxes are ignored and, as COCO's crowd regions, measured by intersection over the
detection's area instead of IoU (one region covers many objects).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _column(values: object, dtype: type) -> np.ndarray:
    array: np.ndarray = np.array(values, dtype=dtype, copy=True).reshape(-1)
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
    """Ground-truth boxes: row i is box `boxes[i]` of label `label[i]` on frame `image[i]`; `ignore[i]`
    (VOC's difficult) and `crowd[i]` (COCO's iscrowd, ignored too) default to False."""

    image: np.ndarray  # (n,) int64
    label: np.ndarray  # (n,) int64
    boxes: np.ndarray  # (n, 4) float64, x, y, width, height in pixels
    ignore: np.ndarray | None = None  # (n,) bool, after __post_init__ always an array (crowd included)
    crowd: np.ndarray | None = None  # (n,) bool

    def __post_init__(self) -> None:
        image = _column(self.image, np.int64)
        object.__setattr__(self, "image", image)
        object.__setattr__(self, "label", _column(self.label, np.int64))
        object.__setattr__(self, "boxes", _boxes(self.boxes, len(image)))
        crowd = _column(np.zeros(len(image)) if self.crowd is None else self.crowd, bool)
        ignore = _column(np.zeros(len(image)) if self.ignore is None else self.ignore, bool)
        for name, column in (("label", self.label), ("ignore", ignore), ("crowd", crowd)):
            if len(column) != len(image):
                raise ValueError(f"{name} has {len(column)} rows, image has {len(image)}")
        ignore = ignore | crowd
        ignore.flags.writeable = False
        object.__setattr__(self, "crowd", crowd)
        object.__setattr__(self, "ignore", ignore)

    def __len__(self) -> int:
        return len(self.image)

    @classmethod
    def empty(cls) -> GroundTruth:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 4)))


@dataclass(frozen=True, eq=False)
class Detections:
    """A detector's boxes with their `scores` (higher is surer); rows as in GroundTruth."""

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
