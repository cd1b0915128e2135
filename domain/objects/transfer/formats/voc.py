"""Pascal VOC laid out as datumaro and CVAT look for it: one `Annotations/<stem>.xml` per image,
`ImageSets/Main/<subset>.txt` listing the stems of each subset (`default.txt` for boxes without a split),
`labelmap.txt` (`# label:color_rgb:parts:actions`, then `name:r,g,b::` a label) and the images in
`JPEGImages/`.

Coordinates. By default VOC corners are read and written as CVAT, datumaro, globox and pylabel read them:
our box (x, y, width, height) is continuous with the origin at the image's top-left corner (model.py) and

    xmin = x    ymin = y    xmax = x + width    ymax = y + height

Reading takes any number (CVAT writes 10.0); a box with xmax = xmin has no width and is refused, naming the
1-based option. With `TransferOptions.voc_one_based` the corners are the devkit's 1-based inclusive whole
pixels instead: xmin = x + 1, xmax = x + width (a 1 px box has xmin = xmax), read back as
x = xmin - 1, width = xmax - xmin + 1.

Writing puts whole pixels in both conventions (devkit readers take int(text)): each corner rounds to the
nearest whole pixel (halves up), and a box thinner than a pixel once rounded keeps one pixel inside the
image, so no box is written without width (xmax > xmin by default). A box with whole-pixel corners
round-trips exactly; the fidelity report counts the others. Reading allows a box to stick out of the image
by one pixel (a 0-based xmin = 0 read as 1-based, or xmax = width + 1, from other tools) and clamps it.

Per box, CVAT's `<attributes><attribute><name>..</name><value>..</value>` carry what VOC has no element
for: `track_id` sets the box's track, `keyframe`, `occluded` and `outside` its flags, `rotation` is
counted in `dropped["rotation"]` when it is not 0 (the box stays axis-aligned), and any other attribute
(and a `<pose>` other than Unspecified) is kept in BoxEntry.attributes as text. Writing puts track ids,
keyframe flags and plain attributes there the same way. `<part>`, `<actions>` and `<point>` of an object
and segmentation masks (`<segmented>1`) are counted in `dropped`. A box's `split` is the ImageSets/Main
list naming its image (datumaro's reading: list names without "_"; `<class>_<subset>.txt` are per-class
lists).
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from typing import Literal, overload
from xml.sax.saxutils import escape

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

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
    base_name,
    checked_box,
    class_names,
    lost_details,
    members,
    parse_image_file_name,
)

IMAGE_DIR = "JPEGImages"
ANNOTATION_DIR = "Annotations"
LIST_DIR = "ImageSets/Main"
DEFAULT_SPLIT = "default"
LABELMAP_FILE = "labelmap.txt"
LABELS_FILE = "labels.txt"  # the class list our exports wrote before labelmap.txt; still read
LABELMAP_HEAD = "# label:color_rgb:parts:actions\n"
CARRIED = {"occluded", "truncated", "difficult", "track_id", "keyframe", "label_color", "attributes", "split"}
SLACK = 1.0
# Attributes with a meaning of their own; the rest are kept as text in BoxEntry.attributes.
_OWN_ATTRIBUTES = ("track_id", "keyframe", "occluded", "outside", "rotation")
_UNSAFE_SPLIT = re.compile(r"[^A-Za-z0-9.-]")  # datumaro skips lists named with "_"; no folders either
_HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_TRUE, _FALSE = ("1", "true", "yes"), ("", "0", "false", "no")


def stem(file_name: str) -> str:
    return file_name.rsplit(".", 1)[0] if "." in file_name else file_name


def corners(start: float, length: float, limit: int, one_based: bool = False) -> tuple[int, int]:
    """(min, max) of one axis in whole pixels (see the module's docstring): 0-based, max exclusive by
    default, the devkit's 1-based inclusive corners with `one_based`. Never empty."""
    low, high = math.floor(start + 0.5), math.floor(start + length + 0.5)
    if high <= low:  # thinner than a pixel once rounded: keep one pixel, inside the image
        low, high = (low, low + 1) if low + 1 <= limit else (limit - 1, limit)
    return (low + 1, high) if one_based else (low, high)


def split_list(split: str | None) -> str:
    """The ImageSets/Main list of a split: default.txt for none; characters datumaro would not take
    (anything but letters, digits, '.' and '-') become '-'."""
    return f"{LIST_DIR}/{_UNSAFE_SPLIT.sub('-', split) if split else DEFAULT_SPLIT}.txt"


_HEAD = """<?xml version="1.0" encoding="utf-8"?>
<annotation>
  <folder>{folder}</folder>
  <filename>{filename}</filename>
  <size>
    <width>{width}</width>
    <height>{height}</height>
    <depth>3</depth>
  </size>
  <segmented>0</segmented>
"""
_OBJECT = """  <object>
    <name>{name}</name>
    <pose>{pose}</pose>
    <truncated>{truncated}</truncated>
    <difficult>{difficult}</difficult>
    <occluded>{occluded}</occluded>
    <bndbox>
      <xmin>{xmin}</xmin>
      <ymin>{ymin}</ymin>
      <xmax>{xmax}</xmax>
      <ymax>{ymax}</ymax>
    </bndbox>
{attributes}  </object>
"""
_ATTRIBUTE = "      <attribute><name>{name}</name><value>{value}</value></attribute>\n"


def write(
    data: AnnotationSet, add: Callable[[str, bytes], None], options: TransferOptions = TransferOptions()
) -> Fidelity:
    """An annotation file for every image of `data.images` (one without boxes has no <object>: the
    exporter passes such images when `options.negatives` asks for background images), each listed in
    its split's ImageSets/Main list (the split of its first box), and labelmap.txt."""
    by_image: dict[str, list[BoxEntry]] = {image.file_name: [] for image in data.images}
    for b in data.boxes:
        if b.file_name not in by_image:
            raise ValueError(f"a box lies on image {b.file_name!r}, which data.images lacks")
        by_image[b.file_name].append(b)
    one_based = options.voc_one_based
    shift = 1 if one_based else 0  # the devkit's corners: 1-based, the max pixel included
    lists: dict[str, list[str]] = {}
    stems: set[str] = set()
    rounded = 0
    for image in data.images:
        name = stem(image.file_name)
        if name in stems:
            raise ValueError(f"two images share the stem of {image.file_name!r}: VOC names files by stem")
        stems.add(name)
        boxes = by_image[image.file_name]
        split = next((b.split for b in boxes if b.split), None)
        lists.setdefault(split_list(split), []).append(name)
        # A template, not ElementTree: five times faster for 100,000 boxes, and the format is this fixed.
        parts = [
            _HEAD.format(
                folder=IMAGE_DIR, filename=escape(image.file_name), width=image.width, height=image.height
            )
        ]
        for b in boxes:
            xmin, xmax = corners(b.x, b.width, image.width, one_based)
            ymin, ymax = corners(b.y, b.height, image.height, one_based)
            written = (xmin - shift, ymin - shift, xmax - xmin + shift, ymax - ymin + shift)
            rounded += written != (b.x, b.y, b.width, b.height)
            parts.append(
                _OBJECT.format(
                    name=escape(b.label),
                    pose=escape(str(b.attributes.get("pose", "Unspecified"))),
                    truncated=int(b.truncated),
                    difficult=int(b.difficult),
                    occluded=int(b.occluded),
                    xmin=xmin,
                    ymin=ymin,
                    xmax=xmax,
                    ymax=ymax,
                    attributes=_attributes(b),
                )
            )
        parts.append("</annotation>\n")
        add(f"{ANNOTATION_DIR}/{name}.xml", "".join(parts).encode())
    for path, names in lists.items():
        add(path, "".join(f"{n}\n" for n in names).encode())
    add(LABELMAP_FILE, _labelmap(data).encode())
    lost = lost_details(data, CARRIED)
    if rounded:
        boxes_word = "box" if rounded == 1 else "boxes"
        lost.append(f"sub-pixel corners of {rounded:,} {boxes_word} (rounded to whole pixels)")
    return Fidelity(ExportFormat.VOC, lost)


def _attributes(b: BoxEntry) -> str:
    """CVAT's <attributes> block of a box: its track id, keyframe flag (of a track's box, or when it is not
    a keyframe) and plain attributes; "" when it has none."""
    values: list[tuple[str, object]] = []
    if b.track_id is not None:
        values.append(("track_id", b.track_id))
    if b.track_id is not None or not b.keyframe:
        values.append(("keyframe", b.keyframe))
    values += [(k, v) for k, v in b.attributes.items() if k != "pose" and k not in _OWN_ATTRIBUTES]
    if not values:
        return ""
    rows = "".join(_ATTRIBUTE.format(name=escape(k), value=escape(str(v))) for k, v in values)
    return f"    <attributes>\n{rows}    </attributes>\n"


def _labelmap(data: AnnotationSet) -> str:
    """labelmap.txt: every class name in order with its colour as r,g,b (none for the default grey)."""
    colors = {label.name: label.color for label in data.labels}
    lines = [LABELMAP_HEAD]
    for name in class_names(data):
        if ":" in name or "\n" in name or name.lstrip().startswith("#"):
            raise ValueError(
                f"label {name!r} cannot be written to labelmap.txt (':', '#' and lines split it)"
            )
        color = colors.get(name, DEFAULT_COLOR)
        rgb = ""
        if color != DEFAULT_COLOR and _HEX_COLOR.match(color):
            rgb = ",".join(str(int(color[i : i + 2], 16)) for i in (1, 3, 5))
        lines.append(f"{name}:{rgb}::\n")
    return "".join(lines)


class _Lines:
    """A tree builder that remembers the line each element starts on (for error messages)."""

    def __init__(self) -> None:
        self.builder = ET.TreeBuilder()
        self.lines: dict[ET.Element, int | None] = {}
        self.parser: DefusedXMLParser | None = None

    def start(self, tag: str, attrs: dict) -> ET.Element:
        element = self.builder.start(tag, attrs)
        self.lines[element] = self.line()
        return element

    def end(self, tag: str) -> ET.Element:
        return self.builder.end(tag)

    def data(self, text: str) -> None:
        self.builder.data(text)

    def close(self) -> ET.Element:
        return self.builder.close()

    def line(self) -> int | None:
        expat = getattr(self.parser, "parser", None)  # the pure-Python parser defusedxml uses
        return getattr(expat, "CurrentLineNumber", None)


class _Document:
    def __init__(self, file: str, content: bytes) -> None:
        self.file = file
        target = _Lines()
        # No DTDs at all: VOC files have none, and entity tricks (billion laughs, external files) need one.
        parser = DefusedXMLParser(target=target, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        target.parser = parser
        try:
            parser.feed(content)
            self.root = parser.close()
        except ET.ParseError as exc:
            raise FormatError(file, f"not well-formed XML: {exc}", line=exc.position[0]) from None
        except DefusedXmlException as exc:
            raise FormatError(
                file,
                f"refused unsafe XML ({type(exc).__name__}: DTDs and entities are not allowed)",
                line=target.line(),
            ) from None
        self.lines = target.lines

    def error(self, reason: str, element: ET.Element, where: str) -> FormatError:
        return FormatError(self.file, reason, line=self.lines.get(element), where=where)

    @overload
    def child(
        self, parent: ET.Element, tag: str, where: str, required: Literal[True] = True
    ) -> ET.Element: ...

    @overload
    def child(self, parent: ET.Element, tag: str, where: str, required: bool) -> ET.Element | None: ...

    def child(self, parent: ET.Element, tag: str, where: str, required: bool = True) -> ET.Element | None:
        found = parent.find(tag)
        if found is None and required:
            raise self.error(f"<{tag}> is missing", parent, where)
        return found

    def text(self, parent: ET.Element, tag: str, where: str, required: bool = True) -> tuple[str, ET.Element]:
        element = self.child(parent, tag, where, required)
        if element is None:
            return "", parent
        value = (element.text or "").strip()
        if required and not value:
            raise self.error(f"<{tag}> is empty", element, f"{where}/{tag}")
        return value, element

    def number(self, parent: ET.Element, tag: str, where: str) -> float:
        value, element = self.text(parent, tag, where)
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise self.error(f"<{tag}> must be a number, got {value!r}", element, f"{where}/{tag}")
        return number

    def flag(self, parent: ET.Element, tag: str, where: str) -> bool:
        value, element = self.text(parent, tag, where, required=False)
        if value.lower() in ("", "0", "false"):
            return False
        if value.lower() in ("1", "true"):
            return True
        raise self.error(f"<{tag}> must be 0 or 1, got {value!r}", element, f"{where}/{tag}")


def find(files: Mapping[str, bytes]) -> list[str]:
    """The annotation files: the .xml files in an Annotations folder, else every .xml file."""
    xmls = members(files, ".xml")
    return [p for p in xmls if ANNOTATION_DIR in p.replace("\\", "/").split("/")[:-1]] or xmls


def read(
    files: Mapping[str, bytes],
    size_of: Callable[[str], tuple[int, int] | None],
    options: TransferOptions = TransferOptions(),
) -> AnnotationSet:
    labels = _read_labels(files)
    splits = _read_splits(files)
    data = AnnotationSet()
    seen: set[str] = set()
    for file in find(files):
        doc = _Document(file, files[file])
        image, boxes = _read_one(doc, size_of, options, splits.get(stem(base_name(file))), data.dropped)
        if image.file_name in seen:
            raise FormatError(
                file, f"a second annotation file for image {image.file_name!r}", where="annotation/filename"
            )
        seen.add(image.file_name)
        data.images.append(image)
        data.boxes += boxes
        for b in boxes:
            labels.setdefault(b.label, LabelEntry(b.label))
    data.labels = list(labels.values())
    return data


def _read_labels(files: Mapping[str, bytes]) -> dict[str, LabelEntry]:
    """The labels of labelmap.txt (with their colours), else of labels.txt (one name a line), by name."""
    for list_name in (LABELMAP_FILE, LABELS_FILE):
        found = [p for p in members(files, ".txt") if base_name(p) == list_name]
        if found:
            file = min(found, key=lambda p: (p.count("/"), p))
            break
    else:
        return {}
    try:
        text = files[file].decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(file, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    labels: dict[str, LabelEntry] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if list_name == LABELS_FILE:
            labels.setdefault(line, LabelEntry(line))
            continue
        name, _, rest = line.partition(":")
        name, rgb = name.strip(), rest.partition(":")[0].strip()
        if not name:
            raise FormatError(file, "a label line must start with the label's name", line=number)
        color = DEFAULT_COLOR
        if rgb:
            channels = rgb.split(",")
            if len(channels) != 3 or not all(c.strip().isdigit() and int(c) <= 255 for c in channels):
                raise FormatError(
                    file, f"the colour of {name!r} must be r,g,b (0-255), got {rgb!r}", line=number
                )
            color = "#" + "".join(f"{int(c):02x}" for c in channels)
        labels.setdefault(name, LabelEntry(name, color))
    return labels


def _read_splits(files: Mapping[str, bytes]) -> dict[str, str]:
    """{image stem: subset} from the ImageSets/Main/<subset>.txt lists (not the <class>_<subset>.txt)."""
    splits: dict[str, str] = {}
    for path in members(files, ".txt"):
        normal = path.replace("\\", "/")
        name = base_name(normal)
        if not normal[: -len(name)].endswith(LIST_DIR + "/") or "_" in name:
            continue
        try:
            text = files[path].decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FormatError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        for line in text.splitlines():
            if line.split():
                splits.setdefault(line.split()[0], stem(name))
    return splits


def _read_one(
    doc: _Document,
    size_of: Callable[[str], tuple[int, int] | None],
    options: TransferOptions,
    split: str | None,
    dropped: dict[str, int],
) -> tuple[ImageEntry, list[BoxEntry]]:
    root = doc.root
    if root.tag != "annotation":
        raise doc.error(f"the root element must be <annotation>, got <{root.tag}>", root, root.tag)
    name, _ = doc.text(root, "filename", "annotation", required=False)
    name = base_name(name) or stem(base_name(doc.file)) + ".jpg"
    size = _size(doc, root, size_of(name))
    index, camera, frame = parse_image_file_name(name) or (-1, "", -1)
    image = ImageEntry(name, index, camera, frame, size[0], size[1])
    segmented, element = doc.text(root, "segmented", "annotation", required=False)
    if segmented not in ("", "0"):
        if segmented != "1":
            raise doc.error(f"<segmented> must be 0 or 1, got {segmented!r}", element, "annotation/segmented")
        _count(dropped, "masks")
    boxes = []
    for i, thing in enumerate(root.findall("object"), 1):
        where = f"annotation/object[{i}]"
        label, _ = doc.text(thing, "name", where)
        box = doc.child(thing, "bndbox", where)
        at = f"{where}/bndbox"
        xmin, ymin, xmax, ymax = (doc.number(box, tag, at) for tag in ("xmin", "ymin", "xmax", "ymax"))
        for low, high, axis in ((xmin, xmax, "x"), (ymin, ymax, "y")):
            if high < low:
                raise doc.error(f"{axis}max ({high:g}) is less than {axis}min ({low:g})", box, at)
            if high == low and not options.voc_one_based:
                raise doc.error(
                    f"{axis}max equals {axis}min ({low:g}): no width or height, as CVAT and datumaro read "
                    "VOC (in a file with the devkit's 1-based corners it is 1 pixel: read it with the "
                    "1-based VOC option)",
                    box,
                    at,
                )
        if options.voc_one_based:
            x, y, w, h = xmin - 1, ymin - 1, xmax - xmin + 1, ymax - ymin + 1
        else:
            x, y, w, h = xmin, ymin, xmax - xmin, ymax - ymin
        x, y, w, h = checked_box(
            x, y, w, h, size, slack=SLACK, file=doc.file, line=doc.lines.get(box), where=at
        )
        attributes, own = _read_attributes(doc, thing, where)
        pose, _ = doc.text(thing, "pose", where, required=False)
        if pose and pose != "Unspecified":
            attributes["pose"] = pose
        for tag, kind in (("part", "parts"), ("actions", "actions"), ("point", "points")):
            for _ in thing.findall(tag):
                _count(dropped, kind)
        rotation = own.get("rotation")
        if rotation is not None and _rotation(doc, thing, where, rotation) % 360:
            _count(dropped, "rotation")
        boxes.append(
            BoxEntry(
                name,
                label,
                x,
                y,
                w,
                h,
                track_id=own.get("track_id") or None,
                occluded=doc.flag(thing, "occluded", where)
                or _flag(doc, thing, where, own, "occluded", False),
                truncated=doc.flag(thing, "truncated", where),
                difficult=doc.flag(thing, "difficult", where),
                outside=_flag(doc, thing, where, own, "outside", False),
                keyframe=_flag(doc, thing, where, own, "keyframe", True),
                attributes=attributes,
                split=split,
            )
        )
    return image, boxes


def _count(dropped: dict[str, int], kind: str) -> None:
    dropped[kind] = dropped.get(kind, 0) + 1


def _read_attributes(
    doc: _Document, thing: ET.Element, where: str
) -> tuple[dict[str, str | int | float | bool], dict[str, str]]:
    """(plain attributes, the attributes with a meaning of their own) of an object's <attributes>."""
    plain: dict[str, str | int | float | bool] = {}
    own: dict[str, str] = {}
    block = thing.find("attributes")
    if block is None:
        return plain, own
    for j, attribute in enumerate(block.findall("attribute"), 1):
        at = f"{where}/attributes/attribute[{j}]"
        key, _ = doc.text(attribute, "name", at)
        value, _ = doc.text(attribute, "value", at, required=False)
        if key in _OWN_ATTRIBUTES:
            own[key] = value
        else:
            plain[key] = value
    return plain, own


def _flag(
    doc: _Document, thing: ET.Element, where: str, own: dict[str, str], key: str, default: bool
) -> bool:
    if key not in own:
        return default
    if own[key].lower() in _TRUE:
        return True
    if own[key].lower() in _FALSE:
        return False
    raise doc.error(f"attribute {key} must be true or false, got {own[key]!r}", thing, f"{where}/attributes")


def _rotation(doc: _Document, thing: ET.Element, where: str, value: str) -> float:
    try:
        degrees = float(value)
    except ValueError:
        degrees = math.nan
    if not math.isfinite(degrees):
        raise doc.error(
            f"attribute rotation must be a number of degrees, got {value!r}", thing, f"{where}/attributes"
        )
    return degrees


def _size(doc: _Document, root: ET.Element, known: tuple[int, int] | None) -> tuple[int, int]:
    element = doc.child(root, "size", "annotation", required=False)
    values = []
    for i, tag in enumerate(("width", "height")):
        text, at = "", root
        if element is not None:
            text, at = doc.text(element, tag, "annotation/size", required=False)
        if text in ("", "0"):  # some tools write 0 for an unknown size
            if known is None:
                raise doc.error(
                    f"the image size is missing (<size><{tag}>) and not otherwise known",
                    element if element is not None else root,
                    "annotation/size",
                )
            values.append(known[i])
            continue
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value.is_integer() and value > 0):
            raise doc.error(f"<{tag}> must be a positive integer, got {text!r}", at, f"annotation/size/{tag}")
        values.append(int(value))
    return values[0], values[1]
