"""Pure computation: what a box may hold, and the checks on a submitted one."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

from domain.core.errors import BadUserInput, inside

NOTES_MAX = 10_000
TRACK_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,100}$")


class Source(StrEnum):
    MANUAL = "MANUAL"
    MODEL = "MODEL"
    IMPORTED = "IMPORTED"
    INTERPOLATED = "INTERPOLATED"


class Review(StrEnum):
    PENDING = "PENDING"
    VALIDATED = "VALIDATED"
    REJECTED = "REJECTED"


@dataclass(frozen=True)
class BoxDraft:
    """A box as a client sends it; `label` is a name in the dataset's label set."""

    episode_id: int
    camera: str
    frame: int
    x: float
    y: float
    width: float
    height: float
    label: str
    track_id: str | None = None
    occluded: bool = False
    truncated: bool = False
    difficult: bool = False
    outside: bool = False
    notes: str | None = None
    source: Source = Source.MANUAL
    score: float | None = None  # a detector's score, 0-1
    keyframe: bool = True


@dataclass(frozen=True)
class BoxChanges:
    """An edit of a stored box: each field given replaces the box's, each None leaves it as it is
    (so an edit cannot clear notes or a score). `label` is a name in the dataset's label set; x, y,
    width and height are pixels."""

    camera: str | None = None
    frame: int | None = None
    x: float | None = None
    y: float | None = None
    width: float | None = None
    height: float | None = None
    label: str | None = None
    track_id: str | None = None
    occluded: bool | None = None
    truncated: bool | None = None
    difficult: bool | None = None
    outside: bool | None = None
    notes: str | None = None
    score: float | None = None  # a detector's score, 0-1
    keyframe: bool | None = None

    def given(self) -> dict[str, Any]:
        """The fields to change, by name."""
        return {f.name: value for f in fields(self) if (value := getattr(self, f.name)) is not None}


def generated_track_id(label: str, number: int) -> str:
    return f"DET_{label.upper()}_{number:04d}"


def camera_shape(cameras: dict, camera: str) -> tuple[int, int, int] | None:
    """(frames, height, width) of a camera of an episode row's `cameras`, or None."""
    shape = cameras.get(camera)
    return (int(shape[0]), int(shape[1]), int(shape[2])) if shape else None


def check_geometry(
    x: float, y: float, width: float, height: float, image: tuple[int, int], path: str
) -> None:
    """The box lies inside the image (width, height) and has an area; errors name `path`.x etc."""
    image_width, image_height = image
    for name, value in (("x", x), ("y", y), ("width", width), ("height", height)):
        if not math.isfinite(value):
            raise BadUserInput(f"{inside(path, name)} must be a finite number", field=inside(path, name))
    if width <= 0:
        where = inside(path, "width")
        raise BadUserInput(f"{where} must be > 0 (a box needs an area), got {width:g}", field=where)
    if height <= 0:
        where = inside(path, "height")
        raise BadUserInput(f"{where} must be > 0 (a box needs an area), got {height:g}", field=where)
    if x < 0 or x + width > image_width:
        where = inside(path, "x")
        raise BadUserInput(
            f"{where}: the box spans x {x:g}..{x + width:g}, outside the image (0..{image_width})",
            field=where,
        )
    if y < 0 or y + height > image_height:
        where = inside(path, "y")
        raise BadUserInput(
            f"{where}: the box spans y {y:g}..{y + height:g}, outside the image (0..{image_height})",
            field=where,
        )


def check_place(cameras: dict, camera: str, frame: int, path: str) -> tuple[int, int, int]:
    shape = camera_shape(cameras, camera)
    if shape is None:
        names = ", ".join(sorted(cameras)) or "none"
        where = inside(path, "camera")
        raise BadUserInput(f"{where}: no camera {camera!r} in this episode ({names})", field=where)
    if not 0 <= frame < shape[0]:
        where = inside(path, "frame")
        raise BadUserInput(f"{where} must be between 0 and {shape[0] - 1}, got {frame}", field=where)
    return shape


def check_details(*, track_id: str | None, notes: str | None, score: float | None, path: str) -> None:
    if track_id is not None and not TRACK_ID.match(track_id):
        where = inside(path, "track_id")
        raise BadUserInput(f"{where} must be 1-100 letters, digits or _ . : -, got {track_id!r}", field=where)
    if notes is not None:
        where = inside(path, "notes")
        if len(notes) > NOTES_MAX:
            raise BadUserInput(f"{where} may have at most {NOTES_MAX} characters", field=where)
        if "\x00" in notes:
            raise BadUserInput(f"{where} must not contain NUL characters", field=where)
    if score is not None and not (math.isfinite(score) and 0 <= score <= 1):
        where = inside(path, "score")
        raise BadUserInput(f"{where} must be between 0 and 1, got {score}", field=where)


def check_draft(draft: BoxDraft, cameras: dict, labels: dict[str, int], path: str) -> int:
    """Check one box against its episode's cameras and the label set; returns the label id."""
    shape = check_place(cameras, draft.camera, draft.frame, path)
    check_geometry(draft.x, draft.y, draft.width, draft.height, (shape[2], shape[1]), path)
    check_details(track_id=draft.track_id, notes=draft.notes, score=draft.score, path=path)
    label_id = labels.get(draft.label)
    if label_id is None:
        names = ", ".join(sorted(labels)) or "none: create labels first"
        where = inside(path, "label")
        raise BadUserInput(f"{where}: {draft.label!r} is not in the label set ({names})", field=where)
    return label_id
