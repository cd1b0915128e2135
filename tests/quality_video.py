"""Generated videos with known defects (PyAV writes them): a moving textured scene, 320 x 240, in which
chosen frames are dark, repeat the one before (frozen), are blurred, or come late (dropped frame times)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageFilter

WIDTH, HEIGHT = 320, 240
FPS = 30


def texture(index: int) -> np.ndarray:
    """A sharp, moving checkerboard with a gradient and a moving bar: no two frames of a video are equal."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    board = (((x + 3 * index) // 8 + y // 8) % 2) * 140 + 60
    gradient = (x * 50) // WIDTH
    img = np.clip(board + gradient, 0, 255).astype(np.uint8)
    bar = (7 * index) % (WIDTH - 4)  # the board repeats every 16 frames; the bar does not within 45
    img[:, bar : bar + 4] = 255
    return np.stack([img, np.roll(img, 5, axis=1), img[::-1]], axis=-1)


def write_defective_video(
    path: Path,
    frames: int = 90,
    *,
    dark: range = range(0),
    frozen: range = range(0),
    blurred: range = range(0),
    late: dict[int, int] | None = None,
) -> Path:
    """A video of `frames` frames at FPS. Frames in `dark` are near black (mean grey ~ 3, still moving); frames in `frozen` repeat the
    frame before the range; frames in `blurred` are the scene through a Gaussian blur (radius 6 px);
    `late` {frame: ticks}: from that frame on, times are shifted by that many extra frame periods (frames
    that were never recorded: dropped frame times). Written with lossless H.264 (qp 0) so frozen frames
    stay identical and dark frames stay dark."""
    late = late or {}
    container = av.open(str(path), "w")
    stream = container.add_stream("libx264", rate=FPS, options={"qp": "0", "preset": "ultrafast"})
    stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv444p"
    stream.codec_context.time_base = Fraction(1, FPS)
    stream.codec_context.max_b_frames = 0
    shift = 0
    held = None
    for i in range(frames):
        shift += late.get(i, 0)
        if i in frozen:
            held = held if held is not None else texture(frozen.start - 1)
            img = held
        elif i in dark:
            img = texture(i) // 40  # mean ~ 3: dark, yet it moves (not frozen)
        elif i in blurred:
            img = np.asarray(Image.fromarray(texture(i)).filter(ImageFilter.GaussianBlur(6)))
        else:
            img = texture(i)
        frame = av.VideoFrame.from_ndarray(img, format="rgb24")
        frame.pts = i + shift
        frame.time_base = Fraction(1, FPS)
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    return path
