"""What a player shows: a decoded picture turned and mirrored by its display matrix (the MP4 `tkhd`
matrix, Matroska's projection, H.264/HEVC display-orientation SEI; phones record portrait video as a
landscape picture plus such a matrix). FFmpeg hands the matrix to every decoded frame as side data.

The rule is FFmpeg's own (fftools `get_rotation` and the filters that `ffmpeg`/`ffplay` insert when
they autorotate), so a served frame is the picture `ffmpeg -i video.mp4 frame%d.png` writes.
Only quarter turns exist for pixels; any other angle is refused (ffmpeg would rotate with black corners).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import cast

import numpy as np
from av.sidedata.sidedata import SideDataContainer, Type
from av.video.frame import VideoFrame


class UnsupportedRotation(ValueError):
    """The display matrix turns the picture by an angle that is not a multiple of 90 degrees."""


@dataclass(frozen=True)
class Orientation:
    """`quarter_turns` counterclockwise (np.rot90), then, if `mirrored`, rows upside down (vflip)."""

    quarter_turns: int = 0
    mirrored: bool = False

    @property
    def swaps_axes(self) -> bool:
        return self.quarter_turns % 2 == 1

    def size(self, width: int, height: int) -> tuple[int, int]:
        """(width, height) of the displayed picture for a stored picture of `width` x `height`."""
        return (height, width) if self.swaps_axes else (width, height)

    def apply(self, pixels: np.ndarray) -> np.ndarray:
        """The displayed picture (H x W x C), contiguous; `pixels` itself when nothing changes."""
        if self == UPRIGHT:
            return pixels
        shown = np.rot90(pixels, self.quarter_turns)
        if self.mirrored:
            shown = shown[::-1]
        return np.ascontiguousarray(shown)


UPRIGHT = Orientation()
# The filters ffmpeg inserts, as quarter turns and a final vflip: transpose=clock is a clockwise turn
# (3 counterclockwise), cclock_flip a transposition, clock_flip the other diagonal; hflip is a half turn
# then a vflip.
_CLOCK, _CCLOCK = Orientation(3), Orientation(1)
_CLOCK_FLIP, _CCLOCK_FLIP = Orientation(3, True), Orientation(1, True)


@lru_cache(maxsize=64)
def orientation_of_matrix(matrix: tuple[int, ...]) -> Orientation:
    """The orientation a 3x3 display matrix (9 int32, 16.16 fixed point, FFmpeg's layout) asks for.

    Raises UnsupportedRotation for an angle other than a multiple of 90 degrees.
    """
    m = matrix
    scale0, scale1 = math.hypot(m[0], m[3]), math.hypot(m[1], m[4])
    if scale0 == 0 or scale1 == 0:  # degenerate: av_display_rotation_get gives NaN, ffmpeg only vflips
        return Orientation(0, m[4] < 0)
    # av_display_rotation_get, then fftools' get_rotation: the clockwise angle in [0, 360).
    rotation = -math.degrees(math.atan2(m[1] / scale1, m[0] / scale0))
    theta = float(-round(rotation))
    theta -= 360 * math.floor(theta / 360 + 0.9 / 360)
    if abs(theta - 90) < 1:
        return _CCLOCK_FLIP if m[3] > 0 else _CLOCK
    if abs(theta - 180) < 1:
        hflip, vflip = m[0] < 0, m[4] < 0
        if hflip:
            return Orientation(2, not vflip)
        return Orientation(0, vflip)
    if abs(theta - 270) < 1:
        return _CLOCK_FLIP if m[3] < 0 else _CCLOCK
    if abs(theta) > 1:
        raise UnsupportedRotation(
            f"the display matrix turns the picture {theta:.0f} degrees clockwise; only quarter turns "
            "are supported"
        )
    return Orientation(0, m[4] < 0)


def orientation_of(frame: VideoFrame) -> Orientation:
    """How to show a decoded frame: from its display-matrix side data, upright without one."""
    # av's stub types `side_data` as a TypedDict keyed by names; it is a SideDataContainer, which
    # takes a Type key as well.
    data = cast(SideDataContainer, frame.side_data).get(Type.DISPLAYMATRIX)
    if data is None:
        return UPRIGHT
    raw = bytes(data)
    if len(raw) < 36:
        return UPRIGHT
    return orientation_of_matrix(tuple(int(v) for v in np.frombuffer(raw[:36], dtype=np.int32)))
