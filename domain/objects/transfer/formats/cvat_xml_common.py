"""What CVAT XML's reader (cvat_xml_read.py) and writer (cvat_xml_write.py) share: the names of the files
and folders, the meta block that gives tracks our ids back, and how CVAT's track sources read."""

from __future__ import annotations

IMAGE_DIR = "images"
FILE = "annotations.xml"
OURS = "annograph_tracks"  # the meta block that gives tracks our ids back
READ_SOURCES = {"manual": "MANUAL", "auto": "MODEL", "semi-auto": "MODEL", "file": "IMPORTED"}
