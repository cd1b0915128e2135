"""The names of the files and folders of COCO uploads and exports, which coco_read.py looks for and
coco_write.py writes."""

from __future__ import annotations

IMAGE_DIR = "images"
FILE = "annotations.json"  # a single file (our exports before issue 17, most tools' one-file COCO)
ANNOTATIONS_DIR = "annotations"
DEFAULT_SUBSET = "default"  # datumaro's and CVAT's subset of items without one
ROBOFLOW_FILE = "_annotations.coco.json"
