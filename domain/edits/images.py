"""A camera edit applied to one RGB frame with Pillow, and the frame size it produces."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageEnhance

from domain.edits.spec import CameraEdit

_TRANSPOSE = {
    90: Image.Transpose.ROTATE_90,
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_270,
}


def apply_camera_edit(frame: np.ndarray, edit: CameraEdit) -> np.ndarray:
    """`frame` (H x W x 3 uint8 RGB) cropped, resized, rotated counter-clockwise, then brightness,
    contrast and saturation as `PIL.ImageEnhance` does; an identity edit returns `frame` itself."""
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"a frame must be H x W x 3 uint8, got {frame.shape} {frame.dtype}")
    if edit.is_identity:
        return frame
    image = Image.fromarray(frame)
    if edit.crop is not None:
        c = edit.crop
        image = image.crop((c.x, c.y, c.x + c.width, c.y + c.height))
    if edit.resize is not None and (edit.resize.width, edit.resize.height) != image.size:
        image = image.resize((edit.resize.width, edit.resize.height), Image.Resampling[edit.resize.filter])
    if edit.rotate:
        image = image.transpose(_TRANSPOSE[edit.rotate])
    # Each enhancer blends with a degenerate image, so a factor of 1 is skipped rather than computed.
    if edit.brightness != 1.0:
        image = ImageEnhance.Brightness(image).enhance(edit.brightness)
    if edit.contrast != 1.0:
        image = ImageEnhance.Contrast(image).enhance(edit.contrast)
    if edit.saturation != 1.0:
        image = ImageEnhance.Color(image).enhance(edit.saturation)
    return np.asarray(image)


def output_size(edit: CameraEdit, size: tuple[int, int]) -> tuple[int, int]:
    """(height, width) of a frame of `size` (height, width) after `edit`."""
    height, width = size
    if edit.crop is not None:
        height, width = edit.crop.height, edit.crop.width
    if edit.resize is not None:
        height, width = edit.resize.height, edit.resize.width
    if edit.rotate in (90, 270):
        height, width = width, height
    return height, width
