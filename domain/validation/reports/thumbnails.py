"""Thumbnails of a report's worst false positives and misses: a crop of the frame around the box, with
the boxes drawn by Pillow, as PNG bytes (blocking: run in a thread).

The crop is the box widened by half its size on every side (at least 48 pixels across), clipped to the
frame, then scaled so that its longer side is SIZE pixels. Drawn: the box in question thick (red for a
false positive, orange for a miss), the ground truth of that label on that frame in green and its other
detections in blue, thin.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

SIZE = 200
SUBJECT = {"FP": (198, 40, 40), "FN": (239, 108, 0)}
TRUTH = (46, 125, 50)
DETECTION = (21, 101, 192)


def _crop_box(box: dict[str, float], width: int, height: int) -> tuple[int, int, int, int]:
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    half_w, half_h = max(box["width"], 24.0), max(box["height"], 24.0)  # twice the box, >= 48 across
    left, top = max(int(cx - half_w), 0), max(int(cy - half_h), 0)
    right, bottom = min(int(np.ceil(cx + half_w)), width), min(int(np.ceil(cy + half_h)), height)
    if right <= left or bottom <= top:  # a box outside the frame: the whole frame
        return 0, 0, width, height
    return left, top, right, bottom


def thumbnail(pixels: np.ndarray, entry: dict[str, Any], kind: str) -> bytes:
    """A PNG of `entry` (data.py's worstFalsePositives / worstMisses item) on `pixels` (H x W x 3 uint8);
    `kind` is FP or FN."""
    image = Image.fromarray(np.ascontiguousarray(pixels[..., :3]), "RGB")
    left, top, right, bottom = _crop_box(entry["box"], image.width, image.height)
    crop = image.crop((left, top, right, bottom))
    scale = SIZE / max(crop.width, crop.height)
    crop = crop.resize(
        (max(1, round(crop.width * scale)), max(1, round(crop.height * scale))), Image.Resampling.BILINEAR
    )
    draw = ImageDraw.Draw(crop)

    def rect(box: dict[str, float], colour, width: int) -> None:
        x0, y0 = (box["x"] - left) * scale, (box["y"] - top) * scale
        x1, y1 = x0 + box["width"] * scale, y0 + box["height"] * scale
        draw.rectangle((x0, y0, x1, y1), outline=colour, width=width)

    for box in entry["others"]["truth"]:
        rect(box, TRUTH, 1)
    for box in entry["others"]["detections"]:
        rect(box, DETECTION, 1)
    rect(entry["box"], SUBJECT[kind], 3)
    out = io.BytesIO()
    crop.save(out, format="PNG", optimize=True)
    return out.getvalue()
