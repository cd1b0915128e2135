"""Compressed camera frames (JPEG, PNG) decoded with Pillow's own format plugins.

The plugin classes are called directly rather than `PIL.Image.open`, which Ultralytics replaces in
any process that imports it (detection workers) with a version that, on bytes it cannot identify,
tries to install `pi-heif` at run time. A frame is JPEG or PNG; anything else is refused here.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, JpegImagePlugin, PngImagePlugin

_PLUGINS = {"JPEG": JpegImagePlugin.JpegImageFile, "PNG": PngImagePlugin.PngImageFile}


class ImageDecodeError(ValueError):
    """The bytes are not a whole JPEG or PNG image."""


def open_image(data: bytes, formats: tuple[str, ...] = ("JPEG", "PNG")) -> Image.Image:
    """The image (lazily decoded: `.size` reads the header only); ImageDecodeError names the formats."""
    problems = []
    for name in formats:
        try:
            return _PLUGINS[name](io.BytesIO(data))
        except (SyntaxError, OSError, ValueError, IndexError) as exc:
            problems.append(f"{name}: {exc}")
    raise ImageDecodeError(f"not a {' or '.join(formats)} image ({'; '.join(problems)})")


def decode_rgb(data: bytes, formats: tuple[str, ...] = ("JPEG", "PNG")) -> np.ndarray:
    """H x W x 3 uint8 RGB; ImageDecodeError when the bytes are not a whole image of `formats`."""
    image = open_image(data, formats)
    try:
        return np.asarray(image.convert("RGB"))
    except (SyntaxError, OSError, ValueError) as exc:  # a truncated stream fails at decoding
        raise ImageDecodeError(f"truncated or damaged {image.format} image ({exc})") from None
