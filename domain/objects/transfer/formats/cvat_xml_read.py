"""Reading CVAT's XML: CVAT for video 1.1 (tracks) and CVAT for images 1.1 (frame-wise boxes).

Reading. Any .xml file whose root element is `<annotations>`. `<track>` boxes are named by frame
(video_layout.py) and sized by the meta's `<original_size>` (else `size_of`); `<image>` boxes take the
image's name (a `frame_000123` name counts as that frame of the file's folder) and size. A track's source
manual -> MANUAL, auto and semi-auto (a model drew it) -> MODEL, file or none -> IMPORTED; non-keyframes
INTERPOLATED. An absent `keyframe` reads as a keyframe, absent `outside` and `occluded` as 0. Attribute
values take their declared input type (checkbox -> bool, number -> int or float), undeclared ones are text
except true/false. Counted in AnnotationSet.dropped, not errors: a non-zero `rotation` (the box is read
unrotated), z_order and group_id; polygons, polylines, points, masks, skeletons, cuboids, ellipses and tags;
boxes reaching more than a pixel past the image ("clamped to the image"). Errors name the file, the line
and the element (`track[2]/box[5]`).
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import NoReturn
from xml.parsers import expat

from domain.objects.transfer.formats.cvat_xml_common import FILE, OURS, READ_SOURCES
from domain.objects.transfer.formats.model import (
    DEFAULT_COLOR,
    AnnotationSet,
    BoxEntry,
    FormatError,
    ImageEntry,
    LabelEntry,
    TransferOptions,
    checked_box,
    members,
    parse_image_file_name,
)
from domain.objects.transfer.formats.video_layout import (
    folder_labels,
    frame_file_name,
    frame_image,
    frame_of_name,
)

SLACK = 1.0  # pixels past the image that rounding explains; more is clamped and counted
DROPPED = {
    "polygon": "polygons",
    "polyline": "polylines",
    "points": "points",
    "mask": "masks",
    "skeleton": "skeletons",
    "cuboid": "cuboids",
    "ellipse": "ellipses",
    "tag": "tags",
}
BOX_LABEL_TYPES = (None, "any", "rectangle")  # label types whose labels can name a box
_BITS = {"0": False, "1": True}
_INTEGER = re.compile(r"^[+-]?[0-9]+$")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
# The root element's start, after an XML declaration, comments and a doctype (refused when read).
_ROOT = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>\s*)*"
    rb"<annotations[\s>/]",
    re.DOTALL,
)


def find(files: Mapping[str, bytes]) -> list[str]:
    """The CVAT XML files among `files`: .xml files whose root element is <annotations>."""
    return [p for p in members(files, ".xml") if _ROOT.match(files[p][:4096])]


@dataclass
class _Shape:
    """A <box> as read, checked once the whole file (its meta) is known."""

    attrs: dict[str, str]
    line: int | None
    where: str
    values: dict[str, str] = field(default_factory=dict)  # its <attribute> elements, as text


@dataclass
class _Owner:
    """A <track> or an <image> and its boxes."""

    kind: str  # track | image
    attrs: dict[str, str]
    line: int | None
    where: str
    boxes: list[_Shape] = field(default_factory=list)


@dataclass
class _Read:
    """What the files of one upload share while they are read."""

    size_of: Callable[[str], tuple[int, int] | None]
    data: AnnotationSet = field(default_factory=AnnotationSet)
    images: dict[str, ImageEntry] = field(default_factory=dict)
    listed: set[str] = field(default_factory=set)  # file names an <image> element listed
    labels: dict[str, str] = field(default_factory=dict)  # name -> colour, in order met
    tracks: dict[tuple[str, str], str] = field(default_factory=dict)  # (folder, track id) -> file
    dropped: Counter = field(default_factory=Counter)


class _Unsafe(Exception):
    pass


def _refuse(*args: object) -> NoReturn:
    raise _Unsafe


class _Parse:
    """One file's elements through expat (fast, with the line of each element; DTDs and entities refused)."""

    def __init__(self, file: str, content: bytes) -> None:
        self.file = file
        self.depth = 0
        self.skip = 0  # > 0 inside an element whose insides are not read (a dropped shape)
        self.meta: ET.Element | None = None
        self.meta_path: list[ET.Element] = []
        self.owners: list[_Owner] = []
        self.owner: _Owner | None = None
        self.shape: _Shape | None = None
        self.value: tuple[str, list[str]] | None = None  # an <attribute>'s name and text so far
        self.counts: Counter = Counter()  # tracks and images met
        self.shapes: Counter = Counter()  # shapes of the current track or image, by element
        self.dropped: Counter = Counter()
        parser = self.parser = expat.ParserCreate()
        parser.buffer_text = True
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = _refuse
        parser.EntityDeclHandler = _refuse
        parser.UnparsedEntityDeclHandler = _refuse
        parser.ExternalEntityRefHandler = _refuse
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.CharacterDataHandler = self.characters
        try:
            parser.Parse(content, True)
        except expat.ExpatError as exc:
            reason = expat.errors.messages[exc.code]
            raise FormatError(
                file, f"not well-formed XML: {reason} (column {exc.offset + 1})", line=exc.lineno
            ) from None
        except _Unsafe:
            raise FormatError(
                file, "refused unsafe XML (DTDs and entities are not allowed)", line=parser.CurrentLineNumber
            ) from None

    def error(self, reason: str, where: str, line: int | None = None) -> FormatError:
        return FormatError(
            self.file, reason, line=line if line is not None else self.parser.CurrentLineNumber, where=where
        )

    def start(self, name: str, attrs: dict[str, str]) -> None:
        depth = self.depth = self.depth + 1
        if self.skip:
            self.skip += 1
        elif depth == 1:
            if name != "annotations":
                raise self.error(f"the root element must be <annotations>, got <{name}>", name)
        elif self.meta_path:
            self.meta_path.append(ET.SubElement(self.meta_path[-1], name, attrs))
        elif depth == 2:
            if name == "meta" and self.meta is None:
                self.meta = ET.Element(name)
                self.meta_path.append(self.meta)
            elif name in ("track", "image"):
                self.counts[name] += 1
                where = f"{name}[{self.counts[name]}]"
                self.owner = _Owner(name, attrs, self.parser.CurrentLineNumber, where)
                self.owners.append(self.owner)
                self.shapes = Counter()
            else:
                self.skip = 1
        elif depth == 3 and self.owner is not None:
            self.shapes[name] += 1
            if name == "box":
                where = f"{self.owner.where}/box[{self.shapes[name]}]"
                self.shape = _Shape(attrs, self.parser.CurrentLineNumber, where)
                self.owner.boxes.append(self.shape)
            else:
                if name in DROPPED:
                    self.dropped[DROPPED[name]] += 1
                self.skip = 1
        elif depth == 4 and self.shape is not None and name == "attribute":
            key = attrs.get("name")
            if not key:
                raise self.error("<attribute> has no name", f"{self.shape.where}/attribute")
            self.value = (key, [])
        else:
            self.skip = 1

    def end(self, name: str) -> None:
        self.depth -= 1
        if self.skip:
            self.skip -= 1
        elif self.meta_path:
            self.meta_path.pop()
        elif self.value is not None:
            self.shape.values[self.value[0]] = "".join(self.value[1])  # type: ignore[union-attr]
            self.value = None
        elif self.shape is not None:
            self.shape = None
        elif self.owner is not None:
            self.owner = None

    def characters(self, text: str) -> None:
        if self.value is not None:
            self.value[1].append(text)
        elif self.meta_path:
            element = self.meta_path[-1]
            element.text = (element.text or "") + text


@dataclass
class _Meta:
    labels: dict[str, str]  # name -> colour
    types: dict[str, str]  # attribute name -> input type
    size: tuple[int, int] | None  # the one original size
    sizes: dict[str, tuple[int, int]]  # task id -> original size
    subset: str | None
    named: dict[int, str]  # our track ids by CVAT track number
    untracked: set[int]


def _leaf(element: ET.Element, path: str) -> str | None:
    found = element.find(path)
    return None if found is None else (found.text or "").strip()


def _meta_of(parse: _Parse) -> _Meta:
    meta = parse.meta if parse.meta is not None else ET.Element("meta")
    labels: dict[str, str] = {}
    types: dict[str, str] = {}
    for label in meta.iter("label"):
        name = _leaf(label, "name")
        if not name or _leaf(label, "type") not in BOX_LABEL_TYPES:
            continue
        color = _leaf(label, "color") or ""
        labels.setdefault(name, color if _COLOR.match(color) else DEFAULT_COLOR)
        for attribute in label.iter("attribute"):
            key, kind = _leaf(attribute, "name"), _leaf(attribute, "input_type")
            if key and kind:
                types.setdefault(key, kind)

    def size(element: ET.Element) -> tuple[int, int] | None:
        found = element.find("original_size")
        if found is None:
            return None
        values = []
        for tag in ("width", "height"):
            text = _leaf(found, tag) or ""
            if not _INTEGER.match(text) or int(text) <= 0:
                raise FormatError(
                    parse.file,
                    f"<{tag}> must be a positive integer, got {text!r}",
                    where=f"meta/original_size/{tag}",
                )
            values.append(int(text))
        return values[0], values[1]

    sizes = {}
    for task in meta.iter("task"):
        found = size(task)
        if found is not None:
            sizes[_leaf(task, "id") or ""] = found
    one = list(sizes.values())
    ours = meta.find(OURS)
    named: dict[int, str] = {}
    untracked: set[int] = set()
    if ours is not None:
        for element in ours:
            number = element.get("id", "")
            if not _INTEGER.match(number):
                raise FormatError(
                    parse.file, f"id must be an integer, got {number!r}", where=f"meta/{OURS}/{element.tag}"
                )
            if element.tag == "named":
                named[int(number)] = (element.text or "").strip()
            elif element.tag == "untracked":
                untracked.add(int(number))
    return _Meta(
        labels,
        types,
        one[0] if len(one) == 1 else None,
        sizes,
        _leaf(meta, "task/subset") or None,
        named,
        untracked,
    )


def read(
    files: Mapping[str, bytes],
    size_of: Callable[[str], tuple[int, int] | None],
    options: TransferOptions = TransferOptions(),
) -> AnnotationSet:
    paths = find(files)
    if not paths:
        raise FormatError(FILE, "no CVAT XML file (an .xml file whose root element is <annotations>)")
    folders = {p: p.replace("\\", "/").rpartition("/")[0] for p in paths}
    labels = folder_labels(folders.values())
    state = _Read(size_of)
    for path in paths:
        parse = _Parse(path, files[path])
        _read_file(parse, labels[folders[path]], _meta_of(parse), state)
    data = state.data
    data.images = list(state.images.values())
    data.labels = [LabelEntry(name, color) for name, color in state.labels.items()]
    data.dropped = {key: n for key, n in state.dropped.items() if n}
    return data


def _read_file(parse: _Parse, folder: str, meta: _Meta, state: _Read) -> None:
    for name, color in meta.labels.items():
        state.labels.setdefault(name, color)
    state.dropped.update(parse.dropped)
    for owner in parse.owners:
        if owner.kind == "track":
            _read_track(parse, folder, meta, owner, state)
        else:
            _read_image(parse, folder, meta, owner, state)


def _required(parse: _Parse, attrs: dict[str, str], key: str, tag: str, where: str, line: int | None) -> str:
    value = attrs.get(key, "").strip()
    if not value:
        raise parse.error(f"<{tag}> has no {key}", where, line)
    return value


def _whole(parse: _Parse, text: str, key: str, where: str, line: int | None, low: int = 0) -> int:
    if not _INTEGER.match(text.strip()) or int(text) < low:
        raise parse.error(f"{key} must be an integer >= {low}, got {text!r}", where, line)
    return int(text)


def _flag(parse: _Parse, shape: _Shape, key: str, default: bool) -> bool:
    text = shape.attrs.get(key)
    if text is None:
        return default
    lowered = text.strip().lower()
    if lowered in ("0", "false"):
        return False
    if lowered in ("1", "true"):
        return True
    raise parse.error(f"{key} must be 0 or 1, got {text!r}", shape.where, shape.line)


def _coordinate(parse: _Parse, shape: _Shape, key: str) -> float:
    text = shape.attrs.get(key)
    if text is None:
        raise parse.error(f"<box> has no {key}", shape.where, shape.line)
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise parse.error(f"{key} must be a number, got {text!r}", shape.where, shape.line)
    return value


def _typed(values: dict[str, str], types: dict[str, str]) -> dict[str, str | int | float | bool]:
    """Attribute values with their declared input type; undeclared ones are text, except true/false."""
    typed: dict[str, str | int | float | bool] = {}
    for key, text in values.items():
        kind = types.get(key)
        lowered = text.strip().lower()
        value: str | int | float | bool = text
        if kind in ("checkbox", None) and lowered in ("true", "false"):
            value = lowered == "true"
        elif kind == "number":
            stripped = text.strip()
            if _INTEGER.match(stripped):
                value = int(stripped)
            else:
                try:
                    number = float(stripped)
                except ValueError:
                    number = math.nan
                if math.isfinite(number):
                    value = number
        typed[key] = value
    return typed


def _geometry(
    parse: _Parse, shape: _Shape, size: tuple[int, int] | None, state: _Read
) -> tuple[float, float, float, float]:
    xtl, ytl, xbr, ybr = (_coordinate(parse, shape, key) for key in ("xtl", "ytl", "xbr", "ybr"))
    if size is not None and (xtl < -SLACK or ytl < -SLACK or xbr > size[0] + SLACK or ybr > size[1] + SLACK):
        state.dropped["clamped to the image"] += 1
    return checked_box(
        xtl,
        ytl,
        xbr - xtl,
        ybr - ytl,
        size,
        slack=math.inf,
        file=parse.file,
        line=shape.line,
        where=shape.where,
    )


def _extras(parse: _Parse, shape: _Shape, state: _Read) -> None:
    """Count what a box has that annograph does not keep: a rotation, a z order, a group."""
    for key, noun in (("rotation", "rotation"), ("z_order", "z_order"), ("group_id", "groups")):
        text = shape.attrs.get(key)
        if text is None:
            continue
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise parse.error(f"{key} must be a number, got {text!r}", shape.where, shape.line)
        state.dropped[noun] += value != 0


def _read_track(parse: _Parse, folder: str, meta: _Meta, owner: _Owner, state: _Read) -> None:
    text = _required(parse, owner.attrs, "id", "track", owner.where, owner.line)
    number = _whole(parse, text, "id", owner.where, owner.line)
    label = _required(parse, owner.attrs, "label", "track", owner.where, owner.line)
    untracked = number in meta.untracked
    track_id = None if untracked else meta.named.get(number) or str(number)
    if track_id is not None:
        if (folder, track_id) in state.tracks:
            earlier = state.tracks[(folder, track_id)]
            raise parse.error(f"track {track_id} appears twice (also in {earlier})", owner.where, owner.line)
        state.tracks[(folder, track_id)] = parse.file
    source = READ_SOURCES.get(owner.attrs.get("source", "").strip().lower(), "IMPORTED")
    split = owner.attrs.get("subset") or meta.subset
    task = owner.attrs.get("task_id", "").strip()
    size = meta.sizes.get(task) if task else meta.size
    group = owner.attrs.get("group_id")
    frames: set[int] = set()
    images, append, types = state.images, state.data.boxes.append, meta.types
    for i, shape in enumerate(owner.boxes):
        a = shape.attrs
        # The common case (whole-number frame, 0/1 flags, a box inside a frame of known size, nothing to
        # drop) in a few lookups and comparisons: 100,000 boxes are read in a request. Any doubt goes to
        # _checked_track_box, which names the problem.
        try:
            frame = int(a["frame"])
            xtl, ytl, xbr, ybr = float(a["xtl"]), float(a["ytl"]), float(a["xbr"]), float(a["ybr"])
            outside, occluded = _BITS[a.get("outside", "0")], _BITS[a.get("occluded", "0")]
            keyframe = _BITS[a.get("keyframe", "1")]
            name = frame_file_name(folder, frame)
            image = images.get(name)
            if image is None and size is not None and frame >= 0:
                image = images[name] = frame_image(folder, frame, *size)
            ok = (
                image is not None
                and frame >= 0
                and frame not in frames
                and 0 <= xtl < xbr <= image.width
                and 0 <= ytl < ybr <= image.height
                and group is None
                and a.get("z_order", "0") == "0"
                and "rotation" not in a
            )
        except (KeyError, ValueError):
            ok = False
        if ok:
            x, y, w, h = xtl, ytl, xbr - xtl, ybr - ytl
        else:
            if group is not None:
                a.setdefault("group_id", group)
            frame, name, x, y, w, h = _checked_track_box(parse, folder, number, size, shape, frames, state)
            outside = _flag(parse, shape, "outside", False)
            occluded = _flag(parse, shape, "occluded", False)
            keyframe = _flag(parse, shape, "keyframe", True)
        frames.add(frame)
        if untracked and i > 0 and outside:
            continue  # the outside keyframe that closes a box written as a one-box track
        append(
            BoxEntry(
                name,
                label,
                x,
                y,
                w,
                h,
                track_id,
                occluded=occluded,
                outside=outside,
                source=source if keyframe else "INTERPOLATED",
                keyframe=keyframe,
                attributes=_typed(shape.values, types) if shape.values else {},
                split=split,
            )
        )
    if owner.boxes:
        state.labels.setdefault(label, DEFAULT_COLOR)


def _checked_track_box(
    parse: _Parse,
    folder: str,
    number: int,
    size: tuple[int, int] | None,
    shape: _Shape,
    frames: set[int],
    state: _Read,
) -> tuple[int, str, float, float, float, float]:
    """A track's <box>: its frame, its frame's name, x, y, width, height, each checked (the first problem
    raises, naming the element and line); what annograph drops is counted."""
    text = _required(parse, shape.attrs, "frame", "box", shape.where, shape.line)
    frame = _whole(parse, text, "frame", shape.where, shape.line)
    if frame in frames:
        raise parse.error(f"track {number} has two boxes on frame {frame}", shape.where, shape.line)
    name = frame_file_name(folder, frame)
    image = state.images.get(name)
    if image is None:
        # Unknown without <original_size> when the name mapping places no frame here: 0 x 0, and the
        # import checks the box against the frame the name maps to, or lists the name as unmatched.
        known = size or state.size_of(name) or (0, 0)
        image = state.images[name] = frame_image(folder, frame, *known)
    x, y, w, h = _geometry(parse, shape, (image.width, image.height) if image.width else None, state)
    _extras(parse, shape, state)
    return frame, name, x, y, w, h


def _read_image(parse: _Parse, folder: str, meta: _Meta, owner: _Owner, state: _Read) -> None:
    written = _required(parse, owner.attrs, "name", "image", owner.where, owner.line).replace("\\", "/")
    frame = frame_of_name(written.rsplit("/", 1)[-1])
    name = frame_file_name(folder, frame) if frame is not None else written
    if name in state.listed:
        raise parse.error(f"image {written!r} is listed twice", owner.where, owner.line)
    state.listed.add(name)
    width, height = owner.attrs.get("width"), owner.attrs.get("height")
    known: tuple[int, int] | None
    if width is not None and height is not None:
        known = (
            _whole(parse, width, "width", owner.where, owner.line, 1),
            _whole(parse, height, "height", owner.where, owner.line, 1),
        )
    else:
        earlier = state.images.get(name)
        known = (earlier.width, earlier.height) if earlier else state.size_of(name)
    if known is None:
        raise parse.error(
            f"the size of image {written!r} is not known: <image> has no width and height",
            owner.where,
            owner.line,
        )
    if frame is not None:
        image = frame_image(folder, frame, *known)
    else:
        index, camera, number = parse_image_file_name(name) or (-1, "", -1)
        image = ImageEntry(name, index, camera, number, *known)
    state.images[name] = image
    split = owner.attrs.get("subset") or meta.subset
    for shape in owner.boxes:
        label = _required(parse, shape.attrs, "label", "box", shape.where, shape.line)
        state.labels.setdefault(label, DEFAULT_COLOR)
        x, y, w, h = _geometry(parse, shape, known, state)
        _extras(parse, shape, state)
        source = READ_SOURCES.get(shape.attrs.get("source", "").strip().lower(), "IMPORTED")
        state.data.boxes.append(
            BoxEntry(
                name,
                label,
                x,
                y,
                w,
                h,
                occluded=_flag(parse, shape, "occluded", False),
                source=source,
                attributes=_typed(shape.values, meta.types),
                split=split,
            )
        )
