"""The report's pictures: thumbnails crop the frame around the box and draw it; plots are PNGs without
a software URL."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from domain.validation.reports import plots
from domain.validation.reports.thumbnails import SIZE, SUBJECT, TRUTH, thumbnail


def as_box(b: tuple) -> dict:
    return dict(zip(("x", "y", "width", "height"), b, strict=True))


def entry(box, truth=(), detections=()):
    return {
        "box": as_box(box),
        "others": {"truth": [as_box(b) for b in truth], "detections": [as_box(b) for b in detections]},
    }


def test_a_thumbnail_is_the_box_and_its_surroundings_with_the_boxes_drawn():
    pixels = np.zeros((80, 100, 3), np.uint8)
    pixels[:, 50:] = 255  # the right half white: the crop must keep the frame's content where it was
    png = thumbnail(pixels, entry((40, 30, 10, 10), truth=[(42, 31, 10, 10)]), "FP")
    image = Image.open(io.BytesIO(png)).convert("RGB")
    # the box widened to 48 x 48 around its centre (45, 35): x 21..69, y 11..59, scaled to SIZE
    assert image.size == (SIZE, SIZE)
    scale = SIZE / 48
    left_edge, middle = round((40 - 21) * scale), round((35 - 11) * scale)
    assert image.getpixel((left_edge + 1, middle)) == SUBJECT["FP"]
    truth_top = round((31 - 11) * scale)
    assert image.getpixel((round((46 - 21) * scale), truth_top)) == TRUTH
    assert image.getpixel((2, 2)) == (0, 0, 0) and image.getpixel((SIZE - 3, 2)) == (255, 255, 255)


def test_a_box_at_the_border_is_clipped_and_a_miss_is_orange():
    pixels = np.full((48, 64, 3), 90, np.uint8)
    png = thumbnail(pixels, entry((50, 0, 14, 48)), "FN")
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert max(image.size) == SIZE and image.size[0] < image.size[1]  # clipped at the right edge
    colours = {c for _, c in image.getcolors(maxcolors=10_000)}
    assert SUBJECT["FN"] in colours and SUBJECT["FP"] not in colours


def test_plots_are_pngs_that_name_no_software_url():
    sweep = {
        "thresholds": [0.1, 0.5, 0.9],
        "overall": {"precision": [0.5, 0.8, None], "recall": [0.9, 0.6, 0.0], "f1": [0.64, 0.69, None]},
        "best": {"threshold": 0.5, "f1": 0.69, "precision": 0.8, "recall": 0.6},
    }
    png = plots.sweep_plot(sweep)
    assert png.startswith(b"\x89PNG") and b"http" not in png and b"matplotlib" not in png.lower()
    assert Image.open(io.BytesIO(png)).size == (700, 400)
