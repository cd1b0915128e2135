"""The training edits saved on an episode (episode_edit.edits), as domain.edits.EpisodeEdits stores them:
checked against the episode, every key written (`trim`, `crop` and `resize` null when absent). Frames
are source indexes, ranges and the trim inclusive; pixels of the source image."""

from __future__ import annotations

from pydantic import Field

from persistence.documents.base import Document


class StoredCrop(Document):
    """A rectangle of the source image: left, top, width, height."""

    x: int
    y: int
    width: int
    height: int


class StoredResize(Document):
    """A new size and Pillow's resampling filter, by its name (NEAREST, BILINEAR, ...)."""

    width: int
    height: int
    filter: str = "BILINEAR"


class StoredCameraEdit(Document):
    """One camera's transforms: crop, resize, rotate (degrees counter-clockwise), then the colour
    factors (1.0 leaves the image as it is)."""

    crop: StoredCrop | None = None
    resize: StoredResize | None = None
    brightness: float = 1.0
    contrast: float = 1.0
    saturation: float = 1.0
    rotate: int = 0


class FrameSpan(Document):
    """The first and last frames kept by a trim, stored as {"from", "to"}."""

    first: int = Field(alias="from")
    last: int = Field(alias="to")


class StoredEdits(Document):
    """Frames removed one by one and by inclusive [first, last] ranges, the trim, per-camera transforms."""

    removed_frames: list[int] = []
    removed_ranges: list[tuple[int, int]] = []
    trim: FrameSpan | None = None
    cameras: dict[str, StoredCameraEdit] = {}
