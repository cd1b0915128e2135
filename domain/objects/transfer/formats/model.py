"""The neutral form every annotation format is written from and read into.

Boxes are in pixels with the origin at the top-left corner of the image and continuous
coordinates: pixel column i spans [i, i + 1), so a box covering columns 3..7 has x = 3,
width = 5. Each format module converts between this form and its own convention.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from operator import attrgetter


class ExportFormat(StrEnum):
    COCO = "COCO"
    YOLO = "YOLO"
    VOC = "VOC"
    ANNOGRAPH = "ANNOGRAPH"
    CVAT = "CVAT"  # CVAT for video 1.1 XML (tracks); CVAT for images 1.1 reads too
    MOT = "MOT"  # MOT 1.1 (gt/gt.txt) as CVAT and datumaro write it


@dataclass(frozen=True)
class LabelEntry:
    name: str
    color: str = "#808080"  # "#rrggbb"
    parent: str | None = None  # the parent label's name


@dataclass(frozen=True)
class ImageEntry:
    file_name: str  # image_file_name(episode_index, camera, frame)
    episode_index: int
    camera: str
    frame: int
    width: int
    height: int


@dataclass(frozen=True)
class BoxEntry:
    file_name: str  # the ImageEntry it lies on
    label: str
    x: float
    y: float
    width: float
    height: float
    track_id: str | None = None
    occluded: bool = False
    truncated: bool = False
    difficult: bool = False
    outside: bool = False  # the track has left the view from this keyframe on
    source: str = "IMPORTED"  # MANUAL | MODEL | IMPORTED | INTERPOLATED; IMPORTED when a format has none
    score: float | None = None  # a detector's score, 0-1
    keyframe: bool = True
    notes: str | None = None
    review: str = "PENDING"  # PENDING | VALIDATED | REJECTED
    reviewed_by: str | None = None  # user name
    reviewed_at: str | None = None  # ISO 8601
    reject_reason: str | None = None
    # COCO's iscrowd: a region of many objects; evaluation ignores detections on it (COCOeval's rule).
    crowd: bool = False
    # Custom attributes whose values are plain (CVAT's per-box attributes, say); others are dropped.
    attributes: dict[str, str | int | float | bool] = field(default_factory=dict, hash=False)
    split: str | None = None  # the subset a file placed it in (train / valid / test / default)


@dataclass(frozen=True)
class TransferOptions:
    """How a format's conventions are read and written where tools disagree.

    voc_one_based: read and write Pascal VOC's xmin/ymin as the 1-based devkit does (x = xmin - 1).
    The default follows CVAT and datumaro: xmin = x, xmax = x + width.
    negatives: exports list frames without boxes too (background images, as Ultralytics counts them).
    """

    voc_one_based: bool = False
    negatives: bool = False


@dataclass
class AnnotationSet:
    labels: list[LabelEntry] = field(default_factory=list)
    images: list[ImageEntry] = field(default_factory=list)
    boxes: list[BoxEntry] = field(default_factory=list)
    # annograph JSON only: {"episode_index", "annotator", "version", "content"} per annotation,
    # `content` as an episode annotation revision stores it.
    episode_annotations: list[dict] = field(default_factory=list)
    dataset: dict = field(default_factory=dict)  # {"name", "fps"}, informative
    # What a reader met but the neutral form cannot carry, per kind ("rotation", "polygons", "masks",
    # "keypoints", "custom attributes"), counted in boxes or items: an import's fidelity report.
    dropped: dict[str, int] = field(default_factory=dict)
    # Frames per (episode index, camera), where the writer knows them: the frame-numbered formats (CVAT for
    # video, MOT) write a video's length; without it they take the last listed frame as its end.
    video_lengths: dict[tuple[int, str], int] = field(default_factory=dict)
    # annograph JSON only, last so positional construction keeps its meaning: the segment vocabulary
    # ({"name", "color", "mayOverlap"}) and time segments ({"episodeIndex", "annotator", "label",
    # "fromFrame", "toFrame", "fromTime", "toTime", "instruction", "notes", "version"}) as the file has them.
    segment_labels: list[dict] = field(default_factory=list)
    segments: list[dict] = field(default_factory=list)


@dataclass
class Fidelity:
    """What the chosen format could not carry, in words, e.g. 'track ids of 1,204 boxes'."""

    format: ExportFormat
    lost: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"format": self.format.value, "lost": list(self.lost)}


class FormatError(ValueError):
    """A file that cannot be read: which file, where in it (line, or a JSON path), and why."""

    def __init__(self, file: str, reason: str, *, line: int | None = None, where: str | None = None) -> None:
        self.file, self.reason, self.line, self.where = file, reason, line, where
        at = f" line {line}" if line is not None else ""
        at += f" ({where})" if where else ""
        super().__init__(f"{file}{at}: {reason}")


_IMAGE_NAME = re.compile(r"^episode_(\d+)_(.+)_(\d+)\.(jpg|jpeg|png)$", re.IGNORECASE)


def image_file_name(episode_index: int, camera: str, frame: int) -> str:
    return f"episode_{episode_index:06d}_{camera}_{frame:06d}.jpg"


def parse_image_file_name(name: str) -> tuple[int, str, int] | None:
    """(episode index, camera, frame) of a name image_file_name made (any folder, .jpg/.png), or None."""
    match = _IMAGE_NAME.match(name.replace("\\", "/").rsplit("/", 1)[-1])
    if match is None:
        return None
    return int(match.group(1)), match.group(2), int(match.group(3))


# --- Shared by the format modules -------------------------------------------------------------------------

SOURCES = ("MANUAL", "MODEL", "IMPORTED", "INTERPOLATED")
REVIEWS = ("PENDING", "VALIDATED", "REJECTED")
DEFAULT_COLOR = "#808080"


def base_name(path: str) -> str:
    """The file name without its folders (zip members may use either slash)."""
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def members(files: Iterable[str], *suffixes: str) -> list[str]:
    """Paths of `files` ending in one of `suffixes` (any case), sorted, without macOS zip litter."""
    found = []
    for path in files:
        normal = path.replace("\\", "/")
        litter = "__MACOSX/" in normal or base_name(normal).startswith("._")
        if normal.lower().endswith(suffixes) and not litter:
            found.append(path)
    return sorted(found)


def class_names(data: AnnotationSet) -> list[str]:
    """The label names in order, then any name a box uses that the labels lack (so every box has a class)."""
    names = dict.fromkeys(label.name for label in data.labels)
    for name in dict.fromkeys(box.label for box in data.boxes):
        names.setdefault(name)
    return list(names)


def checked_box(
    x: float,
    y: float,
    width: float,
    height: float,
    size: tuple[int, int] | None,
    *,
    slack: float,
    file: str,
    line: int | None = None,
    where: str | None = None,
) -> tuple[float, float, float, float]:
    """A read box after the checks every reader makes: finite, with an area, inside the image when its size
    is known. Up to `slack` pixels outside (rounding in the file) are clamped into the image."""
    for name, value in (("x", x), ("y", y), ("width", width), ("height", height)):
        if not math.isfinite(value):
            raise FormatError(file, f"{name} must be a finite number, got {value}", line=line, where=where)
    if width <= 0 or height <= 0:
        raise FormatError(
            file, f"width and height must be > 0, got {width:g} x {height:g}", line=line, where=where
        )
    if size is None:
        return x, y, width, height
    x, width = _clamped("x", x, width, size[0], slack, file, line, where)
    y, height = _clamped("y", y, height, size[1], slack, file, line, where)
    return x, y, width, height


def _clamped(
    axis: str,
    start: float,
    length: float,
    limit: int,
    slack: float,
    file: str,
    line: int | None,
    where: str | None,
) -> tuple[float, float]:
    end = start + length
    if start < -slack or end > limit + slack:
        raise FormatError(
            file,
            f"the box spans {axis} {start:g}..{end:g}, outside the image (0..{limit})",
            line=line,
            where=where,
        )
    if start >= 0 and end <= limit:
        return start, length
    start, end = max(start, 0.0), min(end, float(limit))
    if end <= start:
        raise FormatError(
            file,
            f"the box spans {axis} {start:g}..{end:g} once clamped into the image",
            line=line,
            where=where,
        )
    length = end - start
    while start + length > limit:  # float rounding of the subtraction; a box must end inside the image
        length = math.nextafter(length, 0.0)
    return start, length


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}es" if noun.endswith("x") else f"{n:,} {noun}s"


def lost_details(data: AnnotationSet, carried: set[str]) -> list[str]:
    """What of `data` a format that carries only `carried` (BoxEntry field names, 'review', 'label_color',
    'label_parent', 'episode_annotations') loses, in words with counts; only what the data has."""
    boxes, lost = data.boxes, []

    def boxes_where(field_name: str, noun: str, has: Callable[[BoxEntry], object]) -> None:
        if field_name not in carried:
            n = sum(1 for b in boxes if has(b))
            if n:
                lost.append(f"{noun} of {_count(n, 'box')}")

    boxes_where("track_id", "track ids", lambda b: b.track_id is not None)
    for flag in ("occluded", "truncated", "difficult"):
        boxes_where(flag, f"{flag} flags", attrgetter(flag))
    boxes_where("outside", "outside marks (the track left the view)", lambda b: b.outside)
    boxes_where("keyframe", "keyframe flags (not a keyframe)", lambda b: not b.keyframe)
    if "source" not in carried:
        used = {b.source for b in boxes if b.source != "IMPORTED"}
        if used:
            named = "/".join([s for s in SOURCES if s in used] + sorted(used - set(SOURCES)))
            boxes_where("source", f"sources ({named})", lambda b: b.source != "IMPORTED")
    boxes_where("score", "scores", lambda b: b.score is not None)
    # A crowd region written as an ordinary box is one a model learns, or is judged on, as one object.
    boxes_where("crowd", "crowd marks (COCO's iscrowd: written as ordinary boxes)", attrgetter("crowd"))
    boxes_where("attributes", "custom attributes", lambda b: bool(b.attributes))
    boxes_where("split", "splits (train / valid / ...)", lambda b: b.split is not None)
    boxes_where("notes", "notes", lambda b: b.notes is not None)
    boxes_where(
        "review",
        "review state",
        lambda b: (
            b.review != "PENDING"
            or b.reviewed_by is not None
            or b.reviewed_at is not None
            or b.reject_reason is not None
        ),
    )
    for key, noun, has in (
        ("label_color", "colours", lambda lab: lab.color != DEFAULT_COLOR),
        ("label_parent", "parents", lambda lab: lab.parent is not None),
    ):
        n = sum(1 for lab in data.labels if has(lab)) if key not in carried else 0
        if n:
            lost.append(f"{noun} of {_count(n, 'label')}")
    if "episode_annotations" not in carried and data.episode_annotations:
        lost.append(f"episode annotations ({len(data.episode_annotations):,})")
    return lost
