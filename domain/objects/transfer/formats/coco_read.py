"""Finding and reading COCO detection JSON (the fields are those coco_write.py's docstring describes).

Import reads files from other tools too: attributes and scores are optional, category and image ids
arbitrary (each file's own), image names kept as the file has them (folders included: the import's name
mapping reads them). An upload may hold several files, read in one go, each box's split set:
datumaro's and CVAT's `annotations/instances_<subset>.json` (split: the subset), Roboflow's
`<split>/_annotations.coco.json` (split: the folder), else one `annotations.json` or one JSON that looks
like COCO (Label Studio's `result.json`; no split).

An `iscrowd: 1` region (RLE or polygon outline) comes in as a crowd box from its bbox. What a box cannot
carry is counted in the set's `dropped`, per kind: "masks" (an RLE segmentation), "polygons" (a
non-crowd polygon outline that is more than its bbox's rectangle), "keypoints" (an annotation with a
visible keypoint), "rotation" (CVAT's `rotation` attribute, when not a multiple of 360 degrees: the
box is read as its unrotated bbox) and "custom attributes" (values that are not plain: lists, objects,
null). Plain custom attributes are kept in the box's `attributes`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping

from domain.objects.transfer.formats.coco_common import ANNOTATIONS_DIR, FILE, ROBOFLOW_FILE
from domain.objects.transfer.formats.model import (
    SOURCES,
    AnnotationSet,
    BoxEntry,
    FormatError,
    ImageEntry,
    LabelEntry,
    TransferOptions,
    base_name,
    checked_box,
    members,
    parse_image_file_name,
)

SLACK = 0.01  # pixels: float noise from other tools' exports, clamped
_FLAGS = ("occluded", "truncated", "difficult", "outside", "keyframe")
# The attribute names read into fields (or, rotation, counted): any other is a custom attribute.
_MAPPED = frozenset(("track_id", "source", "rotation", *_FLAGS))
_NUMBER = (int, float)
_ID = (int, str)
_PLAIN = (bool, int, float, str)
_SOURCES = frozenset(SOURCES)
_NONE: dict = {}
_LOOKS_COCO = re.compile(rb'"(?:images|annotations|categories)"\s*:')
_INSTANCES = re.compile(r"(?:^|/)" + ANNOTATIONS_DIR + r"/instances_([^/]+)\.json$", re.IGNORECASE)


# --- Finding the files ------------------------------------------------------------------------------------


def find_all(files: Mapping[str, bytes]) -> list[tuple[str, str | None]]:
    """The COCO files among `files`, each with the split it places its boxes in, in the first layout
    found of: annotations/instances_<subset>.json (datumaro, CVAT; split: the subset), Roboflow's
    <split>/_annotations.coco.json (split: the folder; none at the top), one annotations.json, one JSON
    that looks like COCO (both: no split). [] when none; FormatError when a layout has two files for one
    split, or two candidates where one is read."""
    jsons = members(files, ".json")
    found: list[tuple[str, str | None]] = []
    for path in jsons:
        match = _INSTANCES.search(path.replace("\\", "/"))
        if match is not None:
            found.append((path, match.group(1)))
    if not found:
        for path in jsons:
            if base_name(path) == ROBOFLOW_FILE:
                parts = path.replace("\\", "/").split("/")
                found.append((path, parts[-2] if len(parts) > 1 else None))
    if found:
        splits: dict[str | None, str] = {}
        for path, split in found:
            if split in splits:
                raise FormatError(path, f"two COCO files for split {split!r} ({splits[split]}, {path})")
            splits[split] = path
        return found
    named = [p for p in jsons if base_name(p) == FILE]
    if len(named) > 1:
        raise FormatError(named[1], f"several {FILE} files ({', '.join(named)}): upload one")
    if named:
        return [(named[0], None)]
    looks = [p for p in jsons if _LOOKS_COCO.search(files[p])]
    if len(looks) > 1:
        raise FormatError(looks[1], f"several COCO files ({', '.join(looks)}): upload one")
    return [(looks[0], None)] if looks else []


def find(files: Mapping[str, bytes]) -> str | None:
    """The first COCO file among `files` (see find_all), or None."""
    found = find_all(files)
    return found[0][0] if found else None


def load_json(file: str, content: bytes) -> object:
    try:
        return json.loads(content)
    except UnicodeDecodeError as exc:
        raise FormatError(file, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise FormatError(file, f"not valid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno) from None
    except RecursionError:
        raise FormatError(file, "not readable JSON: nested too deeply") from None


# --- Reading ----------------------------------------------------------------------------------------------


def read(
    files: Mapping[str, bytes],
    size_of: Callable[[str], tuple[int, int] | None],
    options: TransferOptions = TransferOptions(),
) -> AnnotationSet:
    """Every COCO file of the upload (find_all) into one set: labels merged by name (the first file's
    parent wins), an image listed by several files once (their sizes must agree), each file's boxes
    with its split, `dropped` summed over the files."""
    found = find_all(files)
    if not found:
        raise FormatError(FILE, f"no COCO file ({FILE}, or a JSON with images, annotations and categories)")
    data = AnnotationSet()
    labels: dict[str, LabelEntry] = {}
    sizes: dict[str, tuple[str, tuple[int, int]]] = {}  # image name -> (file listing it first, size)
    for file, split in found:
        part = _read_file(file, files[file], size_of, split, data.dropped)
        for label in part.labels:
            labels.setdefault(label.name, label)
        for i, image in enumerate(part.images):
            size = (image.width, image.height)
            first = sizes.setdefault(image.file_name, (file, size))
            if first[0] == file:
                data.images.append(image)
            elif first[1] != size:
                raise FormatError(
                    file,
                    f"image {image.file_name!r} is {size[0]}x{size[1]} here, {first[1][0]}x{first[1][1]} "
                    f"in {first[0]}",
                    where=f"images[{i}]",
                )
        data.boxes += part.boxes
    data.labels = list(labels.values())
    return data


def _read_file(
    file: str,
    content: bytes,
    size_of: Callable[[str], tuple[int, int] | None],
    split: str | None,
    dropped: dict[str, int],
) -> AnnotationSet:
    document = load_json(file, content)
    if not isinstance(document, dict):
        raise FormatError(file, "the top level must be a JSON object", where="$")

    def bad(reason: str, where: str) -> FormatError:
        return FormatError(file, reason, where=where)

    def array(key: str, required: bool) -> list:
        value = document.get(key)
        if value is None and not required:
            return []
        if not isinstance(value, list):
            raise bad(f'"{key}" must be a list' if key in document else f'"{key}" is missing', key)
        return value

    labels, categories = _categories(array("categories", True), bad)
    images, sizes = _images(array("images", True), size_of, bad)
    boxes: list[BoxEntry] = []
    append = boxes.append
    for i, a in enumerate(array("annotations", False)):
        # The common case in a few dict lookups and comparisons (100,000 boxes are read in a request); any
        # doubt goes to _checked, which finds the first problem and names it.
        try:
            image_id, category_id, attributes = a["image_id"], a["category_id"], a.get("attributes", _NONE)
            image, (iw, ih) = sizes[image_id]
            label = categories[category_id]
            x, y, w, h = a["bbox"]
            attributes = _NONE if attributes is None else attributes
            track, source, score, crowd, rotation = (
                attributes.get("track_id"),
                attributes.get("source", "IMPORTED"),
                a.get("score"),
                a.get("iscrowd", 0),
                attributes.get("rotation"),
            )
            occluded, truncated, difficult, outside, keyframe = (
                attributes.get("occluded", False),
                attributes.get("truncated", False),
                attributes.get("difficult", False),
                attributes.get("outside", False),
                attributes.get("keyframe", True),
            )
            if type(track) is int:  # CVAT numbers its tracks
                track = str(track)
            ok = (
                type(image_id) in _ID
                and type(category_id) in _ID
                and type(x) in _NUMBER
                and type(y) in _NUMBER
                and type(w) in _NUMBER
                and type(h) in _NUMBER
                and 0 <= x
                and 0 <= y
                and 0 < w
                and 0 < h
                and x + w <= iw
                and y + h <= ih
                and (score is None or (type(score) in _NUMBER and 0 <= score <= 1))
                and (track is None or type(track) is str)
                and source in _SOURCES
                and type(occluded) is type(truncated) is type(difficult) is type(outside) is bool
                and type(keyframe) is bool
                and (crowd == 0 or crowd == 1)
                and type(crowd) in (int, bool)
                and (rotation is None or type(rotation) in _NUMBER)
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            ok = False
        if not ok:
            (
                image,
                label,
                x,
                y,
                w,
                h,
                track,
                occluded,
                truncated,
                difficult,
                outside,
                source,
                score,
                keyframe,
                crowd,
            ) = _checked(a, f"annotations[{i}]", sizes, categories, file, bad)
            attributes = a.get("attributes") or _NONE  # an object: _checked made sure
            rotation = attributes.get("rotation")
        custom: dict = {}
        if attributes and not _MAPPED.issuperset(attributes):
            custom = _custom(attributes, dropped)
        if rotation and rotation % 360:
            dropped["rotation"] = dropped.get("rotation", 0) + 1
        if a.get("segmentation") or a.get("keypoints"):
            _shapes(a, bool(crowd), x, y, w, h, dropped, f"annotations[{i}]", bad)
        append(
            BoxEntry(
                image,
                label,
                float(x),
                float(y),
                float(w),
                float(h),
                track,
                occluded,
                truncated,
                difficult,
                outside,
                source,
                score,
                keyframe,
                crowd=bool(crowd),
                attributes=custom,
                split=split,
            )
        )
    return AnnotationSet(labels=labels, images=images, boxes=boxes)


def _custom(attributes: dict, dropped: dict[str, int]) -> dict[str, str | int | float | bool]:
    """The custom attributes with plain values; the others counted as dropped "custom attributes"."""
    kept: dict[str, str | int | float | bool] = {}
    for name, value in attributes.items():
        if name in _MAPPED:
            continue
        if type(value) in _PLAIN and (type(value) is not float or math.isfinite(value)):
            kept[name] = value
        else:
            dropped["custom attributes"] = dropped.get("custom attributes", 0) + 1
    return kept


def _shapes(
    a: dict,
    crowd: bool,
    x: float,
    y: float,
    w: float,
    h: float,
    dropped: dict[str, int],
    where: str,
    bad: Callable[[str, str], FormatError],
) -> None:
    """Count what of an annotation's segmentation and keypoints its box does not carry (see the module's
    docstring): masks, polygons beyond the bbox's rectangle, visible keypoints."""
    segmentation = a.get("segmentation")
    if type(segmentation) is dict:
        dropped["masks"] = dropped.get("masks", 0) + 1
    elif type(segmentation) is list:
        if not crowd and not _is_rectangle(segmentation, x, y, w, h):
            dropped["polygons"] = dropped.get("polygons", 0) + 1
    elif segmentation:
        raise bad("segmentation must be a list of polygons or an RLE object", where + ".segmentation")
    keypoints = a.get("keypoints")
    if keypoints:
        if type(keypoints) is not list or not all(type(v) in _NUMBER for v in keypoints):
            raise bad("keypoints must be a list of numbers [x, y, v, ...]", where + ".keypoints")
        if any(v > 0 for v in keypoints[2::3]):
            dropped["keypoints"] = dropped.get("keypoints", 0) + 1


def _is_rectangle(polygons: list, x: float, y: float, w: float, h: float) -> bool:
    """Whether a COCO polygon list outlines no more than the bbox: no points at all, or one polygon whose
    points are the bbox's corners (each corner met, within SLACK; CVAT and Label Studio write a box so)."""
    parts = [p for p in polygons if p]
    if not parts:
        return True
    if len(parts) > 1 or type(parts[0]) is not list or len(parts[0]) % 2 or len(parts[0]) < 8:
        return False
    points = parts[0]
    if not all(type(v) in _NUMBER for v in points):
        return False
    corners = set()
    for px, py in zip(points[0::2], points[1::2], strict=True):
        cx = 0 if abs(px - x) <= SLACK else 1 if abs(px - (x + w)) <= SLACK else None
        cy = 0 if abs(py - y) <= SLACK else 1 if abs(py - (y + h)) <= SLACK else None
        if cx is None or cy is None:
            return False
        corners.add((cx, cy))
    return len(corners) == 4


def _checked(
    a: object, where: str, sizes: dict, categories: dict, file: str, bad: Callable[[str, str], FormatError]
) -> tuple:
    """One annotation's BoxEntry fields, checked one by one: the first problem raises, naming its path."""
    if type(a) is not dict:
        raise bad("an annotation must be an object", where)
    image = sizes.get(_key(a.get("image_id")))
    if image is None:
        raise bad(f"unknown image_id {_show(a.get('image_id'))}", where + ".image_id")
    label = categories.get(_key(a.get("category_id")))
    if label is None:
        raise bad(f"unknown category_id {_show(a.get('category_id'))}", where + ".category_id")
    bbox = a.get("bbox")
    if type(bbox) is not list or len(bbox) != 4 or not all(type(v) in _NUMBER for v in bbox):
        got = len(bbox) if type(bbox) is list and len(bbox) != 4 else _show(bbox)
        raise bad(f"bbox must be 4 numbers [x, y, width, height], got {got}", where + ".bbox")
    bx, by, bw, bh = bbox
    x, y, w, h = checked_box(bx, by, bw, bh, image[1], slack=SLACK, file=file, where=where + ".bbox")
    score = a.get("score")
    if score is not None and not (type(score) in _NUMBER and 0 <= score <= 1):
        raise bad(f"score must be a number between 0 and 1, got {_show(score)}", where + ".score")
    crowd = a.get("iscrowd", 0)
    if type(crowd) not in (int, bool) or crowd not in (0, 1):
        raise bad(f"iscrowd must be 0 or 1, got {_show(crowd)}", where + ".iscrowd")
    attributes = a.get("attributes")
    if attributes is None:
        attributes = _NONE
    elif type(attributes) is not dict:
        raise bad("attributes must be an object", where + ".attributes")
    track, flags, source = _attributes(attributes, bad, where + ".attributes")
    return (image[0], label, x, y, w, h, track, *flags[:4], source, score, flags[4], crowd)


def _show(value: object) -> str:
    """A JSON value, shortened, for an error message."""
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _key(value: object) -> object:
    """An id as a dict key: ints and strings as they are; anything else (bool, list...) matches nothing."""
    return value if type(value) in (int, str) else None


def _categories(items: list, bad: Callable[[str, str], FormatError]) -> tuple[list[LabelEntry], dict]:
    by_id: dict[object, str] = {}
    names: dict[str, str] = {}  # name -> supercategory
    for i, c in enumerate(items):
        where = f"categories[{i}]"
        if type(c) is not dict:
            raise bad("a category must be an object", where)
        key = _key(c.get("id"))
        if key is None:
            raise bad(f"id must be an integer or a string, got {_show(c.get('id'))}", where + ".id")
        if key in by_id:
            raise bad(f"category id {key!r} appears twice", where + ".id")
        name = c.get("name")
        if type(name) is not str or not name.strip():
            raise bad("name must be a non-empty string", where + ".name")
        supercategory = c.get("supercategory")
        by_id[key] = name
        names.setdefault(name, supercategory if type(supercategory) is str else "")
    # A supercategory is our parent label only when it names another category (COCO's own, e.g. "vehicle",
    # are groups, not labels).
    labels = [LabelEntry(n, parent=s if s and s != n and s in names else None) for n, s in names.items()]
    return labels, by_id


def _images(
    items: list, size_of: Callable[[str], tuple[int, int] | None], bad: Callable[[str, str], FormatError]
) -> tuple[list[ImageEntry], dict]:
    images: list[ImageEntry] = []
    by_id: dict[object, tuple[str, tuple[int, int]]] = {}
    seen: set[str] = set()
    for i, m in enumerate(items):
        try:  # the common case quickly, as for annotations
            key, name, width, height = m["id"], m["file_name"], m["width"], m["height"]
            ok = (
                type(key) in _ID
                and type(name) is str
                and type(width) is int
                and type(height) is int
                and width > 0
                and height > 0
                and key not in by_id
                and name not in seen
                and name
                and "\\" not in name
                and not name.endswith("/")
            )
        except (KeyError, TypeError):
            ok = False
        if not ok:
            key, name, width, height = _checked_image(m, f"images[{i}]", by_id, seen, size_of, bad)
        seen.add(name)
        by_id[key] = (name, (width, height))
        index, camera, frame = parse_image_file_name(name) or (-1, "", -1)
        images.append(ImageEntry(name, index, camera, frame, width, height))
    return images, by_id


def _checked_image(
    m: object,
    where: str,
    by_id: dict,
    seen: set[str],
    size_of: Callable[[str], tuple[int, int] | None],
    bad: Callable[[str, str], FormatError],
) -> tuple[object, str, int, int]:
    if type(m) is not dict:
        raise bad("an image must be an object", where)
    key = _key(m.get("id"))
    if key is None:
        raise bad(f"id must be an integer or a string, got {_show(m.get('id'))}", where + ".id")
    if key in by_id:
        raise bad(f"image id {key!r} appears twice", where + ".id")
    name = m.get("file_name")
    if type(name) is not str or not base_name(name):
        raise bad("file_name must be a non-empty string", where + ".file_name")
    name = name.replace("\\", "/")  # as the file has it, folders included, with one kind of slash
    if name in seen:
        raise bad(f"image {name!r} appears twice", where + ".file_name")
    missing = m.get("width") is None or m.get("height") is None
    width, height = _size(m, size_of(name) if missing else None, bad, where)
    return key, name, width, height


def _size(
    m: dict, known: tuple[int, int] | None, bad: Callable[[str, str], FormatError], where: str
) -> tuple[int, int]:
    size = []
    for i, key in enumerate(("width", "height")):
        value = m.get(key)
        if value is None:
            if known is None:
                raise bad(f"{key} is missing and the size of the image is not known", f"{where}.{key}")
            value = known[i]
        if type(value) is float and value.is_integer():
            value = int(value)
        if type(value) is not int or value <= 0:
            raise bad(f"{key} must be a positive integer, got {_show(value)}", f"{where}.{key}")
        size.append(value)
    return size[0], size[1]


def _attributes(
    attributes: dict, bad: Callable[[str, str], FormatError], where: str
) -> tuple[str | None, list[bool], str]:
    track = attributes.get("track_id")
    if type(track) is int:  # CVAT numbers its tracks
        track = str(track)
    elif track is not None and type(track) is not str:
        raise bad(f"track_id must be a string or an integer, got {_show(track)}", where + ".track_id")
    flags = []
    for flag in _FLAGS:
        value = attributes.get(flag, flag == "keyframe")
        if type(value) is not bool:
            raise bad(f"{flag} must be true or false, got {_show(value)}", f"{where}.{flag}")
        flags.append(value)
    source = attributes.get("source", "IMPORTED")
    if source not in SOURCES:
        raise bad(f"source must be one of {', '.join(SOURCES)}, got {_show(source)}", where + ".source")
    rotation = attributes.get("rotation")
    if rotation is not None and (type(rotation) not in _NUMBER or not math.isfinite(rotation)):
        raise bad(f"rotation must be a number of degrees, got {_show(rotation)}", where + ".rotation")
    return track, flags, source
