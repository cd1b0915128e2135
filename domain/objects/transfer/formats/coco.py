"""COCO detection JSON, laid out as datumaro and CVAT write and look for it.

The format module the registry uses: writing (and where an export puts the images) is in coco_write.py,
finding and reading the files in coco_read.py, the names of the files and folders in coco_common.py.
"""

from __future__ import annotations

from domain.objects.transfer.formats.coco_common import FILE, IMAGE_DIR
from domain.objects.transfer.formats.coco_read import find, find_all, load_json, read
from domain.objects.transfer.formats.coco_write import annotation_file, image_paths, subset_name, write

__all__ = [
    "FILE",
    "IMAGE_DIR",
    "annotation_file",
    "find",
    "find_all",
    "image_paths",
    "load_json",
    "read",
    "subset_name",
    "write",
]
