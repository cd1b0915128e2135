"""COCO detection JSON: `annotations.json` with "images", "annotations" and "categories".

A bbox is [x, y, width, height] in pixels, exactly as BoxEntry holds it. Categories are numbered from 1 in
label order, with the parent label's name as "supercategory" ("" for none). What COCO has no field for
rides in each annotation's "attributes" (track_id, occluded, truncated, difficult, outside, keyframe,
source) and in "score" (a detector's score). Files from other tools read too: attributes and scores are
optional, category and image ids arbitrary.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping

from domain.objects.transfer.formats.model import (
    SOURCES,
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

IMAGE_DIR = "images"
FILE = "annotations.json"
CARRIED = {
    "track_id",
    "occluded",
    "truncated",
    "difficult",
    "outside",
    "keyframe",
    "source",
    "score",
    "label_parent",
}
SLACK = 0.01  # pixels: float noise from other tools' exports, clamped
_FLAGS = ("occluded", "truncated", "difficult", "outside", "keyframe")
_NUMBER = (int, float)
_ID = (int, str)
_SOURCES = frozenset(SOURCES)
_NONE: dict = {}
_LOOKS_COCO = re.compile(rb'"(?:images|annotations|categories)"\s*:')


def write(
    data: AnnotationSet, add: Callable[[str, bytes], None], options: TransferOptions = TransferOptions()
) -> Fidelity:
    parents = {label.name: label.parent or "" for label in data.labels}
    names = class_names(data)
    category_ids = {name: i for i, name in enumerate(names, 1)}
    image_ids = {image.file_name: i for i, image in enumerate(data.images, 1)}
    annotations: list[dict] = []
    append = annotations.append
    for i, b in enumerate(data.boxes, 1):
        image_id = image_ids.get(b.file_name)
        if image_id is None:
            raise ValueError(f"a box lies on image {b.file_name!r}, which data.images lacks")
        annotation = {
            "id": i,
            "image_id": image_id,
            "category_id": category_ids[b.label],
            "bbox": [b.x, b.y, b.width, b.height],
            "area": b.width * b.height,
            "iscrowd": 0,
            "attributes": {
                "track_id": b.track_id,
                "occluded": b.occluded,
                "truncated": b.truncated,
                "difficult": b.difficult,
                "outside": b.outside,
                "keyframe": b.keyframe,
                "source": b.source,
            },
        }
        if b.score is not None:
            annotation["score"] = b.score
        append(annotation)
    document = {
        "info": {"description": str(data.dataset.get("name", "")), "contributor": "annograph"},
        "licenses": [],
        "images": [
            {"id": i, "file_name": e.file_name, "width": e.width, "height": e.height}
            for i, e in enumerate(data.images, 1)
        ],
        "annotations": annotations,
        "categories": [
            {"id": category_ids[n], "name": n, "supercategory": parents.get(n, "")} for n in names
        ],
    }
    add(FILE, json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode())
    return Fidelity(ExportFormat.COCO, lost_details(data, CARRIED))


def find(files: Mapping[str, bytes]) -> str | None:
    """The COCO file among `files`: annotations.json anywhere, else the one JSON that looks like COCO."""
    jsons = members(files, ".json")
    named = [p for p in jsons if base_name(p) == FILE]
    if len(named) > 1:
        raise FormatError(named[1], f"several {FILE} files ({', '.join(named)}): upload one")
    if named:
        return named[0]
    looks = [p for p in jsons if _LOOKS_COCO.search(files[p])]
    if len(looks) > 1:
        raise FormatError(looks[1], f"several COCO files ({', '.join(looks)}): upload one")
    return looks[0] if looks else None


def load_json(file: str, content: bytes) -> object:
    try:
        return json.loads(content)
    except UnicodeDecodeError as exc:
        raise FormatError(file, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise FormatError(file, f"not valid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno) from None
    except RecursionError:
        raise FormatError(file, "not readable JSON: nested too deeply") from None


def read(
    files: Mapping[str, bytes],
    size_of: Callable[[str], tuple[int, int] | None],
    options: TransferOptions = TransferOptions(),
) -> AnnotationSet:
    file = find(files)
    if file is None:
        raise FormatError(FILE, f"no COCO file ({FILE}, or a JSON with images, annotations and categories)")
    document = load_json(file, files[file])
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
            track, source, score = (
                attributes.get("track_id"),
                attributes.get("source", "IMPORTED"),
                a.get("score"),
            )
            occluded, truncated, difficult, outside, keyframe = (
                attributes.get("occluded", False),
                attributes.get("truncated", False),
                attributes.get("difficult", False),
                attributes.get("outside", False),
                attributes.get("keyframe", True),
            )
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
            ) = _checked(a, f"annotations[{i}]", sizes, categories, file, bad)
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
            )
        )
    return AnnotationSet(labels=labels, images=images, boxes=boxes)


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
    attributes = a.get("attributes")
    if attributes is None:
        attributes = _NONE
    elif type(attributes) is not dict:
        raise bad("attributes must be an object", where + ".attributes")
    track, flags, source = _attributes(attributes, bad, where + ".attributes")
    return (image[0], label, x, y, w, h, track, *flags[:4], source, score, flags[4])


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
                and "/" not in name
                and "\\" not in name
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
    name = base_name(name)
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
    return track, flags, source
