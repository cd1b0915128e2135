"""Pure computation: camera frames to JPEG (Pillow), and the validation of frame requests."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from domain.core.errors import BadUserInput

DEFAULT_QUALITY = 85
MAX_WIDTH = 4096


def check_encoding(width: int | None, quality: int | None) -> tuple[int | None, int]:
    if width is not None and not 8 <= width <= MAX_WIDTH:
        raise BadUserInput(f"width must be between 8 and {MAX_WIDTH}, got {width}", field="width")
    quality = DEFAULT_QUALITY if quality is None else quality
    if not 1 <= quality <= 95:
        raise BadUserInput(f"quality must be between 1 and 95, got {quality}", field="quality")
    return width, quality


def encode_jpeg(frame: np.ndarray, width: int | None = None, quality: int = DEFAULT_QUALITY) -> bytes:
    image = Image.fromarray(frame)
    if width is not None and width != image.width:
        height = max(1, round(image.height * width / image.width))
        image = image.resize((width, height), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
