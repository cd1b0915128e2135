"""Writing COCO detection JSON, laid out as datumaro and CVAT write it; where an export puts each image.

Export: `annotations/instances_<subset>.json`, one file per subset, a box's subset its `split`
(`default` when it has none; a frame whose boxes lie in several subsets is listed in each, with the boxes
of that subset), and the images under `images/<subset>/` (image_paths; an export without the frames
still has those folders: datumaro recognises COCO by them). A frame without boxes is listed (a
background image) in `default`.

A bbox is [x, y, width, height] in pixels, exactly as BoxEntry holds it. Categories are numbered from 1 in
label order, with the parent label's name as "supercategory" ("" for none). `iscrowd` is the box's crowd
mark, "segmentation" empty (a box has no outline). What COCO has no field for rides in each annotation's
"attributes" as CVAT writes them (track_id, an integer when the id is one, occluded, keyframe), with ours
beside them (truncated, difficult, outside, source) and the box's custom attributes; a detector's score in
"score".
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable

from domain.objects.transfer.formats.coco_common import ANNOTATIONS_DIR, DEFAULT_SUBSET, IMAGE_DIR
from domain.objects.transfer.formats.model import (
    AnnotationSet,
    BoxEntry,
    ExportFormat,
    Fidelity,
    ImageEntry,
    TransferOptions,
    class_names,
    lost_details,
)

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
    "crowd",
    "attributes",
    "split",
}
_NO_OUTLINE = ()  # written as []: one object for every annotation (json never changes it)
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
# A whole number as int() and str() write it (no leading zero, ASCII digits): it reads back as the same id.
_CANONICAL = re.compile(r"^(?:0|[1-9][0-9]*)$")


def subset_name(split: str | None) -> str:
    """The subset a box of `split` is written in, safe as a file name: `default` for none; characters other
    than letters, digits, _ . - become _."""
    if not split:
        return DEFAULT_SUBSET
    name = _UNSAFE.sub("_", split)
    return DEFAULT_SUBSET if name in (".", "..") else name


def annotation_file(subset: str) -> str:
    return f"{ANNOTATIONS_DIR}/instances_{subset}.json"


def _subsets(data: AnnotationSet) -> dict[str, tuple[list[ImageEntry], list[BoxEntry]]]:
    """subset -> (its images in data.images order, its boxes in data.boxes order), subsets sorted by name
    (`default` alone when there is nothing). An image is in the subsets of its boxes; one without boxes in
    `default`. ValueError when a box lies on an image data.images lacks."""
    subset_of: dict[str | None, str] = {}
    boxes: dict[str, list[BoxEntry]] = {}
    for b in data.boxes:
        subset = subset_of.get(b.split)
        if subset is None:
            subset = subset_of[b.split] = subset_name(b.split)
            boxes.setdefault(subset, [])
        boxes[subset].append(b)
    on = {subset: {b.file_name for b in group} for subset, group in boxes.items()}
    known = {image.file_name for image in data.images}
    for names in on.values():
        if not names <= known:
            raise ValueError(f"a box lies on image {min(names - known)!r}, which data.images lacks")
    listed: dict[str, list[ImageEntry]] = {}
    for image in data.images:
        found = False
        for subset, names in on.items():
            if image.file_name in names:
                listed.setdefault(subset, []).append(image)
                found = True
        if not found:
            listed.setdefault(DEFAULT_SUBSET, []).append(image)
    return {s: (listed.get(s, []), boxes.get(s, [])) for s in sorted(listed) or [DEFAULT_SUBSET]}


def image_paths(data: AnnotationSet) -> Iterable[tuple[ImageEntry, str]]:
    """Where each image goes in an export zip: images/<subset>/<file name>, once per subset listing it."""
    for subset, (images, _) in _subsets(data).items():
        for image in images:
            yield image, f"{IMAGE_DIR}/{subset}/{image.file_name}"


def write(
    data: AnnotationSet, add: Callable[[str, bytes], None], options: TransferOptions = TransferOptions()
) -> Fidelity:
    """One annotations/instances_<subset>.json per subset (see the module's docstring). Every image of
    `data.images` is listed, with boxes or without (exports add frames without boxes when asked for
    negatives)."""
    parents = {label.name: label.parent or "" for label in data.labels}
    names = class_names(data)
    category_ids = {name: i for i, name in enumerate(names, 1)}
    categories = [{"id": category_ids[n], "name": n, "supercategory": parents.get(n, "")} for n in names]
    info = {"description": str(data.dataset.get("name", "")), "contributor": "annograph"}
    for subset, (images, boxes) in _subsets(data).items():
        image_ids = {image.file_name: i for i, image in enumerate(images, 1)}
        annotations: list[dict] = []
        append = annotations.append
        for i, b in enumerate(boxes, 1):
            attributes = {
                "occluded": b.occluded,
                "keyframe": b.keyframe,
                "truncated": b.truncated,
                "difficult": b.difficult,
                "outside": b.outside,
                "source": b.source,
            }
            track = b.track_id
            if track is not None:  # CVAT numbers its tracks: an id that is a number is written as one
                attributes["track_id"] = (
                    int(track) if track.isdecimal() and _CANONICAL.match(track) else track
                )
            if b.attributes:  # the custom ones; a field of the box wins over a custom attribute of its name
                attributes = {**b.attributes, **attributes}
            annotation = {
                "id": i,
                "image_id": image_ids[b.file_name],
                "category_id": category_ids[b.label],
                "bbox": [b.x, b.y, b.width, b.height],
                "area": b.width * b.height,
                "segmentation": _NO_OUTLINE,  # CVAT writes [] for a box (datumaro warns when it is absent)
                "iscrowd": 1 if b.crowd else 0,
                "attributes": attributes,
            }
            if b.score is not None:
                annotation["score"] = b.score
            append(annotation)
        document = {
            "info": info,
            "licenses": [],
            "images": [
                {"id": i, "file_name": e.file_name, "width": e.width, "height": e.height}
                for i, e in enumerate(images, 1)
            ],
            "annotations": annotations,
            "categories": categories,
        }
        text = json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        add(annotation_file(subset), text.encode())
    return Fidelity(ExportFormat.COCO, lost_details(data, CARRIED))
