"""annograph JSON: everything, losslessly, in `annograph.json`.

    {"format": "annograph", "version": 1, "dataset": {...},
     "labels": [{"name", "color", "parent"}], "images": [{"fileName", "episodeIndex", "camera", "frame",
     "width", "height"}], "boxes": [{"fileName", "label", "x", "y", "width", "height", "trackId", ...every
     BoxEntry field in camelCase}], "episodeAnnotations": [...as the caller gave them],
     "segmentLabels": [{"name", "color", "mayOverlap"}], "segments": [{"episodeIndex", "annotator",
     "label", "fromFrame", "toFrame", "fromTime", "toTime", "instruction", "notes", "version"}]}

The two segment keys are written only when there are segment labels (files without them read as none).

read(write(x)) == x. Reading checks every value's type and names the JSON path of the first wrong one; a
missing optional field takes BoxEntry's default, an unknown key is an error (a misspelt field would
otherwise be dropped without a word). A box's detector score is "score"; files written before it was
renamed have "confidence", which is still read (both, with different values, is an error).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Callable, Mapping

from domain.objects.transfer.formats.model import (
    REVIEWS,
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
    members,
)

IMAGE_DIR = "images"
FILE = "annograph.json"
FORMAT = "annograph"
VERSION = 1
_MARK = re.compile(rb'"format"\s*:\s*"annograph"')
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


# (JSON key, dataclass field, allowed Python types, default or _REQUIRED), per entry kind.
_REQUIRED = object()
_NUMBER = (int, float)
_PLAIN = (str, int, float, bool)  # a custom attribute's value


_TYPES = {
    "str": (str,),
    "int": (int,),
    "float": _NUMBER,
    "bool": (bool,),
    "str | None": (str, type(None)),
    "float | None": (*_NUMBER, type(None)),
    "dict[str, str | int | float | bool]": (dict,),
}
_EXPECTED = {
    (str,): "a string",
    (int,): "an integer",
    _NUMBER: "a number",
    (bool,): "true or false",
    (str, type(None)): "a string or null",
    (*_NUMBER, type(None)): "a number or null",
    (dict,): "an object",
}


def _spec(cls: type) -> list[tuple[str, str, tuple[type, ...], object]]:
    spec = []
    for f in dataclasses.fields(cls):
        types = _TYPES[str(f.type)]  # model.py's annotations are strings (postponed evaluation)
        default = f.default if f.default is not dataclasses.MISSING else _REQUIRED
        spec.append((_camel(f.name), f.name, types, default))
    return spec


_LABEL, _IMAGE, _BOX = _spec(LabelEntry), _spec(ImageEntry), _spec(BoxEntry)
_KEYS = {id(spec): frozenset(key for key, *_ in spec) for spec in (_LABEL, _IMAGE, _BOX)}
_TOP = frozenset(
    (
        "format",
        "version",
        "dataset",
        "labels",
        "images",
        "boxes",
        "episodeAnnotations",
        "segmentLabels",
        "segments",
    )
)
# (type name, allowed Python types, required) of a segment label's and a segment's keys.
_SEGMENT_LABEL = {"name": ("str", True), "color": ("str", True), "mayOverlap": ("bool", False)}
_SEGMENT = {
    "episodeIndex": ("int", True),
    "annotator": ("str", True),
    "label": ("str", True),
    "fromFrame": ("int", True),
    "toFrame": ("int", True),
    "fromTime": ("float", True),
    "toTime": ("float", True),
    "instruction": ("str | None", False),
    "notes": ("str | None", False),
    "version": ("int", False),
}
_SEGMENT_DEFAULTS = {"mayOverlap": False, "instruction": None, "notes": None, "version": 1}
# Box keys that earlier files wrote under another name, read as the new one: old -> new.
_OLD_BOX_KEYS = {"confidence": "score"}


def write(
    data: AnnotationSet, add: Callable[[str, bytes], None], options: TransferOptions = TransferOptions()
) -> Fidelity:
    document = {
        "format": FORMAT,
        "version": VERSION,
        "dataset": data.dataset,
        "labels": [{"name": lab.name, "color": lab.color, "parent": lab.parent} for lab in data.labels],
        "images": [
            {
                "fileName": m.file_name,
                "episodeIndex": m.episode_index,
                "camera": m.camera,
                "frame": m.frame,
                "width": m.width,
                "height": m.height,
            }
            for m in data.images
        ],
        "boxes": [
            {
                "fileName": b.file_name,
                "label": b.label,
                "x": b.x,
                "y": b.y,
                "width": b.width,
                "height": b.height,
                "trackId": b.track_id,
                "occluded": b.occluded,
                "truncated": b.truncated,
                "difficult": b.difficult,
                "outside": b.outside,
                "source": b.source,
                "score": b.score,
                "keyframe": b.keyframe,
                "notes": b.notes,
                "review": b.review,
                "reviewedBy": b.reviewed_by,
                "reviewedAt": b.reviewed_at,
                "rejectReason": b.reject_reason,
                "crowd": b.crowd,
                "attributes": b.attributes,
                "split": b.split,
            }
            for b in data.boxes
        ],
        "episodeAnnotations": data.episode_annotations,
    }
    if data.segment_labels or data.segments:
        document["segmentLabels"] = data.segment_labels
        document["segments"] = data.segments
    add(FILE, json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode())
    return Fidelity(ExportFormat.ANNOGRAPH, [])


def find(files: Mapping[str, bytes]) -> str | None:
    """annograph.json anywhere, else a JSON file that says "format": "annograph"."""
    jsons = members(files, ".json")
    named = [p for p in jsons if base_name(p) == FILE]
    if len(named) > 1:
        raise FormatError(named[1], f"several {FILE} files ({', '.join(named)}): upload one")
    if named:
        return named[0]
    return next((p for p in jsons if _MARK.search(files[p])), None)


def read(
    files: Mapping[str, bytes],
    size_of: Callable[[str], tuple[int, int] | None],
    options: TransferOptions = TransferOptions(),
) -> AnnotationSet:
    file = find(files)
    if file is None:
        raise FormatError(FILE, f'no {FILE} (or a JSON file with "format": "annograph")')
    try:
        document = json.loads(files[file])
    except UnicodeDecodeError as exc:
        raise FormatError(file, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise FormatError(file, f"not valid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno) from None
    except RecursionError:
        raise FormatError(file, "not readable JSON: nested too deeply") from None

    def bad(reason: str, where: str) -> FormatError:
        return FormatError(file, reason, where=where)

    if type(document) is not dict:
        raise bad("the top level must be a JSON object", "$")
    unknown = document.keys() - _TOP
    if unknown:
        raise bad(f"unknown key {sorted(unknown)[0]!r}", sorted(unknown)[0])
    if document.get("format") != FORMAT:
        raise bad(f'"format" must be "{FORMAT}", got {json.dumps(document.get("format"))}', "format")
    if document.get("version") != VERSION:
        raise bad(
            f"version {json.dumps(document.get('version'))} is not one this server reads ({VERSION})",
            "version",
        )
    dataset = document.get("dataset", {})
    if type(dataset) is not dict:
        raise bad("dataset must be an object", "dataset")
    lists = {}
    for key in ("labels", "images", "boxes", "episodeAnnotations", "segmentLabels", "segments"):
        lists[key] = document.get(key, [])
        if type(lists[key]) is not list:
            raise bad(f"{key} must be a list", key)
    data = AnnotationSet(dataset=dataset)
    data.labels = [
        LabelEntry(**_fields(item, _LABEL, f"labels[{i}]", bad)) for i, item in enumerate(lists["labels"])
    ]
    data.images = [
        ImageEntry(**_fields(item, _IMAGE, f"images[{i}]", bad)) for i, item in enumerate(lists["images"])
    ]
    _check_labels(data.labels, bad)
    sizes = _check_images(data.images, bad)
    labels = {lab.name for lab in data.labels}
    for i, item in enumerate(lists["boxes"]):
        where = f"boxes[{i}]"
        values = _fields(_renamed_keys(item, where, bad), _BOX, where, bad)
        size = sizes.get(values["file_name"])
        if size is None:
            raise bad(f"image {values['file_name']!r} is not in images", where + ".fileName")
        if values["label"] not in labels:
            raise bad(f"label {values['label']!r} is not in labels", where + ".label")
        for key in ("x", "y", "width", "height"):
            values[key] = float(values[key])
        checked_box(
            values["x"],
            values["y"],
            values["width"],
            values["height"],
            size,
            slack=0.0,
            file=file,
            where=where,
        )
        score = values["score"]
        if score is not None:
            values["score"] = score = float(score)
            if not (math.isfinite(score) and 0 <= score <= 1):
                raise bad(f"score must be between 0 and 1, got {score}", where + ".score")
        if values["source"] not in SOURCES:
            raise bad(
                f"source must be one of {', '.join(SOURCES)}, got {values['source']!r}", where + ".source"
            )
        if values["review"] not in REVIEWS:
            raise bad(
                f"review must be one of {', '.join(REVIEWS)}, got {values['review']!r}", where + ".review"
            )
        for name, value in values["attributes"].items():
            if type(value) not in _PLAIN or (type(value) is float and not math.isfinite(value)):
                raise bad(
                    f"attribute {name!r} must be a string, a number or true/false, "
                    f"got {json.dumps(value)[:40]}",
                    f"{where}.attributes.{name}",
                )
        data.boxes.append(BoxEntry(**values))
    for i, item in enumerate(lists["episodeAnnotations"]):
        if type(item) is not dict:
            raise bad("an episode annotation must be an object", f"episodeAnnotations[{i}]")
    data.episode_annotations = lists["episodeAnnotations"]
    data.segment_labels = [
        _entry(item, _SEGMENT_LABEL, f"segmentLabels[{i}]", bad)
        for i, item in enumerate(lists["segmentLabels"])
    ]
    _check_segment_labels(data.segment_labels, bad)
    names = {lab["name"] for lab in data.segment_labels}
    for i, item in enumerate(lists["segments"]):
        where = f"segments[{i}]"
        entry = _entry(item, _SEGMENT, where, bad)
        if entry["label"] not in names:
            raise bad(f"label {entry['label']!r} is not in segmentLabels", where + ".label")
        if entry["episodeIndex"] < 0 or entry["fromFrame"] < 0:
            key = "episodeIndex" if entry["episodeIndex"] < 0 else "fromFrame"
            raise bad(f"{key} must be >= 0, got {entry[key]}", f"{where}.{key}")
        if entry["toFrame"] < entry["fromFrame"]:
            raise bad(f"toFrame must not be before fromFrame, got {entry['toFrame']}", where + ".toFrame")
        if entry["version"] < 1:
            raise bad(f"version must be >= 1, got {entry['version']}", where + ".version")
        for key in ("fromTime", "toTime"):
            if not math.isfinite(entry[key]):
                raise bad(f"{key} must be a finite number", f"{where}.{key}")
        data.segments.append(entry)
    return data


def _entry(item: object, spec: dict[str, tuple[str, bool]], where: str, bad) -> dict:
    """A segment label or segment object, checked key by key, defaults filled in, in `spec`'s key order."""
    if type(item) is not dict:
        raise bad("must be an object", where)
    unknown = item.keys() - spec.keys()
    if unknown:
        first = sorted(unknown)[0]
        raise bad(f"unknown key {first!r}", f"{where}.{first}")
    entry = {}
    for key, (kind, required) in spec.items():
        if key not in item and required:
            raise bad(f"{key} is missing", f"{where}.{key}")
        value = item.get(key, _SEGMENT_DEFAULTS.get(key))
        types = _TYPES[kind]
        if type(value) not in types:
            raise bad(f"{key} must be {_EXPECTED[types]}, got {json.dumps(value)[:40]}", f"{where}.{key}")
        entry[key] = value
    return entry


def _check_segment_labels(labels: list[dict], bad: Callable[[str, str], FormatError]) -> None:
    seen: set[str] = set()
    for i, lab in enumerate(labels):
        if not lab["name"].strip():
            raise bad("name must not be empty", f"segmentLabels[{i}].name")
        if lab["name"] in seen:
            raise bad(f"segment label {lab['name']!r} appears twice", f"segmentLabels[{i}].name")
        seen.add(lab["name"])
        if not _COLOR.match(lab["color"]):
            raise bad(f"color must look like #rrggbb, got {lab['color']!r}", f"segmentLabels[{i}].color")


def _renamed_keys(item: object, where: str, bad: Callable[[str, str], FormatError]) -> object:
    """A box object with its old key names (_OLD_BOX_KEYS) under the new ones."""
    if type(item) is not dict or not _OLD_BOX_KEYS.keys() & item.keys():
        return item
    item = dict(item)
    for old, new in _OLD_BOX_KEYS.items():
        if old in item:
            value = item.pop(old)
            if new in item and item[new] != value:
                raise bad(
                    f"{old} is the old name of {new}; give one, not {json.dumps(item[new])[:40]} and "
                    f"{json.dumps(value)[:40]}",
                    f"{where}.{new}",
                )
            item[new] = value
    return item


def _fields(item: object, spec: list, where: str, bad: Callable[[str, str], FormatError]) -> dict:
    if type(item) is not dict:
        raise bad("must be an object", where)
    values = {}
    for key, name, types, default in spec:
        value = item.get(key, default)
        if value is _REQUIRED:
            raise bad(f"{key} is missing", f"{where}.{key}")
        if type(value) not in types:
            raise bad(f"{key} must be {_EXPECTED[types]}, got {json.dumps(value)[:40]}", f"{where}.{key}")
        values[name] = value
    unknown = item.keys() - _KEYS[id(spec)]
    if unknown:
        first = sorted(unknown)[0]
        raise bad(f"unknown key {first!r}", f"{where}.{first}")
    return values


def _check_labels(labels: list[LabelEntry], bad: Callable[[str, str], FormatError]) -> None:
    names = {lab.name for lab in labels}
    seen: set[str] = set()
    for i, lab in enumerate(labels):
        if not lab.name.strip():
            raise bad("name must not be empty", f"labels[{i}].name")
        if lab.name in seen:
            raise bad(f"label {lab.name!r} appears twice", f"labels[{i}].name")
        seen.add(lab.name)
        if not _COLOR.match(lab.color):
            raise bad(f"color must look like #rrggbb, got {lab.color!r}", f"labels[{i}].color")
        if lab.parent is not None and (lab.parent not in names or lab.parent == lab.name):
            raise bad(f"parent {lab.parent!r} is not another label", f"labels[{i}].parent")


def _check_images(
    images: list[ImageEntry], bad: Callable[[str, str], FormatError]
) -> dict[str, tuple[int, int]]:
    sizes: dict[str, tuple[int, int]] = {}
    for i, m in enumerate(images):
        if not base_name(m.file_name) or base_name(m.file_name) != m.file_name:
            raise bad(
                f"fileName must be a file name without folders, got {m.file_name!r}", f"images[{i}].fileName"
            )
        if m.file_name in sizes:
            raise bad(f"image {m.file_name!r} appears twice", f"images[{i}].fileName")
        for key, value in (("width", m.width), ("height", m.height)):
            if value <= 0:
                raise bad(f"{key} must be > 0, got {value}", f"images[{i}].{key}")
        sizes[m.file_name] = (m.width, m.height)
    return sizes
