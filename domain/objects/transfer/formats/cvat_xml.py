"""CVAT's XML: CVAT for video 1.1 (tracks) written and read; CVAT for images 1.1 (frame-wise boxes) read.

Writing. One `episode_<index:06d>_<camera>/annotations.xml` per video (video_layout.py), laid out as CVAT
exports a task in interpolation mode: `<version>1.1</version>`, a `<meta><task>` with the task's name,
size (frames), mode, start/stop frame, `<subset>` (when the boxes have a split), `<labels>` (name, colour,
type, declared attributes) and `<original_size>`, then one `<track id label source>` per track with a
`<box frame keyframe outside occluded xtl ytl xbr ybr z_order>` per box and its custom attributes as
`<attribute name="...">value</attribute>`. Corners are continuous pixels: xtl = x, xbr = x + width,
written with every digit a float has (CVAT writes 2 decimals; more read the same).

- Tracks keep their ids when every id of the video is a whole number (CVAT numbers tracks); otherwise they
  are numbered 0, 1, ... in order of their first frame and `<meta><annograph_tracks><named id="0">` gives
  each number our id back. A box without a track becomes a one-box track, as CVAT's own video export makes
  of a shape, closed by an outside keyframe on the next frame when the video has one; `<untracked id>`
  lists those numbers, so reading gives the box back without a track (CVAT and datumaro ignore the block).
- A track's `source` is its keyframes' (the commonest of MANUAL -> manual, MODEL -> auto, IMPORTED ->
  file); reading gives keyframes the track's source and other boxes INTERPOLATED (CVAT fills the frames
  between keyframes), and the fidelity report counts the boxes whose source does not come back.
- Attributes are declared on their label in the meta: all true/false -> checkbox, all numbers -> number,
  anything else -> text; values come back with the declared type (a number written as text comes back as
  text, which the report counts).
- Images that are no episode's frame go in a root `annotations.xml` as CVAT for images writes them
  (`<image id name width height>` with `<box label source occluded ...>`), where tracks, keyframes and
  outside marks have no place.

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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import NoReturn
from xml.parsers import expat
from xml.sax.saxutils import escape

from domain.objects.transfer.formats.model import (
    DEFAULT_COLOR,
    AnnotationSet,
    BoxEntry,
    ExportFormat,
    Fidelity,
    FormatError,
    ImageEntry,
    LabelEntry,
    TransferOptions,
    checked_box,
    class_names,
    lost_details,
    members,
    parse_image_file_name,
)
from domain.objects.transfer.formats.video_layout import (
    Video,
    folder_labels,
    folder_name,
    frame_file_name,
    frame_image,
    frame_of_name,
    in_video,
    videos,
)

IMAGE_DIR = "images"
FILE = "annotations.xml"
OURS = "annograph_tracks"  # the meta block that gives tracks our ids back
CARRIED = {"track_id", "occluded", "outside", "keyframe", "source", "attributes", "split", "label_color"}
SLACK = 1.0  # pixels past the image that rounding explains; more is clamped and counted
READ_SOURCES = {"manual": "MANUAL", "auto": "MODEL", "semi-auto": "MODEL", "file": "IMPORTED"}
WRITE_SOURCES = {"MANUAL": "manual", "MODEL": "auto", "IMPORTED": "file"}
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
_WHOLE = re.compile(r"^(0|[1-9][0-9]*)$")
_BITS = {"0": False, "1": True}
_INTEGER = re.compile(r"^[+-]?[0-9]+$")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
# The root element's start, after an XML declaration, comments and a doctype (refused when read).
_ROOT = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>\s*)*"
    rb"<annotations[\s>/]",
    re.DOTALL,
)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def image_paths(data: AnnotationSet) -> Iterator[tuple[ImageEntry, str]]:
    """Where an export with images puts each image: an episode's frame beside its video's annotations.xml as
    CVAT does (episode_000001_front/images/frame_000010.jpg), any other in images/ under its own name."""
    for image in data.images:
        if in_video(image):
            folder = folder_name(image.episode_index, image.camera)
            yield image, f"{folder}/{IMAGE_DIR}/frame_{image.frame:06d}.jpg"
        else:
            yield image, f"{IMAGE_DIR}/{image.file_name}"


# --- Writing ---------------------------------------------------------------------------------------------


@dataclass
class _Writing:
    """What every file of one export shares, and what the export could not carry, counted."""

    names: list[str]
    colors: dict[str, str]
    declared: dict[str, dict[str, str]]  # label -> attribute -> checkbox | number | text
    numbers: dict[tuple[str, str], list[float]]  # (label, attribute) -> number values, for the meta
    lost: Counter = field(default_factory=Counter)


def write(
    data: AnnotationSet, add: Callable[[str, bytes], None], options: TransferOptions = TransferOptions()
) -> Fidelity:
    found, others, other_boxes = videos(data)
    declared, numbers, retyped = _declarations(data.boxes)
    colors = {label.name: label.color for label in data.labels}
    writing = _Writing(class_names(data), colors, declared, numbers)
    writing.lost["attribute types"] = retyped
    name = str(data.dataset.get("name") or "annograph")
    for number, video in enumerate(found, 1):
        add(f"{video.folder}/{FILE}", _video_file(video, number, writing))
    if others:
        add(FILE, _images_file(name, others, other_boxes, writing))
    lost = lost_details(data, CARRIED)
    why = {
        "source": ("sources", "a track has one: its keyframes' commonest; the others read as INTERPOLATED"),
        "split": ("splits (train / valid / ...)", "a video has one subset"),
        "attribute types": ("custom attribute types", "numbers or true/false among text are written as text"),
        "track_id": ("track ids", "on images that are no episode's frame: CVAT for images"),
        "outside": ("outside marks (the track left the view)", "on images that are no episode's frame"),
        "keyframe": ("keyframe flags (not a keyframe)", "on images that are no episode's frame"),
    }
    for key, (noun, reason) in why.items():
        n = writing.lost[key]
        if n:
            lost.append(f"{noun} of {_boxes(n)} ({reason})")
    if writing.lost["characters"]:
        lost.append(f"characters XML cannot hold: {writing.lost['characters']:,} (written as U+FFFD)")
    return Fidelity(ExportFormat.CVAT, lost)


def _boxes(n: int) -> str:
    return f"{n:,} box" if n == 1 else f"{n:,} boxes"


def _kind(value: object) -> str:
    if type(value) is bool:
        return "checkbox"
    return "number" if type(value) in (int, float) else "text"


def _declarations(
    boxes: list[BoxEntry],
) -> tuple[dict[str, dict[str, str]], dict[tuple[str, str], list[float]], int]:
    """Each label's attributes with the input type their values share (text when they differ), the number
    values of number attributes, and how many boxes have a value the declared type does not carry."""
    kinds: dict[str, dict[str, set[str]]] = {}
    numbers: dict[tuple[str, str], list[float]] = {}
    for b in boxes:
        if b.attributes:
            label = kinds.setdefault(b.label, {})
            for key, value in b.attributes.items():
                kind = _kind(value)
                label.setdefault(key, set()).add(kind)
                if kind == "number":
                    numbers.setdefault((b.label, key), []).append(value)  # type: ignore[arg-type]
    declared = {
        label: {key: next(iter(k)) if len(k) == 1 else "text" for key, k in attributes.items()}
        for label, attributes in kinds.items()
    }
    retyped = sum(
        1
        for b in boxes
        if b.attributes
        and any(declared[b.label][k] != _kind(v) for k, v in b.attributes.items() if type(v) is not str)
    )
    return declared, numbers, retyped


def _number(value: float) -> str:
    """A coordinate or number with every digit it has (read back to the same float)."""
    return repr(value) if type(value) is int else repr(float(value))


def _clean(text: str, writing: _Writing) -> str:
    if _NOT_XML.search(text):
        writing.lost["characters"] += len(_NOT_XML.findall(text))
        text = _NOT_XML.sub("\ufffd", text)
    return text


def _text(text: str, writing: _Writing) -> str:
    return escape(_clean(text, writing))


def _attr(text: str, writing: _Writing) -> str:
    return escape(_clean(text, writing), {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def _value(value: object) -> str:
    if type(value) is bool:
        return "true" if value else "false"
    return _number(value) if type(value) in (int, float) else str(value)  # type: ignore[arg-type]


def _meta(
    writing: _Writing,
    number: int,
    name: str,
    mode: str,
    size: int,
    split: str | None,
    original: tuple[int, int] | None,
    ours: list[str],
) -> list[str]:
    """CVAT's <meta> for a task: its fields in CVAT's order, the labels with their attributes, the original
    (video) size, then the lines of our block."""
    lines = [
        "  <meta>\n",
        "    <task>\n",
        f"      <id>{number}</id>\n",
        f"      <name>{_text(name, writing)}</name>\n",
        f"      <size>{size}</size>\n",
        f"      <mode>{mode}</mode>\n",
        "      <overlap>0</overlap>\n",
        "      <bugtracker></bugtracker>\n",
    ]
    if split is not None:
        lines.append(f"      <subset>{_text(split, writing)}</subset>\n")
    lines += [
        "      <start_frame>0</start_frame>\n",
        f"      <stop_frame>{max(size - 1, 0)}</stop_frame>\n",
        "      <frame_filter></frame_filter>\n",
        "      <labels>\n",
    ]
    for label in writing.names:
        lines += [
            "        <label>\n",
            f"          <name>{_text(label, writing)}</name>\n",
            f"          <color>{writing.colors.get(label, DEFAULT_COLOR)}</color>\n",
            "          <type>rectangle</type>\n",
            "          <attributes>\n",
        ]
        for key, kind in writing.declared.get(label, {}).items():
            if kind == "checkbox":
                default, values = "false", "false\ntrue"
            elif kind == "number":
                found = writing.numbers[(label, key)]
                whole = all(float(v).is_integer() for v in found)
                low, high = (int(min(found)), int(max(found))) if whole else (min(found), max(found))
                default, values = _number(low), f"{_number(low)}\n{_number(high)}\n{1 if whole else 0.01}"
            else:
                default, values = "", ""
            lines += [
                "            <attribute>\n",
                f"              <name>{_text(key, writing)}</name>\n",
                "              <mutable>True</mutable>\n",
                f"              <input_type>{kind}</input_type>\n",
                f"              <default_value>{default}</default_value>\n",
                f"              <values>{values}</values>\n",
                "            </attribute>\n",
            ]
        lines += ["          </attributes>\n", "        </label>\n"]
    lines.append("      </labels>\n")
    if original is not None:
        lines += [
            "      <original_size>\n",
            f"        <width>{original[0]}</width>\n",
            f"        <height>{original[1]}</height>\n",
            "      </original_size>\n",
        ]
    return [*lines, "    </task>\n", *ours, "  </meta>\n"]


def _split_of(boxes: list[BoxEntry], writing: _Writing) -> str | None:
    """The subset a file of these boxes names: their commonest split (the others are counted as lost)."""
    counts = Counter(b.split for b in boxes)
    split = max(counts, key=lambda s: (counts[s], s is None)) if counts else None
    writing.lost["split"] += len(boxes) - counts[split]
    return split


def _track_source(boxes: list[BoxEntry]) -> str:
    counts = Counter(b.source for b in boxes if b.keyframe and b.source in WRITE_SOURCES)
    if not counts:
        return "manual"
    best = max(counts.values())
    return WRITE_SOURCES[next(s for s in WRITE_SOURCES if counts[s] == best)]


def _box_lines(b: BoxEntry, frame: int, keyframe: bool, outside: bool, writing: _Writing) -> list[str]:
    x, y = float(b.x), float(b.y)
    head = (
        f'    <box frame="{frame}" keyframe="{int(keyframe)}" outside="{int(outside)}" '
        f'occluded="{int(b.occluded)}" xtl="{_number(x)}" ytl="{_number(y)}" '
        f'xbr="{_number(x + b.width)}" ybr="{_number(y + b.height)}" z_order="0">'
    )
    if not b.attributes:
        return [head, "</box>\n"]
    lines = [head, "\n"]
    for key, value in b.attributes.items():
        lines.append(
            f'      <attribute name="{_attr(key, writing)}">{_text(_value(value), writing)}</attribute>\n'
        )
    lines.append("    </box>\n")
    return lines


def _video_file(video: Video, number: int, writing: _Writing) -> bytes:
    frames = video.frames
    order = sorted(range(len(video.boxes)), key=lambda i: (frames[video.boxes[i].file_name], i))
    tracks: dict[str, list[BoxEntry]] = {}
    untracked: list[BoxEntry] = []
    for i in order:
        b = video.boxes[i]
        if b.track_id is None:
            untracked.append(b)
        else:
            tracks.setdefault(b.track_id, []).append(b)
    ids = list(tracks)
    named = not all(_WHOLE.match(t) for t in ids)
    numbers = {t: i for i, t in enumerate(ids)} if named else {t: int(t) for t in ids}
    first_free = max(numbers.values(), default=-1) + 1
    split = _split_of(video.boxes, writing)
    ours = []
    if named or untracked:
        ours.append(f"    <{OURS}>\n")
        if named:
            ours += [f'      <named id="{numbers[t]}">{_text(t, writing)}</named>\n' for t in ids]
        ours += [f'      <untracked id="{first_free + i}"/>\n' for i in range(len(untracked))]
        ours.append(f"    </{OURS}>\n")
    lines = ['<?xml version="1.0" encoding="utf-8"?>\n', "<annotations>\n", "  <version>1.1</version>\n"]
    original = (video.width, video.height)
    lines += _meta(writing, number, video.folder, "interpolation", video.length, split, original, ours)
    numbered = [(numbers[t], boxes, False) for t, boxes in tracks.items()]
    numbered += [(first_free + i, [b], True) for i, b in enumerate(untracked)]  # one-box tracks
    for track_number, boxes, alone in numbered:
        label = boxes[0].label
        source = _track_source(boxes)
        seen: set[int] = set()
        lines.append(f'  <track id="{track_number}" label="{_attr(label, writing)}" source="{source}">\n')
        for b in boxes:
            frame = frames[b.file_name]
            if b.label != label:
                raise ValueError(f"track {b.track_id!r} has two labels ({label!r}, {b.label!r})")
            if frame in seen:
                raise ValueError(f"track {b.track_id!r} has two boxes on frame {frame}")
            seen.add(frame)
            expected = READ_SOURCES[source] if b.keyframe else "INTERPOLATED"
            writing.lost["source"] += b.source != expected
            lines += _box_lines(b, frame, b.keyframe, b.outside, writing)
        if alone and not boxes[0].outside and frames[boxes[0].file_name] + 1 < video.length:
            # As CVAT closes a shape it exports as a track: out of view from the next frame.
            lines += _box_lines(boxes[0], frames[boxes[0].file_name] + 1, True, True, writing)
        lines.append("  </track>\n")
    lines.append("</annotations>\n")
    return "".join(lines).encode()


def _images_file(
    name: str, images: list[ImageEntry], boxes: dict[str, list[BoxEntry]], writing: _Writing
) -> bytes:
    every = [b for image in images for b in boxes.get(image.file_name, ())]
    split = _split_of(every, writing)
    lines = ['<?xml version="1.0" encoding="utf-8"?>\n', "<annotations>\n", "  <version>1.1</version>\n"]
    lines += _meta(writing, 0, name, "annotation", len(images), split, None, [])
    for i, image in enumerate(images):
        lines.append(
            f'  <image id="{i}" name="{_attr(image.file_name, writing)}" width="{image.width}" '
            f'height="{image.height}">\n'
        )
        for b in boxes.get(image.file_name, ()):
            source = WRITE_SOURCES.get(b.source, "manual")
            writing.lost["source"] += b.source != READ_SOURCES[source]
            writing.lost["track_id"] += b.track_id is not None
            writing.lost["outside"] += b.outside
            writing.lost["keyframe"] += not b.keyframe
            x, y = float(b.x), float(b.y)
            head = (
                f'    <box label="{_attr(b.label, writing)}" source="{source}" occluded="{int(b.occluded)}" '
                f'xtl="{_number(x)}" ytl="{_number(y)}" xbr="{_number(x + b.width)}" '
                f'ybr="{_number(y + b.height)}" z_order="0">'
            )
            lines.append(head)
            if b.attributes:
                lines.append("\n")
                for key, value in b.attributes.items():
                    lines.append(
                        f'      <attribute name="{_attr(key, writing)}">{_text(_value(value), writing)}'
                        "</attribute>\n"
                    )
                lines.append("    ")
            lines.append("</box>\n")
        lines.append("  </image>\n")
    lines.append("</annotations>\n")
    return "".join(lines).encode()


# --- Reading ---------------------------------------------------------------------------------------------


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
