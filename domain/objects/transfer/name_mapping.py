"""Which episode frame an image of an imported file is: (episode index, camera, frame) from its name.

Tools name images their own way. In the order tried for each name:

1. a mapping file (CSV or JSON) the user gave, by the name as the file has it or by its base name;
2. our own names, `episode_<index>_<camera>_<frame>.jpg` (any folder), also inside another tool's
   decorations: Label Studio's upload prefix (`1a2b3c4d-<name>`) and Roboflow's renamed files
   (`<stem>_jpg.rf.<32 hex>.jpg`); and a folder named `episode_<index>_<camera>` (our CVAT and MOT
   exports) holding frame-numbered names;
3. a chosen episode and camera (or, with `camera_folders`, the camera named by the image's folder):
   the frame number taken from the name (`frame_000123.jpg` as CVAT writes video frames,
   `000123.png`, FFmpeg's `image-0001.png` / `%06d.png`, numbered from `first_frame_number`), or,
   with `frames=SORTED`, the image's place among the names sorted in natural order.

A name none of these place is unmatched, with the reason: never silently skipped.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from domain.objects.transfer.formats.model import base_name, parse_image_file_name

# Label Studio prefixes uploads with 8 hex digits and a dash.
_LABEL_STUDIO = re.compile(r"^[0-9a-f]{8}-(?=.)")
# Roboflow renames `stem.jpg` to `stem_jpg.rf.<hash>.jpg`.
_ROBOFLOW = re.compile(r"_(jpg|jpeg|png|bmp|webp)\.rf\.[0-9a-fA-F]{16,64}(?=\.[A-Za-z0-9]+$)")
_OUR_FOLDER = re.compile(r"^episode_(\d+)_(.+)$")
# The last run of digits in the stem: frame_000123, 000123, image-0001, frame0001, img_12.
_NUMBER = re.compile(r"(\d+)(?!.*\d)")
_DIGITS = re.compile(r"(\d+)")


class FrameNumbers(StrEnum):
    """How a chosen episode's frames are read off names."""

    FROM_NAME = "FROM_NAME"  # the last number in the file name, minus first_frame_number
    SORTED = "SORTED"  # the place among the camera's names in natural sort order (0, 1, ...)


@dataclass(frozen=True)
class Target:
    episode_index: int
    camera: str
    frame: int


@dataclass(frozen=True)
class NameMapping:
    """How an import maps file names to frames; the default reads our own names only.

    episode_index: the episode for names that carry only a frame (CVAT video frames, MOT, FFmpeg).
    camera: that episode's camera; or camera_folders, the camera is the image's folder name.
    frames: FROM_NAME or SORTED; first_frame_number: the number in the name of frame 0 (FFmpeg's
    image2 muxer starts at 1, CVAT at 0).
    table: from a mapping file, file name (as written, or its base name) -> Target.
    """

    episode_index: int | None = None
    camera: str | None = None
    camera_folders: bool = False
    frames: FrameNumbers = FrameNumbers.FROM_NAME
    first_frame_number: int = 0
    table: dict[str, Target] = field(default_factory=dict, hash=False)


@dataclass
class Resolution:
    mapped: dict[str, Target] = field(default_factory=dict)
    unmatched: dict[str, str] = field(default_factory=dict)  # name -> why it maps nowhere


def clean_name(name: str) -> str:
    """The base name without Label Studio's upload prefix and Roboflow's rename suffix."""
    name = base_name(name)
    name = _LABEL_STUDIO.sub("", name, count=1)
    return _ROBOFLOW.sub("", name, count=1)


def _folder(name: str) -> str:
    parts = name.replace("\\", "/").split("/")
    return parts[-2] if len(parts) > 1 else ""


def _natural_key(name: str) -> list[object]:
    return [int(part) if part.isdigit() else part for part in _DIGITS.split(name)]


def our_name(name: str) -> Target | None:
    """The frame our own naming gives `name` (decorations stripped), or None."""
    parsed = parse_image_file_name(clean_name(name))
    if parsed is not None:
        return Target(*parsed)
    folder = _OUR_FOLDER.match(_folder(name))
    number = _NUMBER.search(clean_name(name).rsplit(".", 1)[0])
    if folder is not None and number is not None:
        return Target(int(folder.group(1)), folder.group(2), int(number.group(1)))
    return None


def resolve(names: Iterable[str], mapping: NameMapping) -> Resolution:
    """Each name's frame under `mapping`, or why it has none (ranges are checked by the caller, who
    knows the episodes)."""
    result = Resolution()
    by_order: dict[str, list[str]] = defaultdict(list)
    for name in dict.fromkeys(names):
        target = mapping.table.get(name) or mapping.table.get(base_name(name))
        if target is None:
            target = our_name(name)
        if target is not None:
            result.mapped[name] = target
            continue
        if mapping.episode_index is None:
            result.unmatched[name] = (
                "not named episode_<index>_<camera>_<frame>.jpg; choose the episode (and camera) its "
                "frames belong to, or give a mapping file"
            )
            continue
        camera = _folder(name) if mapping.camera_folders else mapping.camera
        if not camera:
            result.unmatched[name] = (
                "no camera: choose one, or use cameraFolders with images in a folder per camera"
            )
            continue
        if mapping.frames == FrameNumbers.SORTED:
            by_order[camera].append(name)
            continue
        number = _NUMBER.search(clean_name(name).rsplit(".", 1)[0])
        if number is None:
            result.unmatched[name] = "has no frame number in its name; use frames: SORTED or a mapping file"
            continue
        result.mapped[name] = Target(
            mapping.episode_index, camera, int(number.group(1)) - mapping.first_frame_number
        )
    for camera, group in by_order.items():
        for frame, name in enumerate(sorted(group, key=lambda n: _natural_key(base_name(n)))):
            result.mapped[name] = Target(mapping.episode_index or 0, camera, frame)
    return result


class MappingFileError(ValueError):
    """A mapping file that cannot be read: where in it, and why."""


_COLUMNS = ("file_name", "episode_index", "camera", "frame")


def read_mapping_file(file_name: str, content: bytes) -> dict[str, Target]:
    """A mapping file: CSV with the header `file_name,episode_index,camera,frame`, or JSON, a list of
    objects with those keys (or `{file_name: {episode_index, camera, frame}}`). MappingFileError names
    the line or entry at fault."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise MappingFileError(f"{file_name}: not UTF-8 text") from None
    rows: list[tuple[str, dict]] = []
    if file_name.lower().endswith(".json") or text.lstrip().startswith(("[", "{")):
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MappingFileError(f"{file_name}: not JSON ({exc.msg} at line {exc.lineno})") from None
        if isinstance(document, dict):
            items = [
                (f"[{key!r}]", {"file_name": key, **value})
                if isinstance(value, dict)
                else (f"[{key!r}]", value)
                for key, value in document.items()
            ]
        elif isinstance(document, list):
            items = [(f"[{i}]", value) for i, value in enumerate(document)]
        else:
            raise MappingFileError(f"{file_name}: expected a list or an object")
        for where, value in items:
            if not isinstance(value, dict):
                raise MappingFileError(f"{file_name} {where}: expected an object with {', '.join(_COLUMNS)}")
            rows.append((where, value))
    else:
        reader = csv.DictReader(io.StringIO(text))
        missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise MappingFileError(f"{file_name} line 1: the header lacks {', '.join(missing)}")
        rows = [(f"line {i + 2}", row) for i, row in enumerate(reader)]
    table: dict[str, Target] = {}
    for where, row in rows:
        try:
            name = str(row["file_name"]).strip()
            target = Target(int(row["episode_index"]), str(row["camera"]).strip(), int(row["frame"]))
        except (KeyError, TypeError, ValueError):
            raise MappingFileError(
                f"{file_name} {where}: needs file_name, episode_index (integer), camera and frame (integer)"
            ) from None
        if not name or not target.camera or target.frame < 0 or target.episode_index < 0:
            raise MappingFileError(f"{file_name} {where}: empty name or camera, or a negative number")
        if table.setdefault(name, target) != target:
            raise MappingFileError(f"{file_name} {where}: {name!r} is mapped twice, to different frames")
    if not table:
        raise MappingFileError(f"{file_name}: maps no file")
    return table
