"""Camera edits on pixels (against Pillow called directly) and on boxes (against the pixels)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from domain.edits import CameraEdit, Crop, Resize, ResizeFilter, apply_camera_edit, output_size, transform_box

ROTATIONS = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_270}


def textured(height: int = 60, width: int = 80, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def by_hand(
    frame: np.ndarray, crop=None, resize=None, rotate=0, brightness=1.0, contrast=1.0, saturation=1.0
):
    """The Pillow calls the edit stands for, written out."""
    image = Image.fromarray(frame)
    if crop:
        image = image.crop(crop)
    if resize:
        image = image.resize(resize[:2], resize[2])
    if rotate:
        image = image.rotate(rotate, expand=True)
    image = ImageEnhance.Brightness(image).enhance(brightness)
    image = ImageEnhance.Contrast(image).enhance(contrast)
    image = ImageEnhance.Color(image).enhance(saturation)
    return np.asarray(image)


def test_identity_returns_the_frame_itself() -> None:
    frame = textured()
    assert apply_camera_edit(frame, CameraEdit()) is frame


@pytest.mark.parametrize("rotate", [0, 90, 180, 270])
def test_every_step_in_order_equals_pillow(rotate: int) -> None:
    frame = textured()
    edit = CameraEdit(
        crop=Crop(5, 7, 50, 30),
        resize=Resize(40, 36, ResizeFilter.BICUBIC),
        brightness=1.3,
        contrast=0.7,
        saturation=1.6,
        rotate=rotate,
    )
    got = apply_camera_edit(frame, edit)
    want = by_hand(frame, (5, 7, 55, 37), (40, 36, Image.Resampling.BICUBIC), rotate, 1.3, 0.7, 1.6)
    assert got.dtype == np.uint8
    assert np.array_equal(got, want)
    assert got.shape[:2] == output_size(edit, frame.shape[:2])


def test_rotation_is_counter_clockwise() -> None:
    frame = np.zeros((2, 3, 3), np.uint8)
    frame[0, 2] = 255  # top right
    assert apply_camera_edit(frame, CameraEdit(rotate=90))[0, 0].tolist() == [255, 255, 255]  # to top left
    assert apply_camera_edit(frame, CameraEdit(rotate=270))[2, 1].tolist() == [255, 255, 255]  # bottom right
    assert apply_camera_edit(frame, CameraEdit(rotate=180))[1, 0].tolist() == [255, 255, 255]
    assert np.array_equal(
        apply_camera_edit(frame, CameraEdit(rotate=90)),
        np.asarray(Image.fromarray(frame).transpose(Image.Transpose.ROTATE_90)),
    )


@pytest.mark.parametrize(
    ("edit", "steps"),
    [
        (CameraEdit(crop=Crop(1, 2, 30, 20)), dict(crop=(1, 2, 31, 22))),
        (
            CameraEdit(resize=Resize(33, 17, ResizeFilter.HAMMING)),
            dict(resize=(33, 17, Image.Resampling.HAMMING)),
        ),
        (
            CameraEdit(resize=Resize(160, 120, ResizeFilter.NEAREST)),
            dict(resize=(160, 120, Image.Resampling.NEAREST)),
        ),
        (CameraEdit(brightness=0.4), dict(brightness=0.4)),
        (CameraEdit(contrast=2.5), dict(contrast=2.5)),
        (CameraEdit(saturation=0.1), dict(saturation=0.1)),
    ],
)
def test_single_steps_equal_pillow(edit: CameraEdit, steps: dict) -> None:
    frame = textured(seed=3)
    assert np.array_equal(apply_camera_edit(frame, edit), by_hand(frame, **steps))


def test_colour_edits_change_the_pixels() -> None:
    frame = textured()
    assert apply_camera_edit(frame, CameraEdit(brightness=0.5)).mean() < frame.mean() * 0.6
    grey = apply_camera_edit(frame, CameraEdit(saturation=0.01)).astype(int)
    assert (
        np.abs(grey[..., 0] - grey[..., 1]).mean()
        < np.abs(frame[..., 0].astype(int) - frame[..., 1]).mean() / 10
    )


def test_output_size() -> None:
    assert output_size(CameraEdit(), (240, 320)) == (240, 320)
    assert output_size(CameraEdit(crop=Crop(0, 0, 100, 50)), (240, 320)) == (50, 100)
    assert output_size(CameraEdit(crop=Crop(0, 0, 100, 50), resize=Resize(64, 48)), (240, 320)) == (48, 64)
    assert output_size(CameraEdit(resize=Resize(64, 48), rotate=90), (240, 320)) == (64, 48)
    assert output_size(CameraEdit(rotate=270), (240, 320)) == (320, 240)
    assert output_size(CameraEdit(rotate=180), (240, 320)) == (240, 320)


def test_a_frame_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="H x W x 3 uint8"):
        apply_camera_edit(np.zeros((4, 4), np.uint8), CameraEdit(rotate=90))
    with pytest.raises(ValueError, match="H x W x 3 uint8"):
        apply_camera_edit(np.zeros((4, 4, 3), np.float32), CameraEdit(rotate=90))


# Boxes: a white box drawn on black, edited as pixels and as geometry, must land on the same place.


def bright_box(frame: np.ndarray) -> tuple[int, int, int, int]:
    """(left, top, width, height) of the pixels brighter than mid-grey, edges at pixel boundaries."""
    rows = np.flatnonzero((frame.max(axis=2) > 127).any(axis=1))
    cols = np.flatnonzero((frame.max(axis=2) > 127).any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


GEOMETRIES = {
    "none": (None, None),
    "crop": (Crop(30, 20, 200, 150), None),
    "resize": (None, Resize(200, 90, ResizeFilter.NEAREST)),
    "crop+resize": (Crop(30, 20, 200, 150), Resize(100, 120, ResizeFilter.BILINEAR)),
    "crop+upscale": (Crop(50, 40, 100, 80), Resize(300, 200, ResizeFilter.BICUBIC)),
}


@pytest.mark.parametrize("rotate", [0, 90, 180, 270])
@pytest.mark.parametrize("geometry", list(GEOMETRIES))
@pytest.mark.parametrize("box", [(70, 50, 60, 40), (10, 100, 90, 30), (120, 30, 100, 150)])
def test_box_follows_the_pixels(rotate: int, geometry: str, box: tuple[int, int, int, int]) -> None:
    crop, resize = GEOMETRIES[geometry]
    edit = CameraEdit(crop=crop, resize=resize, rotate=rotate, brightness=1.1)
    frame = np.zeros((240, 320, 3), np.uint8)
    x, y, w, h = box
    frame[y : y + h, x : x + w] = 255
    moved = transform_box(x, y, w, h, edit, (240, 320))
    assert moved is not None
    edited = apply_camera_edit(frame, edit)
    found = bright_box(edited)
    for got, want in zip(found, moved, strict=True):
        assert abs(got - want) <= 1, (found, moved)
    # The box stays inside the edited image.
    height, width = edited.shape[:2]
    assert moved[0] >= 0 and moved[1] >= 0
    assert moved[0] + moved[2] <= width and moved[1] + moved[3] <= height


def test_box_is_clipped_to_the_crop() -> None:
    edit = CameraEdit(crop=Crop(100, 100, 50, 50))
    assert transform_box(90, 120, 20, 10, edit, (240, 320)) == (0.0, 20.0, 10.0, 10.0)
    assert transform_box(140, 140, 40, 40, edit, (240, 320)) == (40.0, 40.0, 10.0, 10.0)


def test_box_outside_the_image_or_too_small_is_dropped() -> None:
    crop = CameraEdit(crop=Crop(100, 100, 50, 50))
    assert transform_box(0, 0, 50, 50, crop, (240, 320)) is None
    assert transform_box(150, 100, 10, 10, crop, (240, 320)) is None  # touches the right edge only
    assert transform_box(149.5, 100, 10, 10, crop, (240, 320)) is None  # half a pixel left
    assert transform_box(300, 200, 30, 30, CameraEdit(), (240, 320)) == (300.0, 200.0, 20.0, 30.0)
    shrink = CameraEdit(resize=Resize(32, 24))
    assert transform_box(10, 10, 8, 40, shrink, (240, 320)) is None  # 0.8 pixel wide after resizing
    assert transform_box(10, 10, 20, 40, shrink, (240, 320)) == pytest.approx((1.0, 1.0, 2.0, 4.0))


def test_rotated_box_swaps_width_and_height() -> None:
    assert transform_box(10, 20, 30, 5, CameraEdit(rotate=90), (100, 200)) == (20.0, 160.0, 5.0, 30.0)
    assert transform_box(10, 20, 30, 5, CameraEdit(rotate=270), (100, 200)) == (75.0, 10.0, 5.0, 30.0)
    assert transform_box(10, 20, 30, 5, CameraEdit(rotate=180), (100, 200)) == (160.0, 75.0, 30.0, 5.0)
