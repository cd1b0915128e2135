"""CVAT's XML: CVAT for video 1.1 (tracks) written and read; CVAT for images 1.1 (frame-wise boxes) read.

The format module the registry uses: writing (and where an export puts the images) is in cvat_xml_write.py,
reading (and finding the files) in cvat_xml_read.py, what both share in cvat_xml_common.py.
"""

from __future__ import annotations

from domain.objects.transfer.formats.cvat_xml_common import FILE, IMAGE_DIR
from domain.objects.transfer.formats.cvat_xml_read import find, read
from domain.objects.transfer.formats.cvat_xml_write import image_paths, write

__all__ = ["FILE", "IMAGE_DIR", "find", "image_paths", "read", "write"]
