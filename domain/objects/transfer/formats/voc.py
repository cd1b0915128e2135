"""Pascal VOC: one `Annotations/<stem>.xml` per image, `ImageSets/Main/default.txt` listing the stems and
`labels.txt` with the class names in order (the images go in `JPEGImages/`).

Coordinates. VOC numbers pixels from 1 and a box includes both its end pixels, in whole pixels. Our box
(x, y, width, height) is continuous with the origin at the image's top-left corner (model.py), so

    xmin = round(x) + 1          ymin = round(y) + 1
    xmax = round(x + width)      ymax = round(y + height)

(round: to the nearest whole pixel, halves up), and reading inverts it exactly:

    x = xmin - 1    y = ymin - 1    width = xmax - xmin + 1    height = ymax - ymin + 1

A box with whole-pixel corners round-trips exactly; any other moves its corners to the nearest whole pixel
(a box thinner than a pixel keeps one). Reading allows a box to stick out of the image by one pixel (a
0-based xmin = 0, or xmax = width + 1, from other tools) and clamps it into the image.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from typing import Literal, overload
from xml.sax.saxutils import escape

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from domain.objects.transfer.formats.model import (
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
LIST_FILE = "ImageSets/Main/default.txt"
LABELS_FILE = "labels.txt"
CARRIED = {"occluded", "truncated", "difficult"}
SLACK = 1.0


def stem(file_name: str) -> str:
    return file_name.rsplit(".", 1)[0] if "." in file_name else file_name


def corners(start: float, length: float, limit: int) -> tuple[int, int]:
    """(min, max) of one axis as 1-based inclusive whole pixels (see the module's docstring)."""
    low, high = math.floor(start + 0.5), math.floor(start + length + 0.5)
    if high <= low:  # thinner than a pixel once rounded: keep one pixel, inside the image
        low, high = (low, low + 1) if low + 1 <= limit else (limit - 1, limit)
    return low + 1, high


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
    <pose>Unspecified</pose>
    <truncated>{truncated}</truncated>
    <difficult>{difficult}</difficult>
    <occluded>{occluded}</occluded>
    <bndbox>
      <xmin>{xmin}</xmin>
      <ymin>{ymin}</ymin>
      <xmax>{xmax}</xmax>
      <ymax>{ymax}</ymax>
    </bndbox>
  </object>
"""


def write(
    data: AnnotationSet, add: Callable[[str, bytes], None], options: TransferOptions = TransferOptions()
) -> Fidelity:
    by_image: dict[str, list[BoxEntry]] = {image.file_name: [] for image in data.images}
    for b in data.boxes:
        if b.file_name not in by_image:
            raise ValueError(f"a box lies on image {b.file_name!r}, which data.images lacks")
        by_image[b.file_name].append(b)
    stems: list[str] = []
    rounded = 0
    for image in data.images:
        stems.append(stem(image.file_name))
        # A template, not ElementTree: five times faster for 100,000 boxes, and the format is this fixed.
        parts = [
            _HEAD.format(
                folder=IMAGE_DIR, filename=escape(image.file_name), width=image.width, height=image.height
            )
        ]
        for b in by_image[image.file_name]:
            xmin, xmax = corners(b.x, b.width, image.width)
            ymin, ymax = corners(b.y, b.height, image.height)
            rounded += (xmin - 1, ymin - 1, xmax - xmin + 1, ymax - ymin + 1) != (b.x, b.y, b.width, b.height)
            parts.append(
                _OBJECT.format(
                    name=escape(b.label),
                    truncated=int(b.truncated),
                    difficult=int(b.difficult),
                    occluded=int(b.occluded),
                    xmin=xmin,
                    ymin=ymin,
                    xmax=xmax,
                    ymax=ymax,
                )
            )
        parts.append("</annotation>\n")
        add(f"{ANNOTATION_DIR}/{stems[-1]}.xml", "".join(parts).encode())
    if len(set(stems)) < len(stems):
        raise ValueError("two images share a stem: VOC names annotation files by stem")
    add(LIST_FILE, "".join(f"{s}\n" for s in stems).encode())
    add(LABELS_FILE, "".join(f"{name}\n" for name in class_names(data)).encode())
    lost = lost_details(data, CARRIED)
    if rounded:
        boxes = "box" if rounded == 1 else "boxes"
        lost.append(f"sub-pixel corners of {rounded:,} {boxes} (rounded to whole pixels)")
    return Fidelity(ExportFormat.VOC, lost)


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
    names: dict[str, None] = {}
    listed = [p for p in members(files, ".txt") if base_name(p) == LABELS_FILE]
    if listed:
        file = min(listed, key=lambda p: (p.count("/"), p))
        try:
            text = files[file].decode("utf-8-sig")
            names = dict.fromkeys(n.strip() for n in text.splitlines() if n.strip())
        except UnicodeDecodeError as exc:
            raise FormatError(file, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    data = AnnotationSet()
    seen: set[str] = set()
    for file in find(files):
        image, boxes = _read_one(_Document(file, files[file]), size_of)
        if image.file_name in seen:
            raise FormatError(
                file, f"a second annotation file for image {image.file_name!r}", where="annotation/filename"
            )
        seen.add(image.file_name)
        data.images.append(image)
        data.boxes += boxes
        for b in boxes:
            names.setdefault(b.label)
    data.labels = [LabelEntry(name) for name in names]
    return data


def _read_one(
    doc: _Document, size_of: Callable[[str], tuple[int, int] | None]
) -> tuple[ImageEntry, list[BoxEntry]]:
    root = doc.root
    if root.tag != "annotation":
        raise doc.error(f"the root element must be <annotation>, got <{root.tag}>", root, root.tag)
    name, _ = doc.text(root, "filename", "annotation", required=False)
    name = base_name(name) or stem(base_name(doc.file)) + ".jpg"
    size = _size(doc, root, size_of(name))
    index, camera, frame = parse_image_file_name(name) or (-1, "", -1)
    image = ImageEntry(name, index, camera, frame, size[0], size[1])
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
        x, y, w, h = checked_box(
            xmin - 1,
            ymin - 1,
            xmax - xmin + 1,
            ymax - ymin + 1,
            size,
            slack=SLACK,
            file=doc.file,
            line=doc.lines.get(box),
            where=at,
        )
        boxes.append(
            BoxEntry(
                name,
                label,
                x,
                y,
                w,
                h,
                occluded=doc.flag(thing, "occluded", where),
                truncated=doc.flag(thing, "truncated", where),
                difficult=doc.flag(thing, "difficult", where),
            )
        )
    return image, boxes


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
