"""Annotation formats: COCO, YOLO, Pascal VOC and annograph JSON, written and read (pure, no I/O)."""
