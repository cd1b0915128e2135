"""The geometry of a camera edit applied to a box, so annotations follow the edited frames."""

from __future__ import annotations

from domain.edits.spec import CameraEdit

Box = tuple[float, float, float, float]


def transform_box(
    x: float, y: float, w: float, h: float, edit: CameraEdit, source_size: tuple[int, int]
) -> Box | None:
    """A box (left, top, width, height in pixels, edges at pixel boundaries) on a frame of
    `source_size` (height, width), mapped as `apply_camera_edit` maps the pixels: clipped to the image
    and the crop, scaled by the resize, rotated counter-clockwise. None when less than one pixel of
    width or height is left."""
    height, width = source_size
    left, top, right, bottom = x, y, x + w, y + h
    if edit.crop is not None:
        c = edit.crop
        left, top, right, bottom = left - c.x, top - c.y, right - c.x, bottom - c.y
        height, width = c.height, c.width
    # Whatever lies outside the (cropped) image is not in the edited frame either.
    left, top = max(left, 0.0), max(top, 0.0)
    right, bottom = min(right, float(width)), min(bottom, float(height))
    if right <= left or bottom <= top:
        return None
    if edit.resize is not None:
        sx, sy = edit.resize.width / width, edit.resize.height / height
        left, right, top, bottom = left * sx, right * sx, top * sy, bottom * sy
        height, width = edit.resize.height, edit.resize.width
    # Counter-clockwise by 90: a point (u, v) of a W-wide image goes to (v, W - u).
    if edit.rotate == 90:
        left, top, right, bottom = top, width - right, bottom, width - left
    elif edit.rotate == 180:
        left, top, right, bottom = width - right, height - bottom, width - left, height - top
    elif edit.rotate == 270:
        left, top, right, bottom = height - bottom, left, height - top, right
    if right - left < 1 or bottom - top < 1:
        return None
    return (float(left), float(top), float(right - left), float(bottom - top))
