"""Run in the datumaro tools venv (.venv-datumaro, built by `make test`), not by pytest's interpreter:

    .venv-datumaro/bin/python tests/domain/objects/datumaro_boxes.py FORMAT FOLDER [FOLDER ...]

imports each folder with datumaro's importer FORMAT (coco_instances, voc, yolo, cvat, mot_seq) and prints
one JSON list of the boxes datumaro sees: {"folder", "item", "subset", "frame", "label", "x", "y", "w", "h",
"attributes"} with the attributes that are plain values (track_id, occluded, outside, keyframe, ...).
"""

from __future__ import annotations

import json
import sys

from datumaro.components.annotation import AnnotationType
from datumaro.components.dataset import Dataset


def boxes(folder: str, fmt: str) -> list[dict]:
    dataset = Dataset.import_from(folder, fmt)
    labels = dataset.categories()[AnnotationType.label]
    found = []
    for item in dataset:
        for annotation in item.annotations:
            if annotation.type != AnnotationType.bbox:
                continue
            label = labels[annotation.label].name if annotation.label is not None else None
            plain = {
                k: v for k, v in annotation.attributes.items() if isinstance(v, bool | int | float | str)
            }
            found.append(
                {
                    "folder": folder,
                    "item": str(item.id),
                    "subset": item.subset,
                    "frame": item.attributes.get("frame"),
                    "label": label,
                    "x": annotation.x,
                    "y": annotation.y,
                    "w": annotation.w,
                    "h": annotation.h,
                    "attributes": plain,
                }
            )
    return found


if __name__ == "__main__":
    fmt, *folders = sys.argv[1:]
    json.dump([box for folder in folders for box in boxes(folder, fmt)], sys.stdout)
