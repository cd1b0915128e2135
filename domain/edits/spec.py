"""The training edits of one episode as frozen dataclasses, their JSON form, and their validation
against the episode's shape. Pure: no I/O.

JSON (`EpisodeEdits.to_json`: the form of persistence.documents.StoredEdits, what episode_edit.edits
holds, `stored`), camelCase:

    {"removedFrames": [3, 7], "removedRanges": [[10, 19]], "trim": {"from": 2, "to": 580},
     "cameras": {"front": {"crop": {"x": 0, "y": 0, "width": 320, "height": 200},
                           "resize": {"width": 224, "height": 224, "filter": "BILINEAR"},
                           "brightness": 1.0, "contrast": 1.0, "saturation": 1.0, "rotate": 0}}}

Ranges and trim are inclusive. `to_json` always writes every key (`trim`, `crop` and `resize` as null
when absent); `from_json` reads a client's JSON: it accepts any subset, and `trim` also as a two-item
list `[from, to]`. A trim may leave out either end (`from` 0, `to` the last frame); `validate_edits`
fills it in. Saved edits read back with `from_stored`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, cast

from domain.core.errors import BadUserInput
from domain.edits.frames import kept_frames
from persistence.documents import FrameSpan, StoredCameraEdit, StoredCrop, StoredEdits, StoredResize

MAX_SIDE = 8192
MAX_FACTOR = 10.0
ROTATIONS = (0, 90, 180, 270)


class ResizeFilter(StrEnum):
    """Pillow's resampling filters, by the names of `PIL.Image.Resampling`."""

    NEAREST = "NEAREST"
    BILINEAR = "BILINEAR"
    BICUBIC = "BICUBIC"
    LANCZOS = "LANCZOS"
    BOX = "BOX"
    HAMMING = "HAMMING"


@dataclass(frozen=True)
class Crop:
    """A rectangle of the source image in pixels: left, top, width, height."""

    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class Resize:
    width: int
    height: int
    filter: ResizeFilter = ResizeFilter.BILINEAR


@dataclass(frozen=True)
class CameraEdit:
    """Applied in this order: crop, resize, rotate (degrees counter-clockwise, as PIL's
    `Image.rotate` and `Transpose.ROTATE_90`), then brightness, contrast and saturation factors
    (1.0 leaves the image as it is, as in `PIL.ImageEnhance`)."""

    crop: Crop | None = None
    resize: Resize | None = None
    brightness: float = 1.0
    contrast: float = 1.0
    saturation: float = 1.0
    rotate: int = 0

    @property
    def is_identity(self) -> bool:
        return (
            self.crop is None
            and self.resize is None
            and self.rotate == 0
            and self.brightness == 1.0
            and self.contrast == 1.0
            and self.saturation == 1.0
        )

    def stored(self) -> StoredCameraEdit:
        crop, resize = self.crop, self.resize
        return StoredCameraEdit(
            crop=None
            if crop is None
            else StoredCrop(x=crop.x, y=crop.y, width=crop.width, height=crop.height),
            resize=None
            if resize is None
            else StoredResize(width=resize.width, height=resize.height, filter=str(resize.filter)),
            brightness=self.brightness,
            contrast=self.contrast,
            saturation=self.saturation,
            rotate=self.rotate,
        )

    @classmethod
    def from_stored(cls, saved: StoredCameraEdit) -> CameraEdit:
        crop, resize = saved.crop, saved.resize
        return cls(
            crop=None if crop is None else Crop(crop.x, crop.y, crop.width, crop.height),
            resize=None
            if resize is None
            else Resize(resize.width, resize.height, ResizeFilter(resize.filter)),
            brightness=saved.brightness,
            contrast=saved.contrast,
            saturation=saved.saturation,
            rotate=saved.rotate,
        )


@dataclass(frozen=True)
class EpisodeEdits:
    """Frames are source indices; `removed_ranges` and `trim` are inclusive (first, last)."""

    removed_frames: tuple[int, ...] = ()
    removed_ranges: tuple[tuple[int, int], ...] = ()
    trim: tuple[int, int] | None = None
    cameras: dict[str, CameraEdit] = field(default_factory=dict)

    def stored(self) -> StoredEdits:
        """As episode_edit.edits holds them: every key given (a trim's ends filled by `validate_edits`)."""
        return StoredEdits(
            removed_frames=list(self.removed_frames),
            removed_ranges=list(self.removed_ranges),
            trim=None if self.trim is None else FrameSpan(first=self.trim[0], last=self.trim[1]),
            cameras={name: edit.stored() for name, edit in self.cameras.items()},
        )

    @classmethod
    def from_stored(cls, saved: StoredEdits) -> EpisodeEdits:
        """Edits as episode_edit.edits holds them (checked against the episode when they were saved)."""
        return cls(
            removed_frames=tuple(saved.removed_frames),
            removed_ranges=tuple(saved.removed_ranges),
            trim=None if saved.trim is None else (saved.trim.first, saved.trim.last),
            cameras={name: CameraEdit.from_stored(edit) for name, edit in saved.cameras.items()},
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON form (the stored one): an export's job parameters, info.json and HDF5 attributes."""
        return self.stored().stored()

    @classmethod
    def from_json(cls, data: Any, field: str = "edits") -> EpisodeEdits:
        """Parse the JSON form; a wrong type or an unknown key raises BadUserInput naming its path.
        Values are checked against an episode by `validate_edits`."""
        data = _object(data, field, {"removedFrames", "removedRanges", "trim", "cameras"})
        frames = _list(data.get("removedFrames"), f"{field}.removedFrames")
        ranges = _list(data.get("removedRanges"), f"{field}.removedRanges")
        cameras = data.get("cameras")
        cameras = {} if cameras is None else cameras
        if not isinstance(cameras, dict):
            raise BadUserInput(f"{field}.cameras must be an object", field=f"{field}.cameras")
        return cls(
            removed_frames=tuple(_int(v, f"{field}.removedFrames[{i}]") for i, v in enumerate(frames)),
            removed_ranges=tuple(_pair(v, f"{field}.removedRanges[{i}]") for i, v in enumerate(ranges)),
            # An open end stays None until `validate_edits` fills it from the episode's length.
            trim=None if data.get("trim") is None else _pair(data["trim"], f"{field}.trim", open_ends=True),
            cameras={
                str(name): _camera_from_json(value, f"{field}.cameras.{name}")
                for name, value in cameras.items()
            },
        )


@dataclass(frozen=True)
class EpisodeShape:
    """What edits are checked against: the frame count and camera -> (height, width)."""

    length: int
    cameras: dict[str, tuple[int, int]]


def validate_edits(edits: EpisodeEdits, shape: EpisodeShape, field: str = "edits") -> EpisodeEdits:
    """Check `edits` against an episode; return them with removed frames sorted and deduplicated and
    ranges sorted. Raise BadUserInput whose `field` is the exact path at fault."""
    length = shape.length
    for i, frame in enumerate(edits.removed_frames):
        _check_frame(frame, length, f"{field}.removedFrames[{i}]")
    for i, pair in enumerate(edits.removed_ranges):
        _check_range(pair, length, f"{field}.removedRanges[{i}]")
    trim = edits.trim
    if trim is not None:
        trim = (0 if trim[0] is None else trim[0], length - 1 if trim[1] is None else trim[1])
        _check_range(trim, length, f"{field}.trim")
    for name, edit in edits.cameras.items():
        path = f"{field}.cameras.{name}"
        if name not in shape.cameras:
            known = ", ".join(sorted(shape.cameras)) or "none"
            raise BadUserInput(f"the episode has no camera {name!r} (cameras: {known})", field=path)
        _check_camera(edit, shape.cameras[name], path)
    normal = EpisodeEdits(
        removed_frames=tuple(sorted(set(edits.removed_frames))),
        removed_ranges=tuple(sorted({(a, b) for a, b in edits.removed_ranges})),
        trim=None if trim is None else (trim[0], trim[1]),
        cameras={name: _normal_camera(edit) for name, edit in edits.cameras.items()},
    )
    if len(kept_frames(normal, length)) == 0:
        raise BadUserInput(f"the edits remove all {length} frames of the episode", field=field)
    return normal


def _normal_camera(edit: CameraEdit) -> CameraEdit:
    resize = edit.resize
    if resize is not None:
        resize = replace(resize, filter=ResizeFilter(resize.filter))
    return replace(
        edit,
        resize=resize,
        brightness=float(edit.brightness),
        contrast=float(edit.contrast),
        saturation=float(edit.saturation),
    )


def _check_frame(frame: int, length: int, path: str) -> None:
    if not _is_int(frame):
        raise BadUserInput(f"{path} must be an integer", field=path)
    if not 0 <= frame < length:
        raise BadUserInput(
            f"frame {frame} does not exist (the episode has frames 0..{length - 1})", field=path
        )


def _check_range(pair: tuple[int, int], length: int, path: str) -> None:
    if not (isinstance(pair, tuple | list) and len(pair) == 2 and all(_is_int(v) for v in pair)):
        raise BadUserInput(f"{path} must be two frame numbers (first, last)", field=path)
    first, last = pair
    if not 0 <= first <= last < length:
        raise BadUserInput(
            f"{path} {first}..{last} must satisfy 0 <= first <= last <= {length - 1}", field=path
        )


def _check_camera(edit: CameraEdit, size: tuple[int, int], path: str) -> None:
    height, width = size
    crop = edit.crop
    if crop is not None:
        if not all(_is_int(v) for v in (crop.x, crop.y, crop.width, crop.height)):
            raise BadUserInput(f"{path}.crop needs integer x, y, width and height", field=f"{path}.crop")
        if crop.width < 1 or crop.height < 1:
            raise BadUserInput(
                f"crop {crop.width}x{crop.height} must be at least 1 x 1 pixel", field=f"{path}.crop"
            )
        if crop.x < 0 or crop.y < 0 or crop.x + crop.width > width or crop.y + crop.height > height:
            raise BadUserInput(
                f"crop {crop.x},{crop.y} {crop.width}x{crop.height} leaves the {width} x {height} image",
                field=f"{path}.crop",
            )
    if edit.resize is not None:
        for name in ("width", "height"):
            value = getattr(edit.resize, name)
            if not _is_int(value) or not 1 <= value <= MAX_SIDE:
                raise BadUserInput(
                    f"resize {name} must be between 1 and {MAX_SIDE}, got {value}",
                    field=f"{path}.resize.{name}",
                )
        if edit.resize.filter not in ResizeFilter.__members__:
            raise BadUserInput(
                f"resize filter must be one of {', '.join(ResizeFilter)}, got {edit.resize.filter!r}",
                field=f"{path}.resize.filter",
            )
    for name in ("brightness", "contrast", "saturation"):
        value = getattr(edit, name)
        if not _is_number(value) or not math.isfinite(value) or not 0 < value <= MAX_FACTOR:
            raise BadUserInput(
                f"{name} must be > 0 and <= {MAX_FACTOR:g} (1 leaves the image as it is), got {value}",
                field=f"{path}.{name}",
            )
    if not _is_int(edit.rotate) or edit.rotate not in ROTATIONS:
        raise BadUserInput(
            f"rotate must be 0, 90, 180 or 270 degrees, got {edit.rotate}", field=f"{path}.rotate"
        )


def _camera_from_json(data: Any, path: str) -> CameraEdit:
    data = _object(data, path, {"crop", "resize", "brightness", "contrast", "saturation", "rotate"})
    crop = resize = None
    if data.get("crop") is not None:
        c = _object(data["crop"], f"{path}.crop", {"x", "y", "width", "height"})
        crop = Crop(*(_int(c.get(k), f"{path}.crop.{k}") for k in ("x", "y", "width", "height")))
    if data.get("resize") is not None:
        r = _object(data["resize"], f"{path}.resize", {"width", "height", "filter"})
        name = r.get("filter", "BILINEAR")
        if name not in ResizeFilter.__members__:
            raise BadUserInput(
                f"resize filter must be one of {', '.join(ResizeFilter)}, got {name!r}",
                field=f"{path}.resize.filter",
            )
        resize = Resize(
            _int(r.get("width"), f"{path}.resize.width"),
            _int(r.get("height"), f"{path}.resize.height"),
            ResizeFilter(name),
        )
    return CameraEdit(
        crop=crop,
        resize=resize,
        brightness=_number(data.get("brightness", 1.0), f"{path}.brightness"),
        contrast=_number(data.get("contrast", 1.0), f"{path}.contrast"),
        saturation=_number(data.get("saturation", 1.0), f"{path}.saturation"),
        rotate=_int(data.get("rotate", 0), f"{path}.rotate"),
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _int(value: Any, path: str) -> int:
    if not _is_int(value):
        raise BadUserInput(f"{path} must be an integer", field=path)
    return value


def _number(value: Any, path: str) -> float:
    if not _is_number(value):
        raise BadUserInput(f"{path} must be a number", field=path)
    return float(value)


def _list(value: Any, path: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadUserInput(f"{path} must be a list", field=path)
    return value


def _object(value: Any, path: str, keys: set[str]) -> dict:
    if not isinstance(value, dict):
        raise BadUserInput(f"{path} must be an object", field=path)
    unknown = sorted(set(value) - keys)
    if unknown:
        raise BadUserInput(f"{path} has unknown key {unknown[0]!r}", field=f"{path}.{unknown[0]}")
    return value


def _pair(value: Any, path: str, *, open_ends: bool = False) -> tuple[int, int]:
    """Two frame numbers; with `open_ends` either may be None (a trim's default ends), which the
    return type does not say: EpisodeEdits.trim holds such a pair until `validate_edits`."""
    if isinstance(value, dict):
        value = _object(value, path, {"from", "to"})
        value = [value.get("from"), value.get("to")]
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise BadUserInput(f"{path} must be {{from, to}} or [from, to]", field=path)
    if open_ends and value[0] is None and value[1] is None:
        raise BadUserInput(f"{path} needs from, to or both", field=path)
    first, last = (None if open_ends and v is None else _int(v, path) for v in value)
    return cast(tuple[int, int], (first, last))
